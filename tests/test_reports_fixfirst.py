"""Fix first: the ranked actions at the top of the terminal report, on one 80x24 screen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.reports import fixfirst, terminal
from tests.test_reports_common import synthetic_doc


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A real run of a bare project: it fails many criteria and configures no live check."""
    from tests.conftest import RepoBuilder

    base = tmp_path_factory.mktemp("ff")
    repo = RepoBuilder(base / "repo")
    repo.write("app.py", "print('hello')\n").commit("init")
    assert main(["verify", "--repo", str(repo.path), "--format", "json", "--out", str(base / "out")]) == 1
    return json.loads((base / "out" / "harness-report.json").read_text()) | {"_repo": str(repo.path)}


def test_first_screen_holds_the_fix_first_list(failing_run: dict) -> None:
    ff = fixfirst.compute(failing_run)
    assert len(ff.actions) >= 3 and ff.total > len(ff.actions)
    screen = terminal.render(failing_run, width=80).splitlines()[:24]
    assert screen[0].startswith("FIX FIRST")
    assert all(len(line) <= 80 for line in screen)
    text = "\n".join(screen)
    for n, action in enumerate(ff.actions, 1):
        assert f"{n}. {action.check_id} ({action.outcome}) holds back {', '.join(action.criteria)}" in text
        assert "fix: " + action.remediation[:40] in text
    # The unconfigured live checks are one statement of what to set, not one item each.
    assert "live checks not configured: to run them, set" in text and "live.urls" in text
    assert not any(a.check_id.startswith("live.") and a.outcome == "could_not_check" for a in ff.actions)


def test_a_finding_holding_back_several_criteria_is_one_action(failing_run: dict) -> None:
    ff = fixfirst.compute(failing_run, limit=100)
    keys = [(a.check_id, a.reason) for a in ff.actions]
    assert len(keys) == len(set(keys))
    shared = [a for a in ff.actions if len(a.criteria) > 1]
    assert shared, "the bare project has findings that hold back several criteria"
    # Ranked by weight: every criterion's weight is shared among its blockers.
    weights = [a.weight for a in ff.actions]
    assert weights == sorted(weights, reverse=True)


def test_points_only_at_report_files_that_were_written(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    crit = next(c for c in doc["criteria"] if c["status"] == "not_met")
    crit["held_back_by"] = crit["held_back_by"] * 7  # more than the terminal shows
    alone = terminal.render(doc, written=[])
    assert "see the HTML or JSON report" not in alone and "HTML" not in alone.replace("--format html", "")
    assert "(add --format html to see them all)" in alone
    assert "(see harness-report.html)" in terminal.render(doc, written=["harness-report.html"])


def test_waived_findings_are_not_actions(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)  # repo.secrets is waived there
    assert all(a.check_id != "repo.secrets" for a in fixfirst.compute(doc, limit=100).actions)
    assert any(a.check_id == "repo.gitignore" for a in fixfirst.compute(doc, limit=100).actions)


def test_the_command_on_an_80_column_screen(failing_run: dict, tmp_path: Path) -> None:
    """The real `harness verify` output, as an 80x24 terminal shows it, with no report file written."""
    env = dict(os.environ, COLUMNS="80", LINES="24")
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "verify", "--repo", failing_run["_repo"], "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    screen = proc.stdout.splitlines()[:24]
    assert screen[0].startswith("FIX FIRST") and all(len(line) <= 80 for line in screen)
    assert sum(1 for line in screen if line[:3] in {f"{n}. " for n in range(1, 10)}) == 4
    assert "live checks not configured" in "\n".join(screen)
    assert "see the HTML" not in proc.stdout and "wrote " not in proc.stderr  # no file was written
