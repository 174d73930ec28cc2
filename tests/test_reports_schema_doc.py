"""docs/report-schema.md and harness/data/report.schema.json describe the same document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.reports.schema import load_schema

DOC = Path(__file__).resolve().parents[1] / "docs" / "report-schema.md"


def _property_names(node: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        names |= set(node.get("properties", {}))
        for value in node.values():
            names |= _property_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _property_names(value)
    return names


def _enum_values(node: Any) -> set[str]:
    values: set[str] = set()
    if isinstance(node, dict):
        values |= {v for v in node.get("enum", []) if isinstance(v, str)}
        for value in node.values():
            values |= _enum_values(value)
    elif isinstance(node, list):
        for value in node:
            values |= _enum_values(value)
    return values


def test_every_schema_field_and_value_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    schema = load_schema()
    missing = sorted(n for n in _property_names(schema) if f"`{n}`" not in text)
    assert missing == []
    undocumented = sorted(v for v in _enum_values(schema) if f"`{v}`" not in text)
    assert undocumented == []


def test_schema_version_policy_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "major" in text and "schema_version" in text
