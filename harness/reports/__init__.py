"""Report writers. Each format module has `FILENAME` and `render(doc) -> str`; they only render."""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.fsutil import write_atomic
from harness.reports import signoff_pdf

FILE_FORMATS = {
    "json": "harness.reports.json_report",
    "html": "harness.reports.html",
    "junit": "harness.reports.junit",
    "sarif": "harness.reports.sarif",
    "markdown": "harness.reports.markdown",
    "codequality": "harness.reports.codequality",
    "signoff": "harness.reports.signoff",
}


def render(fmt: str, doc: dict[str, Any]) -> str:
    module = importlib.import_module(FILE_FORMATS[fmt])
    return module.render(doc)


def write(doc: dict[str, Any], formats: list[str], out_dir: Path) -> list[Path]:
    """Write the file formats asked for as one set; returns the paths written.

    Every file is rendered into a fresh folder inside `out_dir` first; then, holding a lock on
    `out_dir`, each is renamed into place and the report files of an earlier set that this run
    does not write are removed. Two runs sharing an `--out` thus never leave a mixed set.
    """
    names = {_filename(f): f for f in dict.fromkeys(formats) if f != "terminal"}
    if not names:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".harness-staging-", dir=out_dir))
    try:
        for name, fmt in names.items():
            write_atomic(staging / name, render(fmt, doc))
        done = list(names)
        # The sign-off sheet's PDF too, when the optional renderer (Chromium) is installed.
        pdf = signoff_pdf.PDF_FILENAME
        if "signoff" in names.values() and signoff_pdf.print_pdf(staging / _filename("signoff"), staging / pdf):
            done.append(pdf)
        with _locked(out_dir):
            for name in done:
                os.replace(staging / name, out_dir / name)
            for stale in ({_filename(f) for f in FILE_FORMATS} | {signoff_pdf.PDF_FILENAME}) - set(done):
                (out_dir / stale).unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / name for name in done]


def _filename(fmt: str) -> str:
    return str(importlib.import_module(FILE_FORMATS[fmt]).FILENAME)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor closes
        yield
    finally:
        os.close(fd)
