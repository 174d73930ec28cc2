"""live.pulumi-state on Pulumi state fixtures written by apitype's format (CheckpointV3, UpdateInfo, export)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from harness.config import Config
from harness.model import Finding, Outcome
from tests.conftest import run_check

FIXTURES = Path(__file__).parent / "fixtures" / "pulumi"
STACK = "webapp/dev"


def check_state(tmp_path: Path, state: Path) -> dict[str | None, Finding]:
    cfg = Config(base_dir=tmp_path)
    cfg.live.pulumi_state = str(state)
    return {f.subject: f for f in run_check("live.pulumi-state", tmp_path, cfg)}


def test_file_backend_shows_replaced_container_and_history(tmp_path: Path) -> None:
    found = check_state(tmp_path, FIXTURES / "file-backend")
    replaced = found[STACK]
    assert replaced.outcome == Outcome.PASS, replaced.reason
    assert "replaced app a1a1a1a1a1a1 -> b2b2b2b2b2b2" in replaced.reason
    compute = replaced.evidence[1].data["compute"]
    assert compute[0]["created_before"] != compute[0]["created_after"]
    history = found[f"{STACK} history"]
    assert history.outcome == Outcome.PASS
    assert "replace 1" in history.reason and "1 replacement(s) over 2 updates" in history.reason
    backend = found["backend"]
    same_disk = os.stat(FIXTURES).st_dev == os.stat("/").st_dev
    assert backend.outcome == (Outcome.WARN if same_disk else Outcome.PASS)


def test_in_place_update_warns(tmp_path: Path) -> None:
    copy = tmp_path / "state"
    shutil.copytree(FIXTURES / "file-backend", copy)
    hist = copy / ".pulumi" / "history" / "webapp" / "dev"
    newest = sorted(hist.glob("*.checkpoint.json"))[-1]
    oldest = sorted(hist.glob("*.checkpoint.json"))[0]
    doc = json.loads(oldest.read_text())
    for res in doc["checkpoint"]["latest"]["resources"]:
        if res["type"] == "docker:index/container:Container":
            res["modified"] = "2026-11-03T00:00:00.000000Z"  # same id and created, modified later
    newest.write_text(json.dumps(doc))
    (copy / ".pulumi" / "stacks" / "webapp" / "dev.json").write_text(json.dumps(doc))
    found = check_state(tmp_path, copy)
    assert found[STACK].outcome == Outcome.WARN and "in place" in found[STACK].reason


def test_stack_export_lists_compute_and_asks_for_backend(tmp_path: Path) -> None:
    found = check_state(tmp_path, FIXTURES / "stack-export.json")
    assert found["backend"].outcome == Outcome.MANUAL
    stack = next(f for s, f in found.items() if s != "backend")
    assert stack.outcome == Outcome.MANUAL and "1 compute resource" in stack.reason


def test_malformed_state_names_the_file(tmp_path: Path) -> None:
    found = check_state(tmp_path, FIXTURES / "malformed.json")
    (only,) = found.values()
    assert only.outcome == Outcome.COULD_NOT_CHECK
    assert "malformed.json" in only.reason and "not valid JSON" in only.reason


def test_not_configured(tmp_path: Path) -> None:
    (only,) = run_check("live.pulumi-state", tmp_path, Config(base_dir=tmp_path))
    assert only.outcome == Outcome.COULD_NOT_CHECK and "live.pulumi_state" in only.reason
