"""Structural validation of a saved run document (schema: docs/report-schema.md)."""

from __future__ import annotations

from typing import Any

SUPPORTED_MAJOR = "1"
REQUIRED = {
    "schema_version": str,
    "tool": dict,
    "catalogue": dict,
    "run": dict,
    "grade": dict,
    "criteria": list,
    "checks": list,
    "waivers": list,
}


def validate_document(doc: Any) -> str | None:
    """None when the document can be rendered, else the first problem, in one line."""
    if not isinstance(doc, dict):
        return "top level is not an object"
    for key, tp in REQUIRED.items():
        if key not in doc:
            return f"missing {key}"
        if not isinstance(doc[key], tp):
            return f"{key} is not a {tp.__name__}"
    if str(doc["schema_version"]).split(".")[0] != SUPPORTED_MAJOR:
        return f"unsupported schema_version {doc['schema_version']}"
    for i, crit in enumerate(doc["criteria"]):
        if not isinstance(crit, dict) or not {"id", "status", "theme", "level"} <= set(crit):
            return f"criteria[{i}] lacks id, status, theme or level"
    for i, check in enumerate(doc["checks"]):
        if not isinstance(check, dict) or not isinstance(check.get("findings"), list) or "id" not in check:
            return f"checks[{i}] lacks id or findings"
    if "value" not in doc["grade"]:
        return "grade lacks value"
    return None
