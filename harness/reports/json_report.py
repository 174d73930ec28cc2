"""The run document as JSON: the machine-readable report (schema: docs/report-schema.md)."""

from __future__ import annotations

import json
from typing import Any

FILENAME = "harness-report.json"


def render(doc: dict[str, Any]) -> str:
    text = json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    # A lone surrogate (bytes a probe decoded with surrogateescape) cannot be written as UTF-8;
    # inside a JSON string its backslash form is a valid escape, so the file stays valid JSON.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
