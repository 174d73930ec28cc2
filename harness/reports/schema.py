"""Validation of a saved run document against harness/data/report.schema.json (docs/report-schema.md).

`harness report` refuses a document it cannot render faithfully, with one line
naming where the document is wrong, rather than a traceback half-way through.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

SUPPORTED_MAJORS = ("1", "2")  # 2.0 only added a level value; a 1.x document is valid 2.x
SCHEMA_NAME = "report.schema.json"
MESSAGE_LIMIT = 160  # jsonschema quotes whole values; keep the error to one readable line


@cache
def load_schema() -> dict[str, Any]:
    text = resources.files("harness.data").joinpath(SCHEMA_NAME).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _where(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "top level"


def validate_document(doc: Any) -> str | None:
    """None when the document can be rendered, else the first problem, in one line."""
    if not isinstance(doc, dict):
        return "top level is not an object"
    version = doc.get("schema_version")
    if not isinstance(version, str):
        return "missing schema_version"
    if version.split(".")[0] not in SUPPORTED_MAJORS:
        readable = " and ".join(f"{m}.x" for m in SUPPORTED_MAJORS)
        return f"unsupported schema_version {version[:20]} (this harness reads {readable})"
    error = best_match(_validator().iter_errors(doc))
    if error is None:
        return None
    message = " ".join(error.message.split())
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    return f"{_where(list(error.absolute_path))}: {message}"
