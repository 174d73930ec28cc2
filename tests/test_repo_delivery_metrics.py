"""repo.delivery-metrics on a fixture repository with known deploy events, breaking and restoring commits.

Every time below is set through git's dates, so each expected figure is exact to the second.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.catalogue import load as load_catalogue
from harness.grading import grade
from harness.model import Outcome
from harness.probes import delivery, git_history
from tests.conftest import RepoBuilder, git, run_check

ID = "repo.delivery-metrics"


def _at(when: str) -> dict[str, str]:
    return {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}


@pytest.fixture
def project(make_repo) -> tuple[RepoBuilder, dict[str, str]]:
    repo = make_repo()
    c: dict[str, str] = {}
    c["app"] = repo.write("app.py", "a = 1\n").commit("add app", date="2024-01-01T10:00:00+00:00")
    c["feature"] = repo.write("feature.py", "f = 1\n").commit("add feature", date="2024-01-01T12:00:00+00:00")
    git(repo.path, "tag", "-a", "v1.0.0", "-m", "first release", c["feature"], env=_at("2024-01-02T09:00:00+00:00"))
    git(repo.path, "tag", "wip-experiment", c["app"])  # not a release name: no deployment
    git(repo.path, "tag", "1.0.x", c["app"])  # a maintenance line, not a release
    git(
        repo.path, "tag", "-a", "deploy-later", "-m", "again", c["feature"], env=_at("2024-01-02T10:00:00+00:00")
    )  # same commit: one event
    c["config"] = repo.write("config.py", "x = 2\n").commit("change config", date="2024-01-03T08:00:00+00:00")
    git(repo.path, "revert", "--no-edit", c["config"], env=_at("2024-01-03T08:30:15+00:00"))
    c["revert"] = git(repo.path, "rev-parse", "HEAD")
    c["db"] = repo.write("db.py", "url = 'a'\n").commit("refactor db access", date="2024-01-04T10:00:00+00:00")
    c["fix"] = repo.write("db.py", "url = 'b'\n").commit("fix: db connection", date="2024-01-04T13:20:00+00:00")
    c["release"] = repo.write("CHANGELOG.md", "1.1.0\n").commit("Release 1.1.0", date="2024-01-05T09:00:00+00:00")
    # Tagged a day after the release commit: one deployment, at the tag's date.
    git(repo.path, "tag", "-a", "v1.1.0", "-m", "1.1.0", c["release"], env=_at("2024-01-06T09:00:00+00:00"))
    return repo, c


def test_events_lead_times_and_recoveries_to_the_second(project) -> None:
    repo, c = project
    d = delivery.measure(git_history.load(repo.path))
    assert [(e.name, e.kind, e.sha) for e in d.events] == [
        ("v1.0.0", "tag", c["feature"]),  # the annotated tag's own date, not its commit's
        ("v1.1.0", "tag", c["release"]),  # the release commit, at its tag's date
    ]
    assert d.lead_times == {
        c["app"]: 82800,  # 2024-01-01 10:00 -> 2024-01-02 09:00
        c["feature"]: 75600,
        c["config"]: 262800,  # 2024-01-03 08:00 -> 2024-01-06 09:00
        c["revert"]: 260985,
        c["db"]: 169200,
        c["fix"]: 157200,
        c["release"]: 86400,
    }
    assert d.median_lead_time == 157200
    assert d.mean_interval == 345600  # two events four days apart
    pairs = [(r.broken.sha, r.restored.sha, r.seconds, r.how) for r in d.recoveries]
    assert pairs == [
        (c["config"], c["revert"], 1815, "a revert naming the commit"),
        (c["db"], c["fix"], 12000, "the previous commit touching the same files"),
    ]
    assert d.median_recovery == 6907.5


def test_finding_prints_each_figure_with_its_definition_and_band(project) -> None:
    repo, c = project
    (f,) = run_check(ID, repo.path)
    assert f.outcome is Outcome.MANUAL  # evidence for the assessor, never a verdict
    assert "median lead time 1 d 19 h [DORA 2024: high (between one day and one week)]" in f.reason
    assert "1.75 deployments per week (one every 4 d) [DORA 2024: high" in f.reason
    assert "median recovery time 1 h 55 min [DORA 2024: high" in f.reason
    by_summary = {e.summary.split(" [")[0]: e for e in f.evidence if e.kind == "metric"}
    lead = by_summary["median lead time 1 d 19 h"]
    assert lead.data["seconds"] == 157200 and lead.data["events"] == 7
    assert lead.data["definition"].startswith("lead time for changes: for each commit, from its commit date")
    assert by_summary["median recovery time 1 h 55 min"].data["events"] == 2
    deploys = [e for e in f.evidence if e.kind == "commit" and e.data.get("kind")]
    assert [(e.commit, e.data["commits_deployed"]) for e in deploys] == [(c["feature"], 2), (c["release"], 5)]
    assert [e.timestamp for e in deploys] == ["2024-01-02T09:00:00+00:00", "2024-01-06T09:00:00+00:00"]
    restored = [e for e in f.evidence if e.data.get("broken_commit")]
    assert [(e.commit, e.data["recovery_seconds"]) for e in restored] == [(c["revert"], 1815), (c["fix"], 12000)]


def test_no_events_says_so_and_stays_manual(make_repo) -> None:
    repo = make_repo()
    repo.write("app.py", "a = 1\n").commit("add app")
    (f,) = run_check(ID, repo.path)
    assert f.outcome is Outcome.MANUAL and "no deployment events" in f.reason
    assert all("not measurable" in e.summary for e in f.evidence if e.kind == "metric")


def test_not_a_repository_is_could_not_check(tmp_path: Path) -> None:
    (f,) = run_check(ID, tmp_path)
    assert f.outcome is Outcome.COULD_NOT_CHECK


def test_evidence_only_mapping_neither_meets_nor_holds_back(project) -> None:
    repo, _ = project
    catalogue = load_catalogue()
    assert ID in catalogue.check_ids()
    assert {c.id for c in catalogue.criteria_for(ID)} == {"UN-3", "CI-2", "PR-1"}
    findings = run_check(ID, repo.path)
    # Alone in scope, it puts neither CI-2 nor PR-1 in scope: they stay out of scope, not met by it.
    criteria, _ = grade(catalogue, findings, {ID})
    status = {r.criterion.id: r for r in criteria}
    assert status["CI-2"].status == status["PR-1"].status == "out_of_scope"
    assert status["UN-3"].status == "assessor"
    # With every check in scope, its MANUAL finding never holds CI-2 or PR-1 back.
    criteria, _ = grade(catalogue, findings, catalogue.check_ids())
    for r in criteria:
        if r.criterion.id in ("CI-2", "PR-1"):
            assert all(ref["check_id"] != ID for ref in r.held_back_by)


def test_reports_attach_it_to_ci2_and_pr1_as_evidence_not_graded(project, tmp_path: Path) -> None:
    from harness.cli import main

    repo, _ = project
    out = tmp_path / "out"
    args = ["verify", "--repo", str(repo.path), "--out", str(out), "--format", "html", "--format", "json"]
    main([*args, "--only", ID, "--only", "repo.pipeline-deploy", "--only", "repo.fix-commits"])
    html = (out / "harness-report.html").read_text()
    ci2 = html[html.index('id="crit-CI-2"') : html.index('id="crit-CI-3"')]
    assert "Evidence, not graded" in ci2 and ID in ci2
    doc = json.loads((out / "harness-report.json").read_text())
    ci2_doc = next(c for c in doc["criteria"] if c["id"] == "CI-2")
    assert ci2_doc["evidence_only"] == [ID] and ID not in ci2_doc["checks"]
    assert ci2_doc["status"] != "met"  # pipeline-deploy fails on this project; the metrics change nothing


def test_release_commits_count_only_when_nothing_is_tagged(make_repo) -> None:
    repo = make_repo()
    app = repo.write("app.py", "a = 1\n").commit("add app", date="2024-02-01T10:00:00+00:00")
    rel = repo.write("CHANGELOG.md", "1.0\n").commit("chore(release): 1.0.0", date="2024-02-01T11:00:01+00:00")
    d = delivery.measure(git_history.load(repo.path))
    assert [(e.kind, e.sha) for e in d.events] == [("release commit", rel)]
    assert d.lead_times == {app: 3601, rel: 0}
    # Released on a branch, merged, and the merge tagged: one deployment (the tag), not two.
    repo.git("checkout", "-q", "-b", "release-2")
    rel2 = repo.write("CHANGELOG.md", "2.0\n").commit("Release 2.0.0", date="2024-02-03T10:00:00+00:00")
    repo.git("checkout", "-q", "main")
    git(repo.path, "merge", "-q", "--no-ff", "release-2", "-m", "Merge release 2", env=_at("2024-02-03T10:05:00+00:00"))
    git(repo.path, "tag", "-a", "v2.0.0", "-m", "2.0.0", "HEAD", env=_at("2024-02-03T10:06:00+00:00"))
    d = delivery.measure(git_history.load(repo.path))
    assert [(e.name, e.kind) for e in d.events] == [("v2.0.0", "tag")]
    assert d.lead_times[rel2] == 360 and d.lead_times[app] == 172800 + 360


def test_band_placement_names_the_gap_the_report_leaves() -> None:
    assert delivery.band("recovery_time", 3599) == "DORA 2024: elite (less than one hour)"
    assert delivery.band("recovery_time", 3 * 86400).startswith("DORA 2024: between high")
    assert delivery.band("recovery_time", 8 * 86400) == "DORA 2024: low (between one week and one month)"
    assert delivery.band("lead_time", 400 * 86400) == "DORA 2024: slower than every published band"
    assert delivery.bands()["source"]["url"].startswith("https://dora.dev/")
