"""SARIF 2.1.0: structure, rules, located results, waivers as suppressions."""

from __future__ import annotations

import json
from pathlib import Path

from harness.reports import sarif
from tests.test_reports_common import WAIVER_NOTE, synthetic_doc


def _run(tmp_path: Path) -> dict:
    log = json.loads(sarif.render(synthetic_doc(tmp_path)))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert len(log["runs"]) == 1
    return log["runs"][0]


def test_rules_one_per_check(tmp_path: Path) -> None:
    run = _run(tmp_path)
    driver = run["tool"]["driver"]
    assert driver["name"] == "harness" and driver["version"]
    rules = {r["id"]: r for r in driver["rules"]}
    assert len(rules) == len(driver["rules"])
    rule = rules["repo.gitignore"]
    assert rule["shortDescription"]["text"] == "repo.gitignore title"
    assert rule["fullDescription"]["text"] == "repo.gitignore proves something"
    assert rule["help"]["text"] == "fix repo.gitignore"
    assert "CQ-1" in rule["properties"]["criteria"]


def test_results_point_at_files(tmp_path: Path) -> None:
    run = _run(tmp_path)
    rules = run["tool"]["driver"]["rules"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    # every fail and warn becomes a result; the URL-only live finding is a repository-level result
    assert set(by_rule) == {"repo.gitignore", "repo.secrets", "repo.commit-size", "live.tls"}
    root = by_rule["live.tls"]["locations"][0]
    assert root["physicalLocation"]["artifactLocation"] == {"uri": "no file associated with this alert"}
    assert "https://" in root["message"]["text"]
    gitignore = by_rule["repo.gitignore"]
    assert gitignore["level"] == "error" and rules[gitignore["ruleIndex"]]["id"] == "repo.gitignore"
    loc = gitignore["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "src/a%20b.py", "uriBaseId": "SRCROOT"}
    assert loc["region"]["startLine"] == 3 and loc["region"]["endLine"] == 7
    assert by_rule["repo.commit-size"]["level"] == "warning"
    assert "region" not in by_rule["repo.commit-size"]["locations"][0]["physicalLocation"]
    assert run["properties"]["findingsWithoutFileLocation"] == 1


def test_waived_finding_is_suppressed(tmp_path: Path) -> None:
    run = _run(tmp_path)
    secrets = next(r for r in run["results"] if r["ruleId"] == "repo.secrets")
    assert secrets["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": WAIVER_NOTE,
            "properties": {"approver": "Tutor", "expires": "2099-12-31"},
        }
    ]
    assert all("suppressions" not in r for r in run["results"] if r["ruleId"] != "repo.secrets")


def test_could_not_check_is_a_notification_not_a_result(tmp_path: Path) -> None:
    run = _run(tmp_path)
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any(n["associatedRule"]["id"] == "repo.unit-tests" for n in notes)
    assert all(r["ruleId"] != "repo.unit-tests" for r in run["results"])
    assert run["invocations"][0]["executionSuccessful"] is True


def test_paths_outside_the_repository_are_not_located() -> None:
    assert sarif._relative_uri("../etc/passwd", "/repo") is None
    assert sarif._relative_uri("/etc/passwd", "/repo") is None
    assert sarif._relative_uri("/repo/src/x.py", "/repo") == "src/x.py"
    assert sarif._relative_uri("src\\win.py", "/repo") == "src/win.py"
