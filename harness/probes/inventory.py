"""The inventory probe: what the tree at HEAD is made of.

Collects, never judges: languages by extension, infrastructure-as-code files
by kind, test files by level, Dockerfiles as instructions with line numbers and
compose files as parsed YAML. Everything is memoised per run, and a file that
cannot be parsed is recorded in `problems` instead of raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.context import Context
from harness.probes.inventory_containers import (  # re-exported: checks use them through this module
    COMPOSE_NAME,
    ComposeFile,
    Dockerfile,
    ImageRef,
    Instruction,
    compose_files,
    dockerfiles,
    is_compose,
    is_dockerfile,
    parse_dockerfile,
    split_image,
)
from harness.probes.inventory_files import (
    LANGUAGES,
    LINE_EXCERPT,
    PARSE_LIMIT,
    VENDOR_PARTS,
    Hit,
    Parsed,
    evidence_at,
    excerpt_line,
    grep,
    is_vendored,
    line_of,
    load_yaml_all,
    open_snapshot,
    parse,
    parsed,
    strip_line_comments,
    text_files,
)
from harness.probes.inventory_tests import TestFile, TestInventory, is_test_code, tests
from harness.probes.repository import RepoSnapshot

__all__ = [
    "COMPOSE_NAME",
    "HOSTED_IAC",
    "LANGUAGES",
    "LINE_EXCERPT",
    "PARSE_LIMIT",
    "VENDOR_PARTS",
    "ComposeFile",
    "Dockerfile",
    "Hit",
    "IacFile",
    "IacInventory",
    "ImageRef",
    "Instruction",
    "Parsed",
    "TestFile",
    "TestInventory",
    "compose_files",
    "dockerfiles",
    "evidence_at",
    "excerpt_line",
    "grep",
    "iac",
    "is_compose",
    "is_dockerfile",
    "is_test_code",
    "is_vendored",
    "languages",
    "line_of",
    "load_yaml_all",
    "open_snapshot",
    "parse",
    "parse_dockerfile",
    "parsed",
    "split_image",
    "strip_line_comments",
    "tests",
    "text_files",
]

HOSTED_IAC = (
    "terraform",
    "bicep",
    "arm",
    "pulumi",
    "cloudformation",
    "cdk",
    "serverless",
    "ansible",
    "kubernetes",
    "helm",
)


# -- languages and IaC ---------------------------------------------------------


def languages(ctx: Context, repo: RepoSnapshot) -> dict[str, list[str]]:
    def build() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for f in repo.files:
            lang = LANGUAGES.get(f.suffix)
            if lang and f.is_regular and not is_vendored(f.path) and not f.path.endswith(".d.ts"):
                out.setdefault(lang, []).append(f.path)
        return out

    return ctx.memo("inventory.languages", build)


@dataclass(frozen=True)
class IacFile:
    path: str
    kind: str  # terraform, bicep, arm, pulumi, cloudformation, cdk, serverless, ansible, kubernetes, helm, compose
    line: int = 1
    note: str = ""


@dataclass
class IacInventory:
    files: list[IacFile] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, why) for candidates not parsed

    def of(self, *kinds: str) -> list[IacFile]:
        return [f for f in self.files if f.kind in kinds]

    @property
    def hosted(self) -> list[IacFile]:
        return self.of(*HOSTED_IAC)


_YAML_HINT = re.compile(r"^\s*(apiVersion|AWSTemplateFormatVersion|Resources|-?\s*hosts)\s*:", re.M)
_CDK_IMPORT = re.compile(
    r"""(from\s+aws_cdk\b|import\s+aws_cdk\b|from\s+['"](aws-cdk-lib|@aws-cdk/)|require\(['"](aws-cdk-lib|@aws-cdk/))"""
)
_PULUMI_IMPORT = re.compile(r"""^\s*(import\s+pulumi\b|from\s+pulumi\w*\s+import|import .* from ['"]@pulumi/)""", re.M)


def _classify_docs(docs: list[Any], path: str) -> tuple[str, str] | None:
    for doc in docs:
        if isinstance(doc, dict):
            if "AWSTemplateFormatVersion" in doc:
                return "cloudformation", "AWSTemplateFormatVersion"
            resources = doc.get("Resources")
            if isinstance(resources, dict) and any(
                isinstance(r, dict) and str(r.get("Type", "")).startswith(("AWS::", "Custom::"))
                for r in resources.values()
            ):
                return "cloudformation", "Resources with AWS:: types"
            schema = str(doc.get("$schema", ""))
            if "deploymentTemplate" in schema:
                return "arm", "$schema deploymentTemplate"
            if "apiVersion" in doc and "kind" in doc:
                return "kubernetes", f"{doc.get('kind')}"
        if isinstance(doc, list) and any(
            isinstance(p, dict) and "hosts" in p and ({"tasks", "roles", "pre_tasks", "post_tasks"} & set(p))
            for p in doc
        ):
            return "ansible", "playbook with hosts and tasks"
    return None


def iac(ctx: Context, repo: RepoSnapshot) -> IacInventory:
    def build() -> IacInventory:
        inv = IacInventory()
        pulumi_dirs: set[str] = set()
        for f in repo.files:
            if not f.is_regular or is_vendored(f.path):
                continue
            name, suffix, parent = f.name, f.suffix, f.parent
            parts = (*f.folders, name)
            if suffix == ".tf" or f.path.endswith(".tf.json"):
                inv.files.append(IacFile(f.path, "terraform"))
            elif suffix == ".bicep":
                inv.files.append(IacFile(f.path, "bicep"))
            elif name in ("Pulumi.yaml", "Pulumi.yml", "cdk.json", "Chart.yaml", "Chart.yml"):
                kind, needs = {"P": ("pulumi", "runtime"), "c": ("cdk", "app"), "C": ("helm", "name")}[name[0]]
                p = parsed(ctx, repo, f)
                doc = p.docs[0] if p is not None and not p.error and p.docs else None
                if not isinstance(doc, dict) or needs not in doc:
                    inv.problems.append((f.path, (p.error if p else None) or f"no `{needs}` key"))
                    continue
                inv.files.append(IacFile(f.path, kind, note=f"{name}"))
                if kind == "pulumi":
                    pulumi_dirs.add(parent)
            elif name in ("serverless.yml", "serverless.yaml"):
                p = parsed(ctx, repo, f)
                doc = p.docs[0] if p is not None and not p.error and p.docs else None
                if not isinstance(doc, dict) or "provider" not in doc:
                    inv.problems.append((f.path, (p.error if p else None) or "no `provider` key"))
                    continue
                inv.files.append(IacFile(f.path, "serverless", note="Serverless Framework service"))
            elif is_compose(f):
                inv.files.append(IacFile(f.path, "compose", note="local automation, not hosted IaC"))
            elif "roles" in parts[:-1] and "tasks" in parts[:-1] and suffix in (".yml", ".yaml"):
                inv.files.append(IacFile(f.path, "ansible", note="role tasks"))
            elif suffix in (".yml", ".yaml", ".json") and not f.path.startswith(".github/"):
                if "templates" in parts[:-1] and any(
                    repo.exists(f"{'/'.join(parts[:i])}/Chart.yaml") for i in range(1, len(parts))
                ):
                    continue  # Helm templates are Go templates, counted with their chart
                text = repo.read_text(f.path, PARSE_LIMIT)
                if text is None:
                    continue
                if suffix == ".json" and not (
                    "deploymentTemplate" in text or "AWSTemplateFormatVersion" in text or '"AWS::' in text
                ):
                    continue
                if suffix != ".json" and not _YAML_HINT.search(text):
                    continue
                p = parsed(ctx, repo, f)
                if p is None:
                    continue
                if p.error:
                    inv.problems.append((f.path, p.error))
                    continue
                classified = _classify_docs(p.docs, f.path)
                if classified:
                    inv.files.append(IacFile(f.path, classified[0], note=classified[1]))
        # Programs: Pulumi code beside a Pulumi.yaml, CDK code importing aws-cdk-lib.
        for f in repo.files:
            if f.suffix not in (".py", ".ts", ".js", ".go", ".cs", ".java") or is_vendored(f.path):
                continue
            if is_test_code(f.path):
                continue  # a test of the stack (or a fixture holding IaC text) is not the stack
            parent = f.parent
            in_pulumi = any(parent == d or parent.startswith(d + "/") or d == "." for d in pulumi_dirs)
            if not in_pulumi and f.suffix not in (".py", ".ts", ".js"):
                continue
            text = repo.read_text(f.path)
            if text is None:
                continue
            if m := _CDK_IMPORT.search(text):
                inv.files.append(IacFile(f.path, "cdk", line_of(text, _CDK_IMPORT), "imports aws-cdk-lib"))
            elif in_pulumi and (m := _PULUMI_IMPORT.search(text) or re.search(r"\bpulumi\b", text)):
                inv.files.append(IacFile(f.path, "pulumi", text.count("\n", 0, m.start()) + 1, "Pulumi program"))
        return inv

    return ctx.memo("inventory.iac", build)
