"""`harness rehearse` end to end in a subprocess, against a real git repository and real loopback servers:
the test app (tests/promhelpers.py) deployed by a git remote's post-receive hook, and a real Prometheus
watching it for the alert drill. No Docker lab.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import read_run
from harness.reports.schema import validate_document
from tests.conftest import RepoBuilder
from tests.promhelpers import App, start_prometheus
from tests.test_live_prometheus import GOOD_RULES, wait_scraped
from tests.test_live_source_to_user import make_remote

ROOT = Path(__file__).resolve().parents[1]
ANSWER_TOKEN = "ghp_" + "R4" * 18  # a fake token a candidate might paste into an answer


def rehearse(*args: str, stdin: str = "", timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "rehearse", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def only_file(out: Path) -> Path:
    (path,) = sorted(out.glob("rehearsal-*.json"))
    return path


@pytest.fixture
def project(make_repo) -> RepoBuilder:
    repo = make_repo()
    repo.write("app.py", "print('hello')\n").commit("add app", date="2024-03-01T09:00:00+00:00")
    return repo


def test_unconfigured_steps_are_skipped_answers_noted_and_rehearsals_compared(project, tmp_path: Path) -> None:
    out = tmp_path / "rehearsals"
    first = rehearse("--repo", str(project.path), "--out", str(out), stdin=f"first answer\n{ANSWER_TOKEN}\n")
    assert first.returncode in (0, 1), first.stderr[-3000:]
    assert "Traceback" not in first.stderr
    path = only_file(out)
    doc = read_run(path)  # a run document: harness diff and harness report read it
    reh = doc["rehearsal"]
    steps = {s["key"]: s for s in reh["steps"]}
    assert list(steps) == ["preflight", "deployment", "redeploy", "drill"]
    for key, needs in (
        ("deployment", "live.source_to_user.remote"),
        ("redeploy", "live.redeploy.command"),
        ("drill", "live.fault.command"),
    ):
        assert steps[key]["status"] == "skipped" and needs in steps[key]["configure"], steps[key]
        assert f"skipped: configure {needs}" in first.stdout
    # The checks behind skipped steps still ran: could_not_check in the document, never a pass.
    outcomes = {c["id"]: c["outcome"] for c in doc["checks"]}
    assert outcomes["live.source-to-user"] == outcomes["live.alert-fires"] == "could_not_check"
    assert reh["not_measured"] == ["live_lead_time", "detect_time", "restore_time"]
    # No step waited for Enter (none could run); the answers, in the evidence pack's order (two per theme).
    assert [q["question"] for q in reh["questions"]] == [q["question"] for q in doc["evidence_pack"]["questions"]]
    assert len(reh["questions"]) == 16 and [q["answer"] for q in reh["questions"][:3]] == [
        "first answer",
        "ghp_***",
        "",
    ]
    assert ANSWER_TOKEN not in path.read_text()  # an answer is masked like any other text
    # The schema describes the section: a step without its time is refused.
    broken = json.loads(path.read_text()) | {"rehearsal": reh | {"steps": [{"key": "preflight"}]}}
    assert "rehearsal.steps[0]" in (validate_document(broken) or "")

    second = rehearse("--repo", str(project.path), "--out", str(out), "--yes", "--format", "html")
    assert second.returncode == first.returncode, second.stderr[-3000:]
    assert "Since the last rehearsal" in second.stdout and "no regression" in second.stdout
    files = sorted(out.glob("rehearsal-*.json"), key=lambda p: p.stat().st_mtime)
    assert len(files) == 2 and (out / "harness-report.html").is_file()
    assert all(q["answer"] == "" for q in json.loads(files[1].read_text())["rehearsal"]["questions"])
    diff = subprocess.run(
        [sys.executable, "-m", "harness", "diff", str(files[0]), str(files[1])],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert diff.returncode == 0 and "no regression" in diff.stdout


def test_out_that_is_a_file_is_one_line_before_any_step(project, tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder\n")
    done = rehearse("--repo", str(project.path), "--out", str(blocker), "--yes")
    assert done.returncode == 2 and "Traceback" not in done.stderr and "--out: not a folder" in done.stderr
    assert "[1/4]" not in done.stdout


def test_ctrl_c_at_a_prompt_stops_the_steps_left_and_still_writes_the_file(project, tmp_path: Path) -> None:
    config = tmp_path / "operator.toml"  # the deployment step is configured, so it waits for Enter
    config.write_text(
        '[live]\nurls = ["http://127.0.0.1:9"]\n[live.source_to_user]\nremote = "/nowhere"\nbranch = "deploy"\n'
    )
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "harness", "rehearse", "--repo", str(project.path), "--config", str(config)]
    argv += ["--out", str(out), "--only", "live.health", "--only", "live.source-to-user"]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    seen = b""
    end = time.monotonic() + 60
    assert proc.stdout is not None
    while b"press Enter" not in seen and time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if ready:
            seen += os.read(proc.stdout.fileno(), 4096)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=120)
    stdout = (seen + rest).decode()
    assert proc.returncode == 1 and b"Traceback" not in err, err[-3000:]
    doc = read_run(only_file(out))
    steps = {s["key"]: s for s in doc["rehearsal"]["steps"]}
    assert steps["deployment"]["status"] == "not_run" and doc["run"]["complete"] is False
    outcomes = {c["id"]: c["outcome"] for c in doc["checks"]}
    assert outcomes["live.source-to-user"] == "could_not_check"  # not run, never a pass
    assert "[2/4]" in stdout and "Questions: 16" in stdout


def test_a_reader_that_goes_away_still_leaves_the_rehearsal_file(project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "harness", "rehearse", "--yes", "--repo", str(project.path), "--out", str(out)]
    argv += ["--only", "repo.gitignore"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    proc.stdout.readline()  # `| head -1`: read the first line, then close the pipe
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err, err[-3000:]
    assert read_run(only_file(out))["rehearsal"]["questions"]


@pytest.mark.live
def test_deployment_and_drill_are_timed_and_recorded(project, tmp_path: Path) -> None:
    app = App(tmp_path / "app").start()
    prom = None
    try:
        remote = make_remote(tmp_path, app)
        prom = start_prometheus(tmp_path / "prom", {"app": [app.target]}, GOOD_RULES)
        wait_scraped(prom, 1)
        config = tmp_path / "operator.toml"
        config.write_text(
            f"""
