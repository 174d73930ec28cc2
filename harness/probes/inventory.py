"""The inventory probe: what the tree at HEAD is made of.

Collects, never judges: languages by extension, infrastructure-as-code files
by kind, test files by level, Dockerfiles as instructions with line numbers and
compose files as parsed YAML. Everything is memoised per run, and a file that
cannot be parsed is recorded in `problems` instead of raising.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from harness import textscan
from harness.context import Context
from harness.model import Evidence
from harness.probes import repository
from harness.probes.repository import RepoFile, RepositoryError, RepoSnapshot

PARSE_LIMIT = 1_000_000  # structured files larger than this are not parsed
LINE_EXCERPT = 200

LANGUAGES = {
    ".py": "Python",
    ".js": "JavaScript",
    ".mjs": "JavaScript",
    ".cjs": "JavaScript",
    ".jsx": "JavaScript",
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".go": "Go",
    ".java": "Java",
    ".kt": "Kotlin",
    ".cs": "C#",
    ".fs": "F#",
    ".rb": "Ruby",
    ".php": "PHP",
    ".rs": "Rust",
    ".scala": "Scala",
    ".swift": "Swift",
    ".c": "C",
    ".cpp": "C++",
    ".cc": "C++",
    ".ex": "Elixir",
    ".dart": "Dart",
}
# Vendored or generated code is not the apprentice's own.
VENDOR_PARTS = repository.VENDORED_DIRS  # one list, kept by the repository probe

HOSTED_IAC = ("terraform", "bicep", "arm", "pulumi", "cloudformation", "cdk", "ansible", "kubernetes", "helm")


# -- shared helpers ----------------------------------------------------------


def open_snapshot(ctx: Context) -> tuple[RepoSnapshot | None, str | None]:
    """The snapshot, or why there is nothing to judge (an empty repository, an unreadable one)."""
    try:
        repo = repository.get(ctx)
    except RepositoryError as exc:
        return None, f"the repository cannot be read: {exc}"
    if repo.is_git and repo.head is None:
        return None, "the repository has no commits yet"
    return repo, None


_USERINFO = re.compile(r"(://[^:/@\s]*):[^@/\s]+@")


def excerpt_line(text: str) -> str:
    """One line for a report: clipped, with any password in a URL masked."""
    return _USERINFO.sub(r"\1:***@", text.strip())[:LINE_EXCERPT]


def evidence_at(
    repo: RepoSnapshot,
    path: str,
    line: int | None,
    summary: str,
    excerpt: str | None = None,
    end_line: int | None = None,
    data: dict[str, Any] | None = None,
) -> Evidence:
    return Evidence(
        kind="file",
        summary=summary,
        path=path,
        start_line=line or 1,
        end_line=end_line or line or 1,
        commit=repo.head,
        excerpt=excerpt_line(excerpt) if excerpt else None,
        data=data or {},
    )


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    text: str


def grep(repo: RepoSnapshot, files: Iterable[RepoFile], pattern: re.Pattern[str], limit: int = 200) -> list[Hit]:
    """Lines matching `pattern` in the text files given (binary and oversized files are skipped)."""
    hits: list[Hit] = []
    # One search over the whole text first: most files have no match, and splitting them into lines is
    # what costs. With MULTILINE it matches wherever some line would, given "\n"-only line breaks and
    # patterns without \A, \Z or lookarounds that look for a line break (none of ours do).
    whole = _multiline(pattern)
    for f, text in repo.texts(list(files)):
        if not textscan.may_match(pattern, text):
            continue
        if not whole.search(text) and not _OTHER_BREAKS.search(text):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                hits.append(Hit(f.path, number, line))
                if len(hits) >= limit:
                    return hits
    return hits


# Line breaks str.splitlines() honours besides "\n": where present, the whole-text prefilter is skipped.
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


@functools.lru_cache(maxsize=256)
def _multiline(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(pattern.pattern, pattern.flags | re.MULTILINE)


def line_of(text: str, pattern: str | re.Pattern[str], start: int = 0) -> int:
    """1-based line of the first match at or after character `start`, or 1."""
    rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    m = rx.search(text, start)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def is_vendored(path: str) -> bool:
    return repository.is_vendored(path)


# -- structured files --------------------------------------------------------


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that accepts CloudFormation short forms (!Ref, !Sub, !GetAtt ...) as plain values."""


