"""Shared helpers of the inventory probes: reading, parsing and grepping files at HEAD, and evidence for them.

A file that cannot be parsed is recorded (Parsed.error) instead of raising.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from harness import textscan, yamlsafe
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


_LINE_COMMENT = re.compile(r"(?m)(?:^|(?<=\s))(?:#|//).*$")


def strip_line_comments(text: str) -> str:
    """The text with `#` and `//` comments blanked (a marker after a space or at a line's start, so that
    `https://` survives); lines stay where they were, so positions still give line numbers."""
    return _LINE_COMMENT.sub("", text)


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
    return yamlsafe.load_all(text, _TolerantLoader)


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


def text_files(repo: RepoSnapshot, files: Iterable[RepoFile]) -> Iterator[tuple[RepoFile, str]]:
    return repo.texts([f for f in files if f.is_regular and not is_vendored(f.path)])
