"""The run document as JSON: the machine-readable report (schema: docs/report-schema.md)."""

from __future__ import annotations

import json
from typing import Any

FILENAME = "harness-report.json"


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
