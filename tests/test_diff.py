"""`harness diff` and `verify --compare`: criteria and findings between two real runs, exit 3 on regression."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from harness.cli import EXIT_GATE, EXIT_OK, EXIT_REGRESSED, EXIT_USAGE, main
from harness.diff import compare, fingerprint
from harness.reports import diff_render
from tests.test_reports_common import synthetic_doc

ONLY = ["--only", "repo.gitignore", "--only", "repo.unit-tests", "--format", "json"]


def _run(repo: Path, out: Path, *extra: str) -> tuple[int, dict]:
    code = main(["verify", "--repo", str(repo), "--out", str(out), *ONLY, *extra])
    return code, json.loads((out / "harness-report.json").read_text())


@pytest.fixture
def two_runs(make_repo, tmp_path: Path) -> tuple[Path, Path, object]:
    repo = make_repo()
    repo.write(".gitignore", ".venv/\n").write("app.py", "print(1)\n").commit("init")
    _run(repo.path, tmp_path / "a")
    repo.remove(".gitignore").commit("drop the gitignore")
    return tmp_path / "a" / "harness-report.json", tmp_path / "b", repo


def test_regression_between_real_runs_exits_3(two_runs, capsys: pytest.CaptureFixture[str]) -> None:
    old, out_b, repo = two_runs
    code, new = _run(repo.path, out_b, "--compare", str(old))
    assert code == EXIT_REGRESSED
    printed = capsys.readouterr().out
    assert "REGRESSED: no longer met: CQ-1" in printed
    diff = compare(json.loads(old.read_text()), new)
    assert [e["id"] for e in diff["criteria"]["newly_not_met"]] == ["CQ-1"]
    assert any(f["check_id"] == "repo.gitignore" and f["outcome"] == "fail" for f in diff["findings"]["new"])
    assert any(f["check_id"] == "repo.gitignore" and f["outcome"] == "pass" for f in diff["findings"]["resolved"])
    # The other way round it is an improvement: exit 0 from `harness diff`, CQ-1 newly met.
    new_path = out_b / "harness-report.json"
    assert main(["diff", str(new_path), str(old)]) == EXIT_OK
    assert "CRITERIA NEWLY MET (1)\n  CQ-1: not met -> met" in capsys.readouterr().out
    assert main(["diff", str(old), str(new_path), "--format", "json"]) == EXIT_REGRESSED
    assert json.loads(capsys.readouterr().out)["no_longer_met"] == ["CQ-1"]


def test_unchanged_project_is_no_regression(make_repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.write("app.py", "print(1)\n").commit("init")
    _run(repo.path, tmp_path / "a")
    repo.write("app.py", "print(2)\n").commit("another commit: commits and line numbers move")
    code, _ = _run(repo.path, tmp_path / "b", "--compare", str(tmp_path / "a" / "harness-report.json"))
    assert code == EXIT_GATE  # the gate's answer, not a regression
    printed = capsys.readouterr().out
    assert "no regression" in printed and "FINDINGS NEW (0)" in printed and "FINDINGS RESOLVED (0)" in printed


def test_findings_match_by_fingerprint_not_reason(tmp_path: Path) -> None:
    old = synthetic_doc(tmp_path)
    new = copy.deepcopy(old)
    gitignore = next(c for c in new["checks"] if c["id"] == "repo.gitignore")["findings"][0]
    gitignore["reason"] = "reworded"
    gitignore["evidence"][0]["start_line"] = 40  # the file moved on: still the same finding
    gitignore["outcome"] = "warn"
    diff = compare(old, new)
    assert diff["findings"]["new"] == [] and diff["findings"]["resolved"] == []
    (changed,) = diff["findings"]["changed"]
    assert changed["check_id"] == "repo.gitignore" and (changed["old_outcome"], changed["new_outcome"]) == (
        "fail",
        "warn",
    )
    assert fingerprint(gitignore) == "repo.gitignore||src/a b.py"


def test_markdown_shows_data_literally_and_masks(tmp_path: Path) -> None:
    old = synthetic_doc(tmp_path)
    new = copy.deepcopy(old)
    finding = next(c for c in new["checks"] if c["id"] == "repo.unit-tests")["findings"][0]
    finding["reason"] = "[click](https://evil.test) <b>x</b> ghp_" + "a" * 36
    md = diff_render.markdown(compare(old, new))
    assert md.startswith("## harness diff")
    assert "\\[click\\]" in md and "\\<b\\>" in md
    assert "ghp_" + "a" * 36 not in md


def test_a_bad_run_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["diff", str(bad), str(bad)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a harness JSON report" in err
