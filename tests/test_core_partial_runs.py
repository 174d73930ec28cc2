"""Partial runs (issue 9, class 8): a criterion some of whose checks did not run is met on the checks that ran only."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from harness.grading import grade
from harness.model import Outcome
from tests.test_core_cli import harness
from tests.test_core_grading import ALL_CHECKS, CAT, findings_all
from tests.test_repo_history import own_work

WIDE = {"COLUMNS": "200"}  # one line per criterion on the terminal, whatever the test runner's width
CQ1_OTHERS = ["repo.commit-size", "repo.gitignore", "repo.code-and-iac", "repo.feature-toggles"]


def findings_all_pass():
    return findings_all(Outcome.PASS)


def result(results, cid: str):
    return next(r for r in results if r.criterion.id == cid)


def test_a_criterion_with_checks_left_out_is_met_on_the_checks_that_ran_only():
    only = {"repo.git-history"}
    results, g = grade(CAT, [f for f in findings_all_pass() if f.check_id in only], only)
    cq1 = result(results, "CQ-1")
    assert cq1.status == "met"
    assert "every mapped check passed" not in cq1.reason
    assert cq1.reason.startswith("met on the checks that ran (repo.git-history)")
    assert all(c in cq1.reason for c in CQ1_OTHERS)
    d = cq1.to_dict()
    assert d["partial"] is True and d["checks_not_run"] == CQ1_OTHERS
    assert g.partial == ["CQ-1"] and g.provisional
    assert "1 met only on the checks that ran" in g.summary
    assert g.summary.startswith("Distinction on the checks that ran:")


def test_skip_makes_the_criterion_partial_too():
    skipped = ALL_CHECKS - {"repo.gitignore"}
    results, g = grade(CAT, [f for f in findings_all_pass() if f.check_id in skipped], skipped)
    cq1 = result(results, "CQ-1")
    assert cq1.partial and cq1.not_run == ["repo.gitignore"]
    assert "CQ-1" in g.partial


def test_a_full_run_is_met_on_every_mapped_check():
    results, g = grade(CAT, findings_all_pass(), ALL_CHECKS)
    cq1 = result(results, "CQ-1")
    assert cq1.reason == "every mapped check passed"
    assert cq1.to_dict()["partial"] is False and cq1.to_dict()["checks_not_run"] == []
    assert g.partial == [] and "met only on the checks that ran" not in g.summary
    assert g.summary.startswith("Distinction: every automatable Pass and Distinction criterion met")


def test_every_report_says_met_on_the_checks_that_ran(make_repo, tmp_path):
    repo = make_repo()
    own_work(repo, commits=10, days=4, branch=True)
    out = tmp_path / "out"
    formats = [a for f in ("json", "junit", "html", "terminal") for a in ("--format", f)]
    proc = harness(
        "verify", "--repo", str(repo.path), "--only", "repo.git-history", *formats, "--out", str(out), env=WIDE
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((out / "harness-report.json").read_text())
    cq1 = next(c for c in doc["criteria"] if c["id"] == "CQ-1")
    assert cq1["status"] == "met" and cq1["partial"] is True, cq1["reason"]
    assert cq1["checks_not_run"] == CQ1_OTHERS
    assert doc["grade"]["partial"] == ["CQ-1"] and doc["grade"]["provisional"] is True

    assert "✔ MET (PARTIAL RUN)  CQ-1" in proc.stdout
    assert "not run in this run: repo.commit-size, repo.gitignore" in proc.stdout
    assert "PARTIAL RUN: 1 criteria met on the checks that ran only" in proc.stdout
    assert "(1 awaiting assessor, 1 met (1 on the checks that ran only), 2 out of scope)" in proc.stdout

    case = next(c for c in ET.parse(out / "harness-junit.xml").iter("testcase") if c.get("name", "") == "CQ-1")
    assert case.find("failure") is None and case.find("skipped") is None
    assert "met on the checks that ran" in (case.findtext("system-out") or "")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["partial"] == "true" and props["checks_not_run"].split() == CQ1_OTHERS

    page = (out / "harness-report.html").read_text()
    assert "✔ met on the checks that ran</span><span class='ctitle'>CQ-1" in page
    assert "criteria are met only on the checks that ran: CQ-1" in page
