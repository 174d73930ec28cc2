"""The terminal report: grouping, statuses in words, evidence locations, waivers, grade line, progress."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from harness.engine import CheckResult
from harness.model import Finding, Outcome, now_iso
from harness.reports import terminal
from tests.test_reports_common import WAIVER_NOTE, _check, synthetic_doc


def test_failures_first_with_reason_and_location(tmp_path: Path) -> None:
    out = terminal.render(synthetic_doc(tmp_path))
    lines = out.splitlines()
    first_theme = lines[lines.index("") + 1]  # after the fix-first list
    assert first_theme.startswith("Code Quality") and "not met" in first_theme
    assert "✘ NOT MET" in out and "CQ-1" in out
    assert "src/a b.py:3-7" in out  # where the failing evidence is
    assert "https://app.example.org/" in out  # a live finding points at its URL
    assert "\x1b[" not in out  # plain text: no colour codes in render()


def test_could_not_check_is_neither_pass_nor_fail(tmp_path: Path) -> None:
    out = terminal.render(synthetic_doc(tmp_path))
    cq3 = next(ln for ln in out.splitlines() if " CQ-3:" in ln)
    assert "COULD NOT CHECK" in cq3
    assert "MET" not in cq3.replace("COULD NOT CHECK", "")
    assert "pytest is not installed" in out


def test_waived_findings_show_justification(tmp_path: Path) -> None:
    out = terminal.render(synthetic_doc(tmp_path))
    assert "WAIVED" in out
    assert WAIVER_NOTE in out and "Tutor" in out


def test_grade_line_and_incomplete(tmp_path: Path) -> None:
    out = terminal.render(synthetic_doc(tmp_path))
    assert "GRADE: FAIL" in out and "PROVISIONAL" in out and "gate pass: NOT reached" in out
    assert "INCOMPLETE" not in out
    incomplete = terminal.render(synthetic_doc(tmp_path, complete=False))
    assert "INCOMPLETE RUN: interrupted by SIGINT" in incomplete


def test_hostile_text_is_not_markup(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    doc["checks"][0]["findings"][0]["reason"] = "[bold red]not markup[/] [link=x]y[/link]"
    doc["criteria"][0]["held_back_by"][0]["reason"] = doc["checks"][0]["findings"][0]["reason"]
    assert "[bold red]not markup[/]" in terminal.render(doc)


def test_progress_without_a_terminal_is_one_line_per_finished_check(monkeypatch: pytest.MonkeyPatch) -> None:
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    result = CheckResult(_check("repo.bandit"), [Finding("repo.bandit", Outcome.FAIL, "no")], now_iso(), 2.345)
    for enabled in (True, False):  # a CI log gets the lines whatever the formats
        with terminal.progress(enabled) as update:
            assert update is not None
            update("start", None)
            update("done", result)
    assert log.getvalue().splitlines() == ["harness: repo.bandit fail 2.3 s"] * 2


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_counts_engine_events_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    check = _check("repo.gitignore")
    result = CheckResult(check, [Finding("repo.gitignore", Outcome.PASS, "ok")], now_iso(), 0.01)
    with terminal.progress(True) as update:
        assert update is not None
        update("start", None)
        update("start", None)
        update("done", result)
    written = fake.getvalue()
    assert "repo.gitignore" in written or "1/2" in written


def test_undetermined_without_findings_says_why(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    crit = next(c for c in doc["criteria"] if c["id"] == "CQ-3")
    crit.update(status="undetermined", reason="no check found positive evidence", held_back_by=[])
    out = terminal.render(doc)
    cq3 = out[out.index(" CQ-3:") :].splitlines()
    assert "no check found positive evidence" in cq3[1]
