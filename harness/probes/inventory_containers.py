"""Container inventory: Dockerfiles as instructions with line numbers, compose files as parsed YAML, image refs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.context import Context
from harness.probes.inventory_files import is_vendored, line_of, parsed
from harness.probes.repository import RepoFile, RepoSnapshot

COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-][\w.-]+)?\.ya?ml$", re.I)


def is_compose(f: RepoFile) -> bool:
    return bool(COMPOSE_NAME.match(f.name))


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
