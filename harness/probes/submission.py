"""The submission requirements as data: diagram sources, the technical-breadth analysis, and the
components a project declares (from which harness derives its own Mermaid diagram).

Only reads the snapshot; the checks in harness/checks/repo/ judge.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from harness.context import Context
from harness.probes import inventory
from harness.probes.repository import RepoFile, RepoSnapshot

WORD_LIMIT = 300
DIAGRAM_TEXT_SUFFIXES = {".mmd", ".mermaid", ".puml", ".plantuml", ".pu", ".iuml", ".drawio", ".dsl", ".svg", ".dot"}
DIAGRAM_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf"}
DIAGRAM_NAME = re.compile(
    r"(architect|diagram|topology|infra|system|overview|design|c4|context|container|deploy)", re.I
)
MARKDOWN_DIAGRAM = re.compile(r"^[ \t]*(```|~~~)[ \t]*(mermaid|plantuml|puml|dot|graphviz|structurizr)\b", re.M | re.I)
ANALYSIS_NAME = re.compile(r"(analysis|technical[-_ ]?breadth|ksb)", re.I)
ANALYSIS_HEADING = re.compile(r"^(#{1,6})\s*(.*(analysis|technical breadth|ksbs?\b).*)$", re.M | re.I)
HEADING = re.compile(r"^(#{1,6})\s", re.M)
WORD = re.compile(r"[A-Za-z0-9][\w'’/-]*")
KSB = re.compile(r"\b([KSB])(\d{1,2})\b")
KSB_RANGE = {"K": 25, "S": 22, "B": 4}
DOC_SUFFIXES = {".md", ".markdown", ".rst", ".txt", ".adoc"}
MAX_BLOCKS_PER_DOC = 50  # a document with more diagram blocks is listed by its first ones


@dataclass(frozen=True)
class DiagramSource:
    path: str
    notation: str  # mermaid, plantuml, drawio, structurizr, svg, graphviz, image
    line: int = 1
    text: str = ""  # the diagram text (empty for images)


def _notation(suffix: str) -> str:
    return {
        ".mmd": "mermaid",
        ".mermaid": "mermaid",
        ".drawio": "drawio",
        ".dsl": "structurizr",
        ".svg": "svg",
        ".dot": "graphviz",
    }.get(suffix, "plantuml" if suffix in {".puml", ".plantuml", ".pu", ".iuml"} else "image")


def _has_content(text: str) -> bool:
    """At least two lines with words: a diagram's header and one element (or an image's markup)."""
    return sum(1 for line in text.splitlines() if WORD.search(line)) >= 2


def _is_doc(f: RepoFile) -> bool:
    return f.is_regular and f.suffix in DOC_SUFFIXES and not inventory.is_vendored(f.path)


def diagrams(ctx: Context, repo: RepoSnapshot) -> list[DiagramSource]:
    """Committed diagram files (text sources, and images whose name says diagram) and diagram blocks in docs."""

    def build() -> list[DiagramSource]:
        out: list[DiagramSource] = []
        for f in repo.files:
            if not f.is_regular or inventory.is_vendored(f.path):
                continue
            if f.suffix in DIAGRAM_TEXT_SUFFIXES:
                if f.suffix in {".svg", ".dsl", ".dot"} and not DIAGRAM_NAME.search(f.path):
                    continue  # icons and unrelated DSLs
                text = repo.read_text(f.path) or ""
                if _has_content(text):  # an empty or one-word file is not a diagram
                    out.append(DiagramSource(f.path, _notation(f.suffix), 1, text))
            elif f.suffix in DIAGRAM_IMAGE_SUFFIXES and DIAGRAM_NAME.search(f.name):
                out.append(DiagramSource(f.path, "image"))
            elif f.name.lower().endswith(".drawio.png") or f.name.lower().endswith(".drawio.svg"):
                out.append(DiagramSource(f.path, "drawio"))
        for f, text in repo.texts([f for f in repo.files if _is_doc(f)]):
            pos, line = 0, 1  # lines counted forward from the last block: one pass over the text
            for i, m in enumerate(MARKDOWN_DIAGRAM.finditer(text)):
                if i >= MAX_BLOCKS_PER_DOC:
                    break
                fence, lang = m.group(1), m.group(2).lower()
                body_start = text.find("\n", m.end()) + 1
                body_end = text.find(fence, body_start)
                body = text[body_start : body_end if body_end >= 0 else len(text)]
                line += text.count("\n", pos, m.start())
                pos = m.start()
                notation = {"puml": "plantuml", "dot": "graphviz", "graphviz": "graphviz"}.get(lang, lang)
                if _has_content(body):
                    out.append(DiagramSource(f.path, notation, line, body))
        return out

    return ctx.memo("submission.diagrams", build)


@dataclass(frozen=True)
class Analysis:
    path: str
    line: int
    end_line: int
    heading: str
    words: int
    ksbs: tuple[str, ...]


def ksb_ids(text: str) -> tuple[str, ...]:
    """KSB ids named in the text (K1-K25, S1-S22, B1-B4), in order of the standard."""
    found = {f"{k}{int(n)}" for k, n in KSB.findall(text) if 1 <= int(n) <= KSB_RANGE[k]}
    return tuple(sorted(found, key=lambda s: ("KSB".index(s[0]), int(s[1:]))))


def word_count(text: str) -> int:
    """Words of prose: headings' markers, tables' pipes and link targets do not count."""
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"^#{1,6}\s.*$", "", text, flags=re.M)
    return len(WORD.findall(text))


def _section(text: str, start: int, level: int) -> str:
    for m in HEADING.finditer(text, start):
        if len(m.group(1)) <= level:
            return text[start : m.start()]
    return text[start:]


def analyses(ctx: Context, repo: RepoSnapshot) -> list[Analysis]:
    """Every candidate analysis: a document named for it, or a section headed for it."""

    def build() -> list[Analysis]:
        out: list[Analysis] = []
        for f, text in repo.texts([f for f in repo.files if _is_doc(f)]):
            heading = next(iter(ANALYSIS_HEADING.finditer(text)), None)
            if heading is not None:
                body_start = text.find("\n", heading.end()) + 1 if "\n" in text[heading.end() :] else len(text)
                body = _section(text, body_start, len(heading.group(1)))
                line = text.count("\n", 0, heading.start()) + 1
                end = line + body.rstrip().count("\n") + 1
                out.append(Analysis(f.path, line, end, heading.group(2).strip(), word_count(body), ksb_ids(body)))
            elif ANALYSIS_NAME.search(PurePosixPath(f.path).stem):
                end = max(1, text.rstrip().count("\n") + 1)
                out.append(Analysis(f.path, 1, end, f.name, word_count(text), ksb_ids(text)))
        return out

    return ctx.memo("submission.analyses", build)


# -- the derived diagram ------------------------------------------------------

ROLES = (
    ("proxy", re.compile(r"caddy|nginx|traefik|haproxy|envoy|apache|httpd|ingress", re.I)),
    ("store", re.compile(r"postgres|mysql|mariadb|redis|mongo|sqlite|dynamo|cosmos|rds|database|\bdb\b", re.I)),
    ("monitoring", re.compile(r"prometheus|grafana|alertmanager|node.?exporter|loki|cadvisor|jaeger|otel", re.I)),
)
_SAFE = re.compile(r"[^A-Za-z0-9_]")
_PUSH = re.compile(r"docker(/build-push-action|\s+push)|ghcr\.io|\.azurecr\.io|\.dkr\.ecr\.|registry", re.I)


@dataclass
class Component:
    name: str
    role: str  # proxy, store, monitoring, service, pipeline, registry, host
    declared_in: list[str] = field(default_factory=list)
    public: bool = False  # publishes a port: where a user comes in when there is no proxy


_K8S_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Service", "CronJob", "Job"}


def _k8s_names(ctx: Context, repo: RepoSnapshot, path: str) -> list[str]:
    f = repo.get(path)
    parsed = inventory.parsed(ctx, repo, f) if f else None
    if parsed is None or parsed.error:
        return []
    names = []
    for doc in parsed.docs:
        if isinstance(doc, dict) and doc.get("kind") in _K8S_WORKLOADS and isinstance(doc.get("metadata"), dict):
            name = doc["metadata"].get("name")
            if isinstance(name, str) and name:
                names.append(name)
    return names


def role_of(name: str) -> str:
    return next((role for role, pat in ROLES if pat.search(name)), "service")


def components(ctx: Context, repo: RepoSnapshot) -> list[Component]:
    """What the project declares: compose services, Dockerfiles, Kubernetes workloads, a Pulumi
    program, and a pipeline that pushes to a registry and deploys."""

    def build() -> dict[str, Component]:
        found: dict[str, Component] = {}

        def add(name: str, path: str, role: str | None = None) -> None:
            name = name.strip().lower()
            if not name:
                return
            comp = found.setdefault(name, Component(name, role or role_of(name)))
            if path not in comp.declared_in:
                comp.declared_in.append(path)

        built: set[PurePosixPath] = set()  # folders a compose service builds: their Dockerfile is that service
        for cf in inventory.compose_files(ctx, repo):
            for svc, spec in cf.services.items():
                add(svc, cf.path, role_of(f"{svc} {spec.get('image', '')}"))
                found[svc.strip().lower()].public |= bool(spec.get("ports"))
                build_spec = spec.get("build")
                context = build_spec.get("context", ".") if isinstance(build_spec, dict) else build_spec
                if isinstance(context, str):
                    built.add(PurePosixPath(os.path.normpath(PurePosixPath(cf.path).parent / context)))
        for df in inventory.dockerfiles(ctx, repo):
            p = PurePosixPath(df.path)
            if p.parent in built:
                continue
            stem = p.name.split(".")[0] if p.name.lower() != "dockerfile" else ""
            stem = stem if stem.lower() != "dockerfile" else ""
            add(stem or (p.parent.name if str(p.parent) != "." else "app"), df.path)
        for iac in inventory.iac(ctx, repo).files:
            if iac.kind == "kubernetes":
                for name in _k8s_names(ctx, repo, iac.path):  # a Deployment and its Service are one component
                    add(name, iac.path)
            elif iac.kind in ("pulumi", "terraform", "bicep", "cloudformation", "cdk", "arm"):
                add("host", iac.path, "host")
        pipelines = [f for f in repo.files if f.path.startswith(".github/workflows/") or f.name == ".gitlab-ci.yml"]
        pipelines += repo.glob("Jenkinsfile", "azure-pipelines.yml", ".circleci/config.yml")
        for f in pipelines:
            add("pipeline", f.path, "pipeline")
            if _PUSH.search(repo.read_text(f.path) or ""):
                add("registry", f.path, "registry")
        return found

    return list(ctx.memo("submission.components", build).values())


def mermaid(comps: list[Component]) -> str:
    """The derived diagram as a Mermaid flowchart."""
    ids = {c.name: "c_" + _SAFE.sub("_", c.name) for c in comps} | {"user": "user"}
    shape = {"store": ("[(", ")]"), "proxy": ("[/", "/]"), "pipeline": ("[[", "]]"), "registry": ("[(", ")]")}
    lines = ["flowchart LR", "  user([user])"]
    for c in sorted(comps, key=lambda c: c.name):
        left, right = shape.get(c.role, ("[", "]"))
        lines.append(f'  {ids[c.name]}{left}"{c.name} ({c.role})"{right}')
    for a, b, label in edges(comps):
        lines.append(f"  {ids[a]} -. {label} .-> {ids[b]}" if label else f"  {ids[a]} --> {ids[b]}")
    return "\n".join(lines) + "\n"


def edges(comps: list[Component]) -> list[tuple[str, str, str]]:
    """(from, to, label) of the derived diagram: user to proxy to services to stores, monitoring
    scraping the services, pipeline to registry to host."""
    by_role: dict[str, list[str]] = {}
    for c in sorted(comps, key=lambda c: c.name):
        by_role.setdefault(c.role, []).append(c.name)
    services = by_role.get("service", [])
    public = {c.name for c in comps if c.public}
    front = by_role.get("proxy") or [s for s in services if s in public] or services
    out = [("user", c, "") for c in front]
    out += [(p, s, "") for p in by_role.get("proxy", []) for s in services]
    out += [(s, d, "") for s in services or front for d in by_role.get("store", [])]
    out += [(m, s, "scrape") for m in by_role.get("monitoring", []) for s in services]
    chain = [c for role in ("pipeline", "registry", "host") for c in by_role.get(role, [])]
    out += [(a, b, "") for a, b in itertools.pairwise(chain)]
    return out


def dot(comps: list[Component]) -> str:
    """The same diagram in Graphviz DOT (names quoted, so any component name is safe)."""
    q = json.dumps  # a JSON string is a valid DOT quoted ID
    lines = ["digraph derived {", "  rankdir=LR;", '  "user" [shape=oval];']
    shapes = {"store": "cylinder", "registry": "cylinder", "proxy": "parallelogram", "pipeline": "box3d"}
    for c in sorted(comps, key=lambda c: c.name):
        lines.append(f"  {q(c.name)} [label={q(f'{c.name} ({c.role})')}, shape={shapes.get(c.role, 'box')}];")
    for a, b, label in edges(comps):
        lines.append(f"  {q(a)} -> {q(b)}" + (f" [label={q(label)}, style=dashed];" if label else ";"))
    return "\n".join([*lines, "}"]) + "\n"


def svg(dot_text: str, timeout: float = 10.0) -> str | None:
    """SVG of harness's own DOT text when Graphviz is installed (never the project's files), else None."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    try:
        proc = subprocess.run(
            [exe, "-Tsvg"], input=dot_text.encode(), capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


def unnamed(comps: list[Component], sources: list[DiagramSource]) -> list[Component]:
    """Declared components that no diagram text source names (by name or by a word of its role)."""
    text = "\n".join(s.text for s in sources).lower()
    words = {"pipeline": ("pipeline", "ci", "workflow", "actions"), "registry": ("registry", "ghcr", "image")}
    out = []
    for c in comps:
        names = {c.name, c.name.replace("-", " "), c.name.replace("-", "")} | set(words.get(c.role, ()))
        if c.role == "host":
            names |= {"host", "server", "vm", "cloud", "pulumi", "terraform"}
        if not any(re.search(rf"(?<![a-z]){re.escape(n)}", text) for n in names):
            out.append(c)
    return out