def _any_tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_TolerantLoader.add_multi_constructor("!", _any_tag)


def load_yaml_all(text: str) -> list[Any]:
    """Every document of a YAML stream; raises yaml.YAMLError (or ValueError) when malformed."""
    return list(yaml.load_all(text, Loader=_TolerantLoader))  # nosec B506: a SafeLoader subclass


@dataclass
class Parsed:
    """A structured file: its documents, or the reason it could not be parsed."""

    path: str
    text: str
    docs: list[Any] = field(default_factory=list)
    error: str | None = None


def parse(repo: RepoSnapshot, f: RepoFile) -> Parsed | None:
    """YAML, JSON or TOML by suffix; None for binary, absent or oversized files."""
    text = repo.read_text(f.path, PARSE_LIMIT)
    if text is None:
        return None
    out = Parsed(f.path, text)
    try:
        if f.suffix == ".json":
            out.docs = [json.loads(text)]
        elif f.suffix == ".toml":
            out.docs = [tomllib.loads(text)]
        else:
            out.docs = [d for d in load_yaml_all(text) if d is not None]
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        out.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'malformed'}"[:300]
    return out


def parsed(ctx: Context, repo: RepoSnapshot, f: RepoFile) -> Parsed | None:
    return ctx.memo(f"inventory.parsed:{f.path}", lambda: parse(repo, f))


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
    kind: str  # terraform, bicep, arm, pulumi, cloudformation, cdk, ansible, kubernetes, helm, compose
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


COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-][\w.-]+)?\.ya?ml$", re.I)
_YAML_HINT = re.compile(r"^\s*(apiVersion|AWSTemplateFormatVersion|Resources|-?\s*hosts)\s*:", re.M)
_CDK_IMPORT = re.compile(r"""(from\s+aws_cdk\b|import\s+aws_cdk\b|from\s+['"]aws-cdk-lib|require\(['"]aws-cdk-lib)""")
_PULUMI_IMPORT = re.compile(r"""^\s*(import\s+pulumi\b|from\s+pulumi\w*\s+import|import .* from ['"]@pulumi/)""", re.M)


def is_compose(f: RepoFile) -> bool:
    return bool(COMPOSE_NAME.match(f.name))


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
            name, suffix, parent = f.name, f.suffix, str(PurePosixPath(f.path).parent)
            parts = PurePosixPath(f.path).parts
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
            parent = str(PurePosixPath(f.path).parent)
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


# -- tests -------------------------------------------------------------------

