"""End to end: bring the lab up on the local Docker engine (bootstrapping the base image if missing) and run
`harness verify` with every check against it. The lab is shared with the e2e modules that follow and taken
down after the last (tests/lab_session.py; images and the database volume stay, so the next run is warm).
Other engineers' checks may still be in progress: the live checks this lab exists to satisfy must pass;
every other check's outcome is printed for the report, not asserted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.lab.settings import DSN_ENV, Paths
from tests.lab_session import harness

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

# The live checks the lab is built to pass, when they exist in the registry.
LAB_CHECKS = {
    "live.health",
    "live.tls",
    "live.https-redirect",
    "live.metrics",
    "live.custom-metrics",
    "live.prometheus-targets",
    "live.alert-rules",
    "live.alertmanager",
    "live.alert-fires",
    "live.availability",
    "live.load",
    "live.persistence",
    "live.immutable-redeploy",
    "live.source-to-user",
    "live.db-tls",
}


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=10).ping()
        return True
    except Exception:
        return False


ASSESSOR_CRITERIA = {"CQ-4", "UN-3", "CI-3", "OP-D2", "DP-2", "DS-2"}


# In CI the engine is part of the set-up (run.sh starts it): a missing engine fails there, never skips.
@pytest.mark.skipif(not docker_available() and not os.environ.get("CI"), reason="needs a Docker engine")
def test_lab_reaches_the_grade_with_every_live_check_passing(tmp_path: Path, lab: Paths) -> None:
    paths = lab
    env = dict(os.environ)
    env[DSN_ENV] = paths.db_env.read_text(encoding="utf-8").split("=", 1)[1].strip()
    out = tmp_path / "report"
    verify = harness(
        "verify",
        "--repo",
        str(paths.repo),
        "--config",
        str(paths.config),
        "--format",
        "json",
        "--out",
        str(out),
        timeout=1200,
        env=env,
    )
    assert verify.returncode in (0, 1), verify.stderr[-4000:]
    doc = json.loads((out / "harness-report.json").read_text(encoding="utf-8"))
    outcomes = {c["id"]: c["outcome"] for c in doc["checks"]}
    print(f"\ngrade: {doc['grade']['value']}")
    for check_id, outcome in sorted(outcomes.items()):
        print(f"  {outcome:16} {check_id}")
    failing_lab = {c: outcomes[c] for c in LAB_CHECKS & outcomes.keys() if outcomes[c] not in ("pass", "warn")}
    assert not failing_lab, f"live checks the lab should pass: {failing_lab}"
    # The reference project reaches Distinction on every automatable criterion; only the criteria an
    # assessor decides ("Explains ...") remain, so the grade is Distinction and provisional.
    by_status: dict[str, list[str]] = {}
    for crit in doc["criteria"]:
        by_status.setdefault(crit["status"], []).append(crit["id"])
    held = {c["id"]: c["held_back_by"] for c in doc["criteria"] if c["status"] in ("not_met", "undetermined")}
    assert not held, f"criteria held back: {held}"
    assert set(by_status) == {"met", "assessor"}, by_status
    assert set(by_status["assessor"]) == ASSESSOR_CRITERIA
    assert doc["grade"]["value"] == "distinction", doc["grade"]["summary"]
    assert doc["grade"]["provisional"] is True
    assert doc["run"]["complete"] is True and verify.returncode == 0