[live]
urls = ["{app.url}"]
prometheus_url = "{prom.url}"

[live.fault]
command = {json.dumps(app.command("fault"))}
restore_command = {json.dumps(app.command("restore"))}
alert = "InstanceDown"
timeout_s = 60

[live.source_to_user]
remote = "{remote}"
branch = "deploy"
timeout_s = 30
poll_interval_s = 0.2
""",
            encoding="utf-8",
        )
        out = tmp_path / "out"
        only = ["live.health", "live.source-to-user", "live.immutable-redeploy", "live.alert-fires"]
        args = ["--repo", str(project.path), "--config", str(config), "--out", str(out), "--yes"]
        done = rehearse(*args, *[a for c in only for a in ("--only", c)])
    finally:
        app.stop()
        if prom is not None:
            prom.stop()
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-3000:]
    reh = read_run(only_file(out))["rehearsal"]
    steps = {s["key"]: s for s in reh["steps"]}
    assert steps["preflight"]["status"] == "pass" and steps["preflight"]["checks"] == ["live.health"]
    assert steps["deployment"]["status"] == "pass", steps["deployment"]
    assert steps["redeploy"]["status"] == "skipped" and "live.redeploy.command" in steps["redeploy"]["configure"]
    assert steps["drill"]["status"] in ("pass", "warn"), steps["drill"]  # one instance: users saw the fault (warn)
    figures = {m["metric"]: m for m in reh["figures"]}
    assert reh["not_measured"] == []
    lead, detect, restore = figures["live_lead_time"], figures["detect_time"], figures["restore_time"]
    assert 0.3 <= lead["seconds"] <= steps["deployment"]["seconds"]  # the hook "builds" for 0.3 s
    assert 0 < detect["seconds"] < 60 and 0 < restore["seconds"] < 60
    assert detect["seconds"] + restore["seconds"] <= steps["drill"]["seconds"]
    assert lead["band"].startswith("DORA 2024: elite") and restore["band"].startswith("DORA 2024: elite")
    assert all(m["definition"] for m in figures.values())
    assert "lead time to the user" in done.stdout and "restore time" in done.stdout