_TEST_NAME = re.compile(
    r"(^test_.*\.py$|_test\.py$|_test\.go$|\.(test|spec|cy|e2e)\.[cm]?[jt]sx?$|Tests?\.(java|kt|cs)$|IT\.java$"
    r"|_spec\.rb$|Test\.php$|_test\.rs$)"
)
_E2E_PARTS = {"e2e", "end-to-end", "end_to_end", "acceptance", "cypress", "playwright", "smoke", "ui-tests", "system"}
_INTEGRATION_PARTS = {"integration", "integration_tests", "integration-tests", "it", "integ", "functional"}
_UNIT_PARTS = {"unit", "unit_tests", "unittests", "unit-tests"}
# Imports and calls, not mentions: a test of a tool that scans for Playwright names it in its fixtures.
_E2E_CONTENT = re.compile(
    r"(^\s*(from|import)\s+(selenium|playwright|splinter|pyppeteer)\b"
    r"|^\s*import\b.*\bfrom\s+['\"](@playwright/test|playwright|cypress|puppeteer|selenium-webdriver|webdriverio)['\"]"
    r"|\brequire\(\s*['\"](@playwright/test|playwright|cypress|puppeteer|selenium-webdriver)['\"]\s*\)"
    r"|\bcy\.(visit|get|request)\(|\bpage\.goto\(|^\s*@pytest\.mark\.e2e\b|\bpytestmark\s*=.*\bmark\.e2e\b"
    r"|^\s*import\s+org\.openqa\.selenium\b|^\s*using\s+(OpenQA\.Selenium|Microsoft\.Playwright)\b)",
    re.M,
)
_INTEGRATION_CONTENT = re.compile(
    r"(https?://(localhost|127\.0\.0\.1)|\btestcontainers\b|\bdocker\.from_env\b|pytest\.mark\.integration"
    r"|@SpringBootTest|WebApplicationFactory)"
)
_TEST_CASE = re.compile(
    r"(^\s*(async\s+)?def test\w*\s*\(|^\s*func Test\w*\(|\b(it|test)(\.each\([^)]*\))?\(\s*['\"`]|@Test\b|\[Fact\]"
    r"|\[Test\]|\[TestMethod\]|^\s*it ['\"])",
    re.M,
)
_TEST_DIRS = {"test", "tests", "__tests__", "spec", "specs", "testing", "__mocks__", "mocks", "fakes", "fixtures"}


@dataclass(frozen=True)
class TestFile:
    path: str
    level: str  # unit, integration, e2e
    cases: int
    why: str


@dataclass
class TestInventory:
    tests: list[TestFile] = field(default_factory=list)
    support: list[str] = field(default_factory=list)  # conftest, fakes, mocks: scanned for doubles too

    def pyramid(self) -> dict[str, dict[str, int]]:
        out = {lvl: {"files": 0, "cases": 0} for lvl in ("unit", "integration", "e2e")}
        for t in self.tests:
            out[t.level]["files"] += 1
            out[t.level]["cases"] += t.cases
        return out


def _level(path: str, text: str) -> tuple[str, str]:
    parts = {p.lower() for p in PurePosixPath(path).parts[:-1]}
    name = PurePosixPath(path).name
    if parts & _E2E_PARTS or re.search(r"\.(cy|e2e)\.", name) or "e2e" in name.lower():
        return "e2e", "folder or name"
    if parts & _INTEGRATION_PARTS or name.endswith("IT.java") or "integration" in name.lower():
        return "integration", "folder or name"
    if parts & _UNIT_PARTS:
        return "unit", "folder"
    if m := _E2E_CONTENT.search(text):
        return "e2e", f"uses {m.group(0).strip()}"
    if m := _INTEGRATION_CONTENT.search(text):
        return "integration", f"uses {m.group(0)}"
    return "unit", "no integration or end-to-end markers"


def tests(ctx: Context, repo: RepoSnapshot) -> TestInventory:
    def build() -> TestInventory:
        inv = TestInventory()
        for f in repo.files:
            if not f.is_regular or is_vendored(f.path) or f.suffix not in LANGUAGES:
                continue
            parts = {p.lower() for p in PurePosixPath(f.path).parts[:-1]}
            in_test_dir = bool(parts & _TEST_DIRS) or any(p.endswith((".tests", ".test")) for p in parts)
            named = bool(_TEST_NAME.search(f.name)) or (f.path.startswith("src/test/") and f.suffix in (".java", ".kt"))
            if not (named or in_test_dir):
                continue
            text = repo.read_text(f.path)
            if text is None:
                continue
            cases = len(_TEST_CASE.findall(text))
            if named or cases:
                level, why = _level(f.path, text)
                inv.tests.append(TestFile(f.path, level, cases, why))
            else:
                inv.support.append(f.path)
        return inv

    return ctx.memo("inventory.tests", build)


# -- Dockerfiles ---------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    line: int
    end_line: int
    keyword: str  # upper case
    args: str


@dataclass
class Dockerfile:
    path: str
    instructions: list[Instruction] = field(default_factory=list)
    error: str | None = None


