"""The reference project's own unit and acceptance tests, run in a separate pytest (its own rootdir and
package names), with the in-memory store: no database or Docker needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1] / "reference_project"


def run_pytest(folder: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", folder],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_reference_project_unit_tests_pass() -> None:
    result = run_pytest("tests/unit")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_reference_project_acceptance_tests_pass() -> None:
    result = run_pytest("tests/acceptance")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_every_user_story_with_a_priority_above_wont_has_an_acceptance_test() -> None:
    import re

    stories = (PROJECT / "docs" / "user-stories.md").read_text(encoding="utf-8")
    tests = (PROJECT / "tests" / "acceptance" / "test_stories.py").read_text(encoding="utf-8")
    ids = re.findall(r"^## (US-\d+):.*\n\n\*\*Priority:\*\* ([\w']+)", stories, re.MULTILINE)
    assert ids, "no stories found"
    for story, priority in ids:
        if priority != "Won't":
            assert f'"""{story}:' in tests, f"{story} ({priority}) has no acceptance test"
