"""The reference project's own unit and acceptance tests, run in a separate pytest (its own rootdir and
package names), with the in-memory store; and its store's integration tests, against a throwaway PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.pgserver import postgres

PROJECT = Path(__file__).resolve().parents[1] / "reference_project"


def run_pytest(folder: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", folder],
        cwd=PROJECT,
        env=os.environ | (env or {}),
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


def test_reference_project_store_against_a_real_postgresql() -> None:
    with postgres() as dsn:
        result = run_pytest("tests/integration", {"TASKAPP_TEST_DATABASE_URL": dsn})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "skipped" not in result.stdout and " passed" in result.stdout, result.stdout[-3000:]


def test_every_user_story_with_a_priority_above_wont_has_an_acceptance_test() -> None:
    import re

    stories = (PROJECT / "docs" / "user-stories.md").read_text(encoding="utf-8")
    tests = (PROJECT / "tests" / "acceptance" / "test_stories.py").read_text(encoding="utf-8")
    ids = re.findall(r"^## (US-\d+):.*\n\n\*\*Priority:\*\* ([\w']+)", stories, re.MULTILINE)
    assert ids, "no stories found"
    for story, priority in ids:
        if priority != "Won't":
            assert f'"""{story}:' in tests, f"{story} ({priority}) has no acceptance test"
