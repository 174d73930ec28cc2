"""Grading rules: met only when every mapped check passes; Distinction only on top of Pass."""

from __future__ import annotations

import datetime as dt

import pytest

from harness import waivers
from harness.catalogue import load
from harness.grading import grade
from harness.model import Finding, Outcome

CAT = load()
ALL_CHECKS = CAT.check_ids()


def findings_all(outcome: Outcome, **overrides: Outcome) -> list[Finding]:
    return [
        Finding(cid, overrides.get(cid, outcome), f"{cid} says {overrides.get(cid, outcome).value}")
        for cid in ALL_CHECKS
    ]


def status(results, cid: str) -> str:
    return next(r.status for r in results if r.criterion.id == cid)


def test_everything_passing_is_distinction_but_provisional():
    results, g = grade(CAT, findings_all(Outcome.PASS), ALL_CHECKS)
    assert g.value == "distinction"
    assert g.provisional
    assert set(g.awaiting_assessor) == {"CQ-4", "UN-3", "CI-3", "OP-D2", "DP-2", "DS-2"}
    assert status(results, "CQ-1") == "met"


def test_a_failing_pass_check_fails_the_grade_and_names_the_finding():
    results, g = grade(CAT, findings_all(Outcome.PASS, **{"repo.unit-tests": Outcome.FAIL}), ALL_CHECKS)
    assert g.value == "fail"
    assert g.not_met == ["CQ-3"]
    crit = next(r for r in results if r.criterion.id == "CQ-3")
    assert crit.held_back_by[0]["check_id"] == "repo.unit-tests"


def test_distinction_criteria_only_count_on_top_of_pass():
    # Distinction criteria met but a Pass criterion failed: Fail, not Distinction.
    f = findings_all(Outcome.PASS, **{"repo.gitignore": Outcome.FAIL})
    _, g = grade(CAT, f, ALL_CHECKS)
    assert g.value == "fail"
    # Pass criteria met, a Distinction criterion failed: Pass.
    f = findings_all(Outcome.PASS, **{"repo.automated-refresh": Outcome.FAIL})
    _, g = grade(CAT, f, ALL_CHECKS)
    assert g.value == "pass"
    assert "RP-D1" in g.not_met


def test_could_not_check_is_never_pass_nor_fail():
    results, g = grade(CAT, findings_all(Outcome.PASS, **{"live.tls": Outcome.COULD_NOT_CHECK}), ALL_CHECKS)
    assert status(results, "DS-1") == "undetermined"
    assert g.value == "undetermined"
    assert "DS-1" in g.undetermined and "DS-1" not in g.not_met
    # A could-not-check Distinction criterion keeps the grade at Pass, never Distinction.
    _, g = grade(CAT, findings_all(Outcome.PASS, **{"repo.automated-refresh": Outcome.COULD_NOT_CHECK}), ALL_CHECKS)
    assert g.value == "pass"


def test_a_fail_beats_could_not_check():
    f = findings_all(Outcome.PASS, **{"live.tls": Outcome.COULD_NOT_CHECK, "repo.https-config": Outcome.FAIL})
    results, g = grade(CAT, f, ALL_CHECKS)
    assert status(results, "DS-1") == "not_met"
    assert g.value == "fail"


def test_checks_that_did_not_run_leave_the_criterion_undetermined():
    f = [x for x in findings_all(Outcome.PASS) if x.check_id != "live.health"]
    results, g = grade(CAT, f, ALL_CHECKS)
    assert status(results, "OP-1") == "undetermined"
    assert g.value == "undetermined"


def test_only_not_applicable_is_no_evidence():
    f = findings_all(Outcome.PASS, **{"repo.should-have-tested": Outcome.NOT_APPLICABLE})
    results, _ = grade(CAT, f, ALL_CHECKS)
    assert status(results, "UN-D1") == "undetermined"


def test_warnings_do_not_hold_a_criterion_back():
    results, g = grade(CAT, findings_all(Outcome.PASS, **{"repo.feature-toggles": Outcome.WARN}), ALL_CHECKS)
    assert status(results, "CQ-1") == "met"
    assert g.value == "distinction"


def test_assessor_criteria_are_never_decided_by_checks():
    results, _ = grade(CAT, findings_all(Outcome.FAIL), ALL_CHECKS)
    assert status(results, "CQ-4") == "assessor"
    assert status(results, "DS-2") == "assessor"


def test_out_of_scope_criteria_do_not_count_but_make_it_provisional():
    repo_only = {c for c in ALL_CHECKS if c.startswith("repo.")}
    f = [x for x in findings_all(Outcome.PASS) if x.check_id in repo_only]
    results, g = grade(CAT, f, repo_only)
    assert status(results, "PR-1") == "out_of_scope"
    assert status(results, "DS-1") == "met"  # decided by its in-scope check
    assert g.value == "distinction" and g.provisional
    assert "out of scope" in g.summary


@pytest.mark.parametrize("expires,applied", [("2999-01-01", True), ("2000-01-01", False)])
def test_waivers_stop_counting_until_they_expire(expires, applied):
    f = findings_all(Outcome.PASS, **{"repo.bandit": Outcome.FAIL})
    entries = [{"check": "repo.bandit", "justification": "false positive", "approver": "Tutor", "expires": expires}]
    statuses = waivers.evaluate(entries, ALL_CHECKS, dt.date(2026, 11, 22))
    waivers.apply(f, statuses)
    bandit = next(x for x in f if x.check_id == "repo.bandit")
    assert bandit.outcome is Outcome.FAIL  # the original outcome is kept
    _, g = grade(CAT, f, ALL_CHECKS)
    if applied:
        assert bandit.waiver is not None and statuses[0].status == "applied"
        assert g.value == "distinction"
    else:
        assert bandit.waiver is None and statuses[0].status == "expired"
        assert g.value == "fail"


@pytest.mark.parametrize(
    "entry,reason",
    [
        ({"check": "repo.bandit", "approver": "T", "expires": "2999-01-01"}, "missing justification"),
        ({"check": "repo.nope", "justification": "j", "approver": "T", "expires": "2999-01-01"}, "no check"),
        ({"check": "repo.bandit", "justification": "j", "approver": "T", "expires": "soon"}, "not a date"),
        ({"check": "repo.bandit", "justification": "j", "approver": "T", "expires": "2999-01-01", "x": 1}, "unknown"),
    ],
)
def test_malformed_waivers_do_not_apply_and_are_reported(entry, reason):
    f = findings_all(Outcome.PASS, **{"repo.bandit": Outcome.FAIL})
    statuses = waivers.evaluate([entry], ALL_CHECKS, dt.date(2026, 11, 22))
    waivers.apply(f, statuses)
    assert statuses[0].status == "malformed"
    assert reason in statuses[0].reason
    assert all(x.waiver is None for x in f)
