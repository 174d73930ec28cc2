"""CQ-2 is about known vulnerabilities and security practice (issue 9): one gating scan is enough, and
workflow hardening (an action pinned to a tag rather than a digest) is a warning with advice."""

from __future__ import annotations

from harness.catalogue import load as load_catalogue
from harness.grading import MET, NOT_MET, judge_criterion
from harness.model import Outcome
from tests.conftest import run_check

HEADER = """name: CI
on: [push, pull_request]
permissions: {}
jobs:
  security:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
"""


def _cq2(repo, checks=("repo.security-scanning", "repo.workflow-lint")):
    findings = {cid: run_check(cid, repo.path) for cid in checks}
    crit = next(c for c in load_catalogue().criteria if c.id == "CQ-2")
    return judge_criterion(crit, findings, set(checks)), findings


def test_one_gating_dependency_scan_is_enough(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", HEADER + "      - run: pip-audit -r requirements.txt\n").commit("ci")
    [f] = run_check("repo.security-scanning", repo.path)
    # Old code failed: "no static analysis or secret scan that can fail the build".
    assert f.outcome is Outcome.PASS and "pip-audit" in f.reason and "consider adding" in f.reason


def test_one_gating_static_analysis_is_enough(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", HEADER + "      - run: bandit -r src\n").commit("ci")
    [f] = run_check("repo.security-scanning", repo.path)
    assert f.outcome is Outcome.PASS and "bandit" in f.reason


def test_a_scan_that_cannot_fail_the_pipeline_is_not_met(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", HEADER + "      - run: pip-audit -r requirements.txt || true\n")
    repo.commit("ci")
    found = run_check("repo.security-scanning", repo.path)
    assert sorted(f.outcome.value for f in found) == ["fail", "warn"]
    assert "no security scan" in next(f.reason for f in found if f.outcome is Outcome.FAIL)


def test_action_pinned_to_a_tag_is_a_warning_not_a_cq2_failure(make_repo):
    repo = make_repo()
    workflow = HEADER.replace("11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2", "v4") + "      - run: bandit -r .\n"
    repo.write(".github/workflows/ci.yml", workflow).commit("ci")
    result, findings = _cq2(repo)
    lint = findings["repo.workflow-lint"]
    unpinned = [f for f in lint if "unpinned-uses" in f.reason]
    # Old code: zizmor rates unpinned-uses High, which failed CQ-2.
    assert unpinned and all(f.outcome is Outcome.WARN and f.remediation for f in unpinned)
    assert result.status == MET, result.held_back_by


def test_template_injection_still_fails_cq2(make_repo):
    repo = make_repo()
    workflow = HEADER + '      - run: echo "${{ github.event.head_commit.message }}"\n      - run: bandit -r .\n'
    repo.write(".github/workflows/ci.yml", workflow).commit("ci")
    result, findings = _cq2(repo)
    assert any(f.outcome is Outcome.FAIL and "template-injection" in f.reason for f in findings["repo.workflow-lint"])
    assert result.status == NOT_MET
