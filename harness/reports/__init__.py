"""Report writers. Each format module has `FILENAME` and `render(doc) -> str`; they only render."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from harness.fsutil import write_atomic

FILE_FORMATS = {
    "json": "harness.reports.json_report",
    "html": "harness.reports.html",
    "junit": "harness.reports.junit",
    "sarif": "harness.reports.sarif",
}


def render(fmt: str, doc: dict[str, Any]) -> str:
    module = importlib.import_module(FILE_FORMATS[fmt])
    return module.render(doc)


def write(doc: dict[str, Any], formats: list[str], out_dir: Path) -> list[Path]:
    """Write every file format asked for, each atomically; returns the paths written."""
    written = []
    for fmt in dict.fromkeys(formats):
        if fmt == "terminal":
            continue
        module = importlib.import_module(FILE_FORMATS[fmt])
        path = out_dir / module.FILENAME
        write_atomic(path, module.render(doc))
        written.append(path)
    return written
