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


def test_every_file_the_app_image_copies_is_in_its_build_context() -> None:
    """.dockerignore lets through only what the image needs (last matching pattern wins, as Docker reads it):
    a file the Dockerfile copies but the context leaves out fails only when the image is built."""
    import fnmatch
    import re

    patterns = [
        line.strip()
        for line in (PROJECT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def in_context(path: str) -> bool:
        kept = True
        for pattern in patterns:
            negated = pattern.startswith("!")
            glob = pattern.lstrip("!").rstrip("/")
            parts = path.split("/")
            if any(fnmatch.fnmatch("/".join(parts[:n]), glob) for n in range(1, len(parts) + 1)):
                kept = negated
        return kept

    dockerfile = (PROJECT / "Dockerfile").read_text(encoding="utf-8")
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.MULTILINE)
    sources = [src for line in copies for src in line.split()]
    assert "server.py" in sources and "requirements.txt" in sources
    for src in sources:
        assert (PROJECT / src).exists(), src
        assert in_context(src.rstrip("/")), f"{src} is copied by the Dockerfile but left out by .dockerignore"
