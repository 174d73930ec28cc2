"""YAML with line numbers, and the small readers every CI system's parser shares.

Every YAML parse of the package goes through load_yaml (one place to bound it).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from harness import yamlsafe
from harness.probes.pipelines.model import Command


# -- YAML with line numbers -------------------------------------------------
class LDict(dict[Any, Any]):
    line = 0
    end_line = 0
    key_lines: dict[Any, int]


class LList(list[Any]):
    line = 0
    item_lines: list[int]


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's parser when installed: the same events, several times faster) whose mappings and
    sequences remember their lines."""


def _end_line(node: yaml.Node) -> int:
    mark = node.end_mark
    return mark.line if mark.column == 0 else mark.line + 1


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> LDict:
    loader.flatten_mapping(node)
    out = LDict()
    out.line, out.end_line, out.key_lines = node.start_mark.line + 1, _end_line(node), {}
    for knode, vnode in node.value:
        key = loader.construct_object(knode, deep=True)
        if not isinstance(key, str | int | float | bool | None):
            raise yaml.constructor.ConstructorError(None, None, "unhashable key", knode.start_mark)
        out[key] = loader.construct_object(vnode, deep=True)
        out.key_lines[key] = knode.start_mark.line + 1
    return out


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> LList:
    out = LList(loader.construct_object(n, deep=True) for n in node.value)
    out.line, out.item_lines = node.start_mark.line + 1, [n.start_mark.line + 1 for n in node.value]
    return out


def _construct_tag(loader: _LineLoader, tag_suffix: str, node: yaml.Node) -> str:
    # GitLab's `!reference [.job, script]` and other custom tags: kept as text, never executed.
    return f"!{tag_suffix}"


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)
_LineLoader.add_multi_constructor("!", _construct_tag)


def load_yaml(text: str) -> Any:
    """The first document, bounded against alias bombs, deep nesting and size (harness/yamlsafe.py)."""
    return yamlsafe.load(text, _LineLoader)


def line_of(obj: Any, key: Any, default: int) -> int:
    return obj.key_lines.get(key, default) if isinstance(obj, LDict) else default


def as_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value) if isinstance(value, int | float) else ""


def mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


HEREDOC = re.compile(r"(?<!<)<<-?(?!<)\s*['\"]?(\w+)['\"]?")


# -- shell text -------------------------------------------------------------
def split_script(text: str, first_line: int, raw_lines: list[str] | None = None) -> list[Command]:
    """One Command per logical line; line numbers found in the raw file when given."""
    out: list[Command] = []
    pending, first_part = "", ""
    search_from = first_line
    heredoc: tuple[str, list[str]] | None = None  # (end marker, body lines) while reading a heredoc
    for raw in text.splitlines():
        line = raw.strip()
        if heredoc is not None:
            if line == heredoc[0]:
                out[-1].stdin, heredoc = "\n".join(heredoc[1]), None
            else:
                heredoc[1].append(line)
            continue
        if not pending:
            first_part = line
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if not full or full.startswith("#"):
            continue
        where = first_line
        if raw_lines is not None:
            where = _find_line(raw_lines, search_from, first_part[:60], search_from)
            search_from = where
        out.append(Command(full, where))
        marker = HEREDOC.search(full)
        if marker:
            heredoc = (marker.group(1), [])
    if heredoc is not None and out:
        out[-1].stdin = "\n".join(heredoc[1])
    if pending.strip():
        out.append(Command(pending.strip(), search_from))
    return out


def _find_line(raw_lines: list[str], start: int, needle: str, default: int) -> int:
    needle = needle.strip()
    if not needle:
        return default
    for i in range(max(0, start - 1), min(len(raw_lines), start + 400)):
        if needle in raw_lines[i]:
            return i + 1
    return default


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = LDict(base)
    merged.key_lines = dict(getattr(base, "key_lines", {}))
    merged.line, merged.end_line = getattr(over, "line", 0), getattr(over, "end_line", 0)
    for k, v in over.items():
        merged[k] = v
        merged.key_lines[k] = line_of(over, k, merged.line)
    return merged


def script_commands(spec: dict[str, Any], key: str, file_lines: list[str]) -> list[Command]:
    value = spec.get(key)
    base = line_of(spec, key, getattr(spec, "line", 1))
    out: list[Command] = []
    for i, item in enumerate(as_list(value)):
        line = value.item_lines[i] if isinstance(value, LList) and i < len(value.item_lines) else base
        if isinstance(item, list):  # nested lists from !reference or anchors
            for sub in item:
                out += split_script(as_str(sub), line, file_lines)
        else:
            out += split_script(as_str(item), line, file_lines)
    return out
