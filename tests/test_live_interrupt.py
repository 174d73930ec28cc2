"""Interrupting a run while a drill has disturbed the target: the restore runs, the reports say what happened.

A real `python -m harness verify` process, a real Prometheus (an alert rule that never fires in time),
and fault/restore commands that create and remove a file; SIGINT or SIGTERM arrives while injected.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.model import Outcome
from tests.livehelpers import AppBehaviour, running, serve_app
from tests.promhelpers import Server, start_prometheus

ROOT = Path(__file__).resolve().parents[1]
SLOW_RULE = """
groups:
  - name: drills
    rules:
      - alert: NeverInTime
        expr: vector(1) > 2
        for: 10m
"""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory):
    prom = start_prometheus(tmp_path_factory.mktemp("prom"), {}, SLOW_RULE)
    try:
        yield prom
    finally:
        prom.stop()


def _toml_list(argv: list[str]) -> str:
    return "[" + ", ".join(json.dumps(a) for a in argv) + "]"


def interrupted_run(tmp_path: Path, make_repo, config: str, only: str, started: Path, signum: int) -> dict:
    """Start harness verify, wait until `started` exists, send `signum`, return the JSON report."""
    repo = make_repo()
    repo.write("README.md", "# drill\n").commit()
    (tmp_path / "harness.toml").write_text(config)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "verify",
        "--repo",
        str(repo.path),
        "--config",
        str(tmp_path / "harness.toml"),
    ]
    cmd += ["--only", only, "--format", "json", "--format", "terminal", "--out", str(out), "--gate", "none"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 60
        while not started.exists() and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
        assert started.exists(), "the drill never started: " + (proc.stderr.read() if proc.poll() is not None else "")
        time.sleep(0.5)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "INCOMPLETE" in stdout
    report = json.loads((out / "harness-report.json").read_text())
    assert report["run"]["complete"] is False
    assert report["run"]["interrupted_by"] == signal.Signals(signum).name
    return next(c for c in report["checks"] if c["id"] == only)


@pytest.mark.live
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_fault_drill_restores_and_reports(tmp_path, make_repo, prometheus: Server, signum):
    injected = tmp_path / "INJECTED"
    py = sys.executable
    with running(serve_app(host_name="127.0.0.1")) as app:  # sampled during the fault: healthy, yet not judged
        config = f"""
[live]
urls = ["{app.url}"]
prometheus_url = "{prometheus.url}"

[live.availability]
rate_per_s = 10

[live.fault]
command = {_toml_list([py, "-c", f"open({str(injected)!r}, 'w').write('fault')"])}
restore_command = {_toml_list([py, "-c", f"import os; os.remove({str(injected)!r})"])}
alert = "NeverInTime"
timeout_s = 300
"""
        check = interrupted_run(tmp_path, make_repo, config, "live.alert-fires", injected, signum)
    assert not injected.exists(), "the restore command did not run before harness exited"
    assert check["status"] == "finished", check
    reasons = " | ".join(f["outcome"] + ": " + f["reason"] for f in check["findings"])
    assert "not run" not in reasons
    assert all(f["outcome"] != "pass" for f in check["findings"]), reasons
    cut = [f for f in check["findings"] if f["outcome"] == "could_not_check" and "interrupted" in f["reason"]]
    assert cut and "the restore command ran" in cut[0]["reason"], reasons
    timeline = next(e for e in cut[0]["evidence"] if e["summary"] == "fault timeline")["excerpt"]
    assert "fault command: exit code 0" in timeline and "restore command: exit code 0" in timeline


@pytest.mark.live
def test_interrupted_redeploy_is_reported_not_abandoned(tmp_path, make_repo):
    started, done = tmp_path / "REDEPLOYING", tmp_path / "REDEPLOYED"
    script = f"open({str(started)!r}, 'w').close(); import time; time.sleep(3); open({str(done)!r}, 'w').close()"
    with running(serve_app(behaviour=AppBehaviour(instance="app-1"), host_name="127.0.0.1")) as app:
        config = f"""
[live]
urls = ["{app.url}"]

[live.redeploy]
command = {_toml_list([sys.executable, "-c", script])}
timeout_s = 60
"""
        check = interrupted_run(tmp_path, make_repo, config, "live.immutable-redeploy", started, signal.SIGINT)
    assert done.exists(), "harness exited while the redeploy command was still running"
    assert check["status"] == "finished", check
    reasons = " | ".join(f["outcome"] + ": " + f["reason"] for f in check["findings"])
    assert "not run" not in reasons
    # The same instance served before and after: the redeploy was observed and judged, not dropped.
    assert any(f["outcome"] == "fail" and "not replaced" in f["reason"] for f in check["findings"]), reasons


@pytest.mark.live
def test_interrupted_canary_wait_is_not_a_failure(tmp_path):
    """The engine now awaits an interrupted canary check: its cut-short wait must not read as a failed deploy."""
    import threading

    from harness.checks.base import load_all
    from tests.conftest import context_for
    from tests.promhelpers import App
    from tests.test_live_source_to_user import make_remote, s2u_config

    app = App(tmp_path / "app").start()
    try:
        remote = make_remote(tmp_path, app, deploys=False)
        ctx = context_for(tmp_path, s2u_config(tmp_path, app, remote, timeout=60), "live.source-to-user")
        threading.Timer(1.5, ctx.shared.cancel.set).start()
        (lead,) = list(load_all()["live.source-to-user"].fn(ctx))
    finally:
        app.stop()
    assert lead.outcome == Outcome.COULD_NOT_CHECK, lead.reason
    assert "interrupted" in lead.reason
