"""The sign-off sheet as a PDF, printed by headless Chromium when it is installed (the optional renderer).

The sheet is harness's own static HTML (project text escaped, no script, no external asset). The browser
runs with a throwaway profile and no background network features (headless printing needs its script
engine, so that stays on), and is killed with its whole process group at the deadline. Without Chromium
there is simply no PDF: the HTML prints the same.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

PDF_FILENAME = "harness-signoff.pdf"
TIMEOUT_S = 60.0
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def print_pdf(html: Path, pdf: Path) -> bool:
    """Print `html` to `pdf`; False when no browser is installed or it did not produce the file in time."""
    exe = browser()
    if exe is None:
        return False
    with tempfile.TemporaryDirectory(prefix="harness-chromium-") as profile:
        cmd = [
            exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions",
            f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri(),
        ]  # fmt: skip
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        except OSError:
            return False
        try:
            proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            return False
    return pdf.is_file() and pdf.stat().st_size > 0
