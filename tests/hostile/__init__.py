"""The hostile-project suite: projects written by an author who wants a better grade.

Each case builds a project (and, for live cases, the servers it points at), runs
`python -I -m harness verify` on it in a separate process with its working directory
outside the project, and judges the run from the outside:

- no code from the project ran (a trap writes `marker`; the file must not exist);
- no planted secret reaches stdout, stderr or any report file;
- no crash (exit code 0 or 1, no traceback on stderr);
- the case's own expectation on the JSON report (no false pass);
- within its deadline and under the memory cap (peak RSS of the harness process).

Cases live in one module per area (`trust_cases.py`, `isolation_cases.py`,
`live_cases.py`, ...), each exporting `CASES`. `tests/test_hostile.py` runs them all;
`bench/bench_hostile.py` prints the table (case, outcome, wall, peak RSS).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CAP_BYTES = 1_000_000_000


@dataclass
class Env:
    """What a case's `build` gets: a project folder, a marker path, a place for cleanups."""

    project: Path  # an empty folder; build writes the project here (and may `git init` it)
    work: Path  # a scratch folder outside the project (servers' files, operator config)
    marker: Path  # a trap writes here if it ever runs; must not exist after the run
    stack: contextlib.ExitStack  # register cleanups (servers) here


@dataclass
class HostileCase:
    name: str
    vector: str  # code-execution | false-pass | leak | crash | resources
    build: Callable[[Env], list[str]]  # builds the project; returns extra `harness verify` arguments
    # Given the parsed JSON report (None if none was written), returns None when the outcome is
    # the expected one, else a sentence saying what went wrong.
    expect: Callable[[dict[str, Any] | None], str | None] = lambda report: None
    secrets: tuple[str, ...] = ()  # planted values that must appear in no output
    deadline_s: float = 60.0
    exit_codes: tuple[int, ...] = (0, 1)  # 2 is right for a refused configuration


@dataclass
class Result:
    case: str
    vector: str
    problems: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    peak_rss_bytes: int = 0

    @property
    def outcome(self) -> str:
        return "ok" if not self.problems else "; ".join(self.problems)


def git(repo: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="Mallory",
        GIT_AUTHOR_EMAIL="mallory@example.org",
        GIT_COMMITTER_NAME="Mallory",
        GIT_COMMITTER_EMAIL="mallory@example.org",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_SYSTEM="/dev/null",
    )
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, timeout=60)
    if proc.returncode:
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def commit_all(repo: Path, message: str = "work") -> None:
    if not (repo / ".git").exists():
        git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)


def findings(report: dict[str, Any] | None, check_id: str) -> list[dict[str, Any]]:
    if not report:
        return []
    for check in report.get("checks", []):
        if check.get("id") == check_id:
            return list(check.get("findings", []))
    return []


def outcomes(report: dict[str, Any] | None, check_id: str) -> set[str]:
    return {f["outcome"] for f in findings(report, check_id)}


def criterion_status(report: dict[str, Any] | None, criterion_id: str) -> str:
    for c in (report or {}).get("criteria", []):
        if c.get("id") == criterion_id:
            return str(c.get("status"))
    return "absent"


def no_pass(check_id: str) -> Callable[[dict[str, Any] | None], str | None]:
    """Expect: the check ran and gave no pass (fail or could-not-check are both honest)."""

    def judge(report: dict[str, Any] | None) -> str | None:
        got = outcomes(report, check_id)
        if not got:
            return f"{check_id} has no finding"
        return f"false pass: {check_id} {sorted(got)}" if "pass" in got else None

    return judge


def fails(check_id: str) -> Callable[[dict[str, Any] | None], str | None]:
    def judge(report: dict[str, Any] | None) -> str | None:
        got = outcomes(report, check_id)
        return None if "fail" in got else f"{check_id} did not fail: {sorted(got)}"

    return judge


def all_cases() -> list[HostileCase]:
    out: list[HostileCase] = []
    for mod in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if mod.name.endswith("_cases"):
            out.extend(importlib.import_module(f"{__name__}.{mod.name}").CASES)
    return out


def run_case(case: HostileCase, tmp: Path) -> Result:
    result = Result(case.name, case.vector)
    project, work, out = tmp / "project", tmp / "work", tmp / "out"
    for d in (project, work, out):
        d.mkdir(parents=True, exist_ok=True)
    marker = tmp / "MARKER-code-ran"
    with contextlib.ExitStack() as stack:
        args = case.build(Env(project, work, marker, stack))
        # -P: the working folder is not on sys.path; PYTHONPATH names this checkout's harness.
        cmd = [sys.executable, "-P", "-s", "-m", "harness", "verify", "--repo", str(project), "--out", str(out)]
        cmd += ["--format", "json", "--format", "html", "--format", "junit", "--format", "sarif", *args]
        if "--gate" not in args:
            cmd += ["--gate", "none"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTHON"))}
        env["PYTHONPATH"] = str(ROOT)
        stdout_f, stderr_f = work / "stdout.txt", work / "stderr.txt"
        t0 = time.monotonic()
        with stdout_f.open("wb") as so, stderr_f.open("wb") as se:
            proc = subprocess.Popen(cmd, cwd=work, stdout=so, stderr=se, stdin=subprocess.DEVNULL, env=env)
            rusage = None
            deadline = t0 + case.deadline_s
            while True:
                pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    code = os.waitstatus_to_exitcode(status)
                    break
                if time.monotonic() > deadline:
                    proc.send_signal(signal.SIGKILL)
                    _, status, rusage = os.wait4(proc.pid, 0)
                    code = None
                    break
                time.sleep(0.05)
            proc.returncode = code if code is not None else -9
        result.wall_s = time.monotonic() - t0
        result.peak_rss_bytes = rusage.ru_maxrss * 1024 if rusage else 0
    if code is None:
        result.problems.append(f"over its {case.deadline_s:.0f} s deadline")
    elif code not in case.exit_codes:
        result.problems.append(f"exit code {code}")
    stderr = stderr_f.read_text(errors="replace")
    if "Traceback (most recent call last)" in stderr:
        result.problems.append("traceback: " + stderr.strip().splitlines()[-1][:200])
    if result.peak_rss_bytes > MEMORY_CAP_BYTES:
        result.problems.append(f"peak RSS {result.peak_rss_bytes / 1e6:.0f} MB")
    if marker.exists():
        result.problems.append("project code ran on the verifier's machine")
    outputs = [stdout_f, stderr_f, *(p for p in out.rglob("*") if p.is_file())]
    for secret in case.secrets:
        for path in outputs:
            if secret in path.read_text(errors="replace"):
                result.problems.append(f"secret leaked into {path.name}")
                break
    report_path = out / "harness-report.json"
    report = None
    if report_path.is_file():
        with contextlib.suppress(ValueError):
            report = json.loads(report_path.read_text())
    verdict = case.expect(report)
    if verdict:
        result.problems.append(verdict)
    return result
