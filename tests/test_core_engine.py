"""The engine never lets one check sink the run."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.checks.base import Check, CheckMeta
from harness.config import Config
from harness.context import Shared
from harness.engine import run_checks, run_one
from harness.model import Finding, Outcome


def make(cid: str, fn, timeout: float = 5.0, exclusive: bool = False, order: int = 0) -> Check:
    meta = CheckMeta(
        id=cid,
        title=cid,
        failure_title=cid,
        proves="p",
        remediation="r",
        source="repository",
        timeout=timeout,
        exclusive=exclusive,
        order=order,
    )
    return Check(meta=meta, fn=fn)


def ok(ctx):
    yield Finding(ctx.check_id, Outcome.PASS, "fine")


def crash(ctx):
    raise RuntimeError("boom")
    yield  # pragma: no cover


def hang(ctx):
    time.sleep(30)
    yield Finding(ctx.check_id, Outcome.PASS, "too late")


def nothing(ctx):
    return []


def shared(tmp_path: Path) -> Shared:
    return Shared(config=Config(base_dir=tmp_path))


def test_crash_and_overrun_become_could_not_check_and_others_survive(tmp_path):
    checks = [make("t.ok", ok), make("t.crash", crash), make("t.hang", hang, timeout=0.5), make("t.none", nothing)]
    t0 = time.monotonic()
    out = run_checks(checks, shared(tmp_path), concurrency=4)
    assert time.monotonic() - t0 < 5
    by_id = {r.check.meta.id: r for r in out.results}
    assert by_id["t.ok"].outcome is Outcome.PASS
    assert by_id["t.crash"].outcome is Outcome.COULD_NOT_CHECK
    assert by_id["t.crash"].status == "crashed"
    assert "RuntimeError: boom" in by_id["t.crash"].findings[0].reason
    assert by_id["t.hang"].status == "timed_out"
    assert "0.5 s deadline" in by_id["t.hang"].findings[0].reason
    assert by_id["t.none"].outcome is Outcome.COULD_NOT_CHECK  # no finding is no verdict
    assert out.complete


def test_checks_run_concurrently(tmp_path):
    def slow(ctx):
        time.sleep(0.5)
        yield Finding(ctx.check_id, Outcome.PASS, "slow")

    checks = [make(f"t.slow{i}", slow) for i in range(8)]
    t0 = time.monotonic()
    run_checks(checks, shared(tmp_path), concurrency=8)
    assert time.monotonic() - t0 < 2.0  # 8 x 0.5 s serially would be 4 s


def test_exclusive_checks_run_alone_and_in_order(tmp_path):
    log: list[str] = []
    active = [0]
    lock = threading.Lock()

    def tracked(name: str, delay: float):
        def fn(ctx):
            with lock:
                active[0] += 1
                log.append(f"{name}:{active[0]}")
            time.sleep(delay)
            with lock:
                active[0] -= 1
            yield Finding(ctx.check_id, Outcome.PASS, name)

        return fn

    checks = [
        make("t.x2", tracked("x2", 0.05), exclusive=True, order=2),
        make("t.a", tracked("a", 0.2)),
        make("t.x1", tracked("x1", 0.05), exclusive=True, order=1),
        make("t.b", tracked("b", 0.2)),
    ]
    run_checks(checks, shared(tmp_path), concurrency=4)
    assert log[-2:] == ["x1:1", "x2:1"]  # after the concurrent ones, alone, in order


def test_concurrent_checks_start_in_order_then_as_listed_and_report_as_listed(tmp_path):
    started: list[str] = []

    def record(ctx):
        started.append(ctx.check_id)
        yield Finding(ctx.check_id, Outcome.PASS, "ran")

    checks = [make("t.a", record), make("t.b", record), make("t.long", record, order=-1), make("t.c", record)]
    out = run_checks(checks, shared(tmp_path), concurrency=1)
    assert started == ["t.long", "t.a", "t.b", "t.c"]  # a long check (negative order) is not left to the end
    assert [r.check.meta.id for r in out.results] == ["t.a", "t.b", "t.long", "t.c"]


def test_cancel_marks_the_run_incomplete_and_keeps_finished_results(tmp_path):
    sh = shared(tmp_path)
    checks = [make("t.ok", ok), make("t.hang", hang, timeout=20)] + [make(f"t.later{i}", ok) for i in range(3)]
    threading.Timer(0.5, sh.cancel.set).start()
    t0 = time.monotonic()
    out = run_checks(checks, sh, concurrency=1)
    assert time.monotonic() - t0 < 5
    assert not out.complete
    by_id = {r.check.meta.id: r for r in out.results}
    assert by_id["t.ok"].outcome is Outcome.PASS
    assert by_id["t.hang"].status == "not_run"
    assert by_id["t.later0"].status == "not_run"
    assert by_id["t.later0"].outcome is Outcome.COULD_NOT_CHECK


def test_results_keep_the_requested_order(tmp_path):
    checks = [make(f"t.{i}", ok) for i in range(20)]
    out = run_checks(checks, shared(tmp_path), concurrency=5)
    assert [r.check.meta.id for r in out.results] == [c.meta.id for c in checks]


def spin(ctx):
    n = 0
    while True:  # pure Python, never polls the deadline
        n += 1
    yield Finding(ctx.check_id, Outcome.PASS, "never")  # pragma: no cover


def spin_swallowing(ctx):
    while True:  # a probe loop that survives any Exception must still stop
        with contextlib.suppress(Exception):
            sum(range(1000))
    yield Finding(ctx.check_id, Outcome.PASS, "never")  # pragma: no cover


def spin_child(ctx):
    from harness import sandbox

    proc = sandbox.popen([sys.executable, "-c", "while True: pass"])
    ctx.shared.child_pid = proc.pid  # type: ignore[attr-defined]
    proc.wait(3600)
    yield Finding(ctx.check_id, Outcome.PASS, "never")


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("fn", [spin, spin_swallowing], ids=["spin", "spin-swallowing-exceptions"])
def test_an_overrun_check_stops_using_cpu(tmp_path, fn):
    s = shared(tmp_path)
    result = run_one(make("t.spin", fn, timeout=0.5), s, 0.5)
    assert result.status == "timed_out"
    time.sleep(0.3)  # the thread gets the exception at its next bytecode
    assert not any(t.name == "check:t.spin" and t.is_alive() for t in threading.enumerate())
    before = time.process_time()
    time.sleep(1.0)
    assert time.process_time() - before < 0.3  # an abandoned spinning thread would use ~1 s


def test_an_overrun_check_has_its_processes_killed(tmp_path):
    s = shared(tmp_path)
    result = run_one(make("t.child", spin_child, timeout=1.0), s, 1.0)
    assert result.status == "timed_out"
    pid = s.child_pid  # type: ignore[attr-defined]
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            break
        if state == "Z":
            break
        time.sleep(0.05)
    else:
        cpu = _cpu_of(pid)
        os.kill(pid, 9)
        raise AssertionError(f"the check's process still runs ({cpu:.1f} s CPU)")