def is_dockerfile(f: RepoFile) -> bool:
    low = f.name.lower()
    return f.is_regular and (
        low in ("dockerfile", "containerfile")
        or low.startswith(("dockerfile.", "containerfile."))
        or low.endswith((".dockerfile", ".containerfile"))
    )


_HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with their first and last line, joining continuations and skipping heredoc bodies."""
    out: list[Instruction] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i].strip()
        start = i + 1
        if not raw or raw.startswith("#"):
            i += 1
            continue
        parts = [raw]
        while parts[-1].endswith("\\") and i + 1 < len(lines):
            parts[-1] = parts[-1][:-1]
            i += 1
            nxt = lines[i].strip()
            if nxt.startswith("#"):
                continue
            parts.append(nxt)
        joined = " ".join(p.strip() for p in parts)
        keyword, _, args = joined.partition(" ")
        if m := _HEREDOC.search(args):
            marker = m.group(1)
            while i + 1 < len(lines) and lines[i + 1].strip() != marker:
                i += 1
            i += 1
        out.append(Instruction(start, i + 1, keyword.upper(), args.strip()))
        i += 1
    return out


def dockerfiles(ctx: Context, repo: RepoSnapshot) -> list[Dockerfile]:
    def build() -> list[Dockerfile]:
        out: list[Dockerfile] = []
        for f in repo.files:
            if not is_dockerfile(f) or is_vendored(f.path):
                continue
            text = repo.read_text(f.path)
            if text is None:
                out.append(Dockerfile(f.path, error="binary, too large or unreadable"))
                continue
            out.append(Dockerfile(f.path, parse_dockerfile(text)))
        return out

    return ctx.memo("inventory.dockerfiles", build)


# -- compose -----------------------------------------------------------------


@dataclass
class ComposeFile:
    path: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        raw = self.data.get("services")
        if not isinstance(raw, dict):
            return {}
        return {str(k): v for k, v in raw.items() if isinstance(v, dict)}

    def line_of_key(self, key: str, after: str | None = None) -> int:
        """Line of `key:` (after the line of `after:` when given), for evidence."""
        start = 0
        if after:
            m = re.search(rf"^\s*{re.escape(after)}\s*:", self.text, re.M)
            start = m.end() if m else 0
        return line_of(self.text, re.compile(rf"^\s*-?\s*{re.escape(key)}\s*:", re.M), start)


def compose_files(ctx: Context, repo: RepoSnapshot) -> list[ComposeFile]:
    def build() -> list[ComposeFile]:
        out: list[ComposeFile] = []
        for f in repo.files:
            if not f.is_regular or not is_compose(f) or is_vendored(f.path):
                continue
            p = parsed(ctx, repo, f)
            if p is None:
                out.append(ComposeFile(f.path, "", error="binary, too large or unreadable"))
            elif p.error:
                out.append(ComposeFile(f.path, p.text, error=p.error))
            elif len(p.docs) != 1 or not isinstance(p.docs[0], dict):
                out.append(ComposeFile(f.path, p.text, error="not a YAML mapping"))
            else:
                out.append(ComposeFile(f.path, p.text, p.docs[0]))
        return out

    return ctx.memo("inventory.compose", build)


def text_files(repo: RepoSnapshot, files: Iterable[RepoFile]) -> Iterator[tuple[RepoFile, str]]:
    return repo.texts([f for f in files if f.is_regular and not is_vendored(f.path)])


# -- image references --------------------------------------------------------


@dataclass(frozen=True)
class ImageRef:
    raw: str
    name: str
    tag: str | None
    digest: str | None


def split_image(ref: str) -> ImageRef:
    """`registry:5000/org/app:1.2@sha256:...` -> name, tag, digest (a port is not a tag)."""
    raw = ref.strip().strip("'\"")
    rest, _, digest = raw.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        name, tag = rest[:colon], rest[colon + 1 :]
    else:
        name, tag = rest, None
    return ImageRef(raw, name, tag or None, digest or None)
