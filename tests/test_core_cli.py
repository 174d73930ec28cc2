"""The CLI contract: exit codes, one-line errors, reports written even when interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def harness(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )


def one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def small_repo(make_repo):
    repo = make_repo()
    repo.write(".gitignore", ".venv/\n").write("app.py", "print('hi')\n").commit("init")
    return repo.path


def test_exit_0_when_gate_reached(small_repo, tmp_path):
    proc = harness(
        "verify",
        "--repo",
        str(small_repo),
        "--only",
        "repo.gitignore",
        "--format",
        "json",
        "--out",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "out" / "harness-report.json").read_text())
    assert doc["run"]["gate_reached"] is True
    assert doc["grade"]["provisional"] is True


def test_exit_1_when_gate_not_reached(make_repo, tmp_path):
    repo = make_repo()
    repo.write("app.py", "print('hi')\n").commit("init")  # no .gitignore: CQ-1 not met
    proc = harness(
        "verify",
        "--repo",
        str(repo.path),
        "--only",
        "repo.gitignore",
        "--format",
        "json",
        "--out",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 1
    doc = json.loads((tmp_path / "out" / "harness-report.json").read_text())
    assert doc["grade"]["value"] == "fail"
    assert "CQ-1" in doc["grade"]["not_met"]


def test_gate_distinction_and_none(small_repo, tmp_path):
    base = ["verify", "--repo", str(small_repo), "--format", "json", "--out", str(tmp_path / "o")]
    # Nothing configured for the live checks: undetermined, which reaches no grade gate...
    assert harness(*base, "--gate", "distinction").returncode == 1
    # ...but `--gate none` only reports.
    assert harness(*base, "--gate", "none").returncode == 0


@pytest.mark.parametrize(
    "toml,needle",
    [
        ("[live]\nurlz = []\n", "live.urlz: unknown key"),
        ("[live]\nurls = 'https://x'\n", "live.urls: expected list of string"),
        ("[run]\nconcurrency = 'many'\n", "run.concurrency: expected integer"),
        ("[run]\ngate = 'merit'\n", "run.gate: must be one of"),
        ("[live]\nca_bundle = 'missing.pem'\n", "live.ca_bundle: file not found"),
        ("[project\n", "invalid TOML"),
        ("[[waivers]]\ncheck = 1\n", ""),
    ],
)
def test_bad_configuration_is_one_line_exit_2(small_repo, toml, needle):
    (small_repo / "harness.toml").write_text(toml)
    # --trust-project: the project's own run.gate is taken (and so validated) only with the opt-in.
    args = ["--repo", str(small_repo), "--format", "json", "--out", str(small_repo / "o"), "--trust-project"]
    proc = harness("verify", *args)
    if needle:
        assert needle in one_line_error(proc)
    else:
        assert proc.returncode in (0, 1, 2) and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["verify", "--bogus"], "unrecognized arguments"),
        (["verify", "--format", "pdf"], "invalid choice"),
        (["verify", "--repo", "/definitely/not/here"], "--repo: not a folder"),
        (["verify", "--only", "repo.no-such-check"], "no check with id"),
        (["verify", "--url", "ftp://x"], "not an http(s) URL"),
        (["verify", "--config", "/nope/harness.toml"], "configuration file not found"),
        (["report", "/nope/run.json"], "cannot read"),
        ([], "required"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(small_repo, args, needle):
    assert needle in one_line_error(harness(*args, cwd=small_repo))


def test_report_rejects_garbage(tmp_path):
    bad = tmp_path / "run.json"
    bad.write_text("{not json")
    assert "not a harness JSON report" in one_line_error(harness("report", str(bad)))
    bad.write_text(json.dumps({"schema_version": "1.0"}))
    assert "not a harness JSON report" in one_line_error(harness("report", str(bad)))


def test_sigterm_still_writes_reports_marked_incomplete(small_repo, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, HARNESS_EXTRA_CHECKS="tests.plugins.slow_checks", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "verify",
            "--repo",
            str(small_repo),
            "--only",
            "test.quick",
            "--only",
            "test.forever",
            "--format",
            "json",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    doc = json.loads((out / "harness-report.json").read_text())
    assert doc["run"]["complete"] is False
    assert doc["run"]["interrupted_by"] == "SIGTERM"
    by_id = {c["id"]: c for c in doc["checks"]}
    assert by_id["test.quick"]["outcome"] == "pass"
    assert by_id["test.forever"]["outcome"] == "could_not_check"
    assert "INCOMPLETE" in doc["grade"]["summary"]


def test_init_writes_a_config_that_loads(small_repo):
    proc = harness("init", "--repo", str(small_repo))
    assert proc.returncode == 0, proc.stderr
    assert (small_repo / "harness.toml").is_file()
    assert "already exists" in one_line_error(harness("init", "--repo", str(small_repo)))
    proc = harness(
        "verify",
        "--repo",
        str(small_repo),
        "--only",
        "repo.gitignore",
        "--format",
        "json",
        "--out",
        str(small_repo / "o"),
    )
    assert proc.returncode == 0, proc.stderr


def test_secrets_in_urls_never_reach_the_report(small_repo, tmp_path):
    proc = harness(
        "verify",
        "--repo",
        str(small_repo),
        "--only",
        "repo.gitignore",
        "--format",
        "json",
        "--url",
        "https://user:hunter2secret@127.0.0.1:9/",
        "--out",
        str(tmp_path / "o"),
    )
    assert proc.returncode in (0, 1)
    text = (tmp_path / "o" / "harness-report.json").read_text()
    assert "hunter2secret" not in text
    assert "user:***@" in text
