"""Runs checks concurrently, each under a deadline; never lets one check sink the run.

A check that raises, or is still running at its deadline, becomes a
could-not-check finding. An overrunning check is stopped, not abandoned: the
processes it started are killed and CheckStopped is raised in its thread
(probes also poll `ctx.check_deadline()`), so it stops using CPU and memory.
Threads are daemons so that a check stuck in a C call cannot keep the process
alive; exclusive checks (those that disturb the target) run one at a time
after the concurrent ones.
"""

from __future__ import annotations

import ctypes
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from harness import sandbox
from harness.checks.base import Check
from harness.context import Context, DeadlineExceeded, Shared
from harness.model import Evidence, Finding, Outcome, now_iso, worst

MAX_FINDINGS_PER_CHECK = 500


@dataclass
class CheckResult:
    check: Check
    findings: list[Finding]
    started: str
    duration_s: float
    status: str = "finished"  # finished | crashed | timed_out | not_run

    @property
    def outcome(self) -> Outcome:
        counted = [f.outcome for f in self.findings if f.counts_against]
        if not counted and any(f.waiver for f in self.findings):
            return worst([f.outcome for f in self.findings])
        return worst(counted)

    def to_dict(self) -> dict[str, Any]:
        out = self.check.meta.to_dict()
        out.update(
            outcome=self.outcome.value,
            status=self.status,
            started=self.started,
            duration_s=round(self.duration_s, 4),
            findings=[f.to_dict() for f in self.findings],
        )
        return out


@dataclass
class RunOutcome:
    results: list[CheckResult] = field(default_factory=list)
    complete: bool = True
    interrupted_by: str | None = None


ProgressFn = Callable[[str, CheckResult | None], None]


def _could_not_check(check: Check, reason: str, evidence: list[Evidence] | None = None) -> Finding:
    return Finding(
        check_id=check.meta.id,
        outcome=Outcome.COULD_NOT_CHECK,
        reason=reason,
        evidence=evidence or [],
        remediation="Make the source this check reads reachable and readable, then run harness again.",
    )


def _collect(check: Check, ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    produced: Iterable[Finding] = check.fn(ctx) or []
    for item in produced:
        if not isinstance(item, Finding):
            raise TypeError(f"check yielded {type(item).__name__}, not a Finding")
        out.append(item)
        if len(out) >= MAX_FINDINGS_PER_CHECK:
            out.append(
                _could_not_check(check, f"stopped after {MAX_FINDINGS_PER_CHECK} findings; the rest were not collected")
            )
            break
    if not out:
        out.append(_could_not_check(check, "the check produced no finding"))
    return out


class CheckStopped(BaseException):
    """Raised asynchronously in an overrunning check's thread; a BaseException so `except Exception` in a
    probe's loop cannot swallow it and keep the thread running."""


EXCLUSIVE_RESTORE_GRACE_S = 30.0


class _Runner(threading.Thread):
    def __init__(self, check: Check, ctx: Context) -> None:
        super().__init__(name=f"check:{check.meta.id}", daemon=True)
        self.check = check
        self.ctx = ctx
        self.findings: list[Finding] | None = None
        self.error: BaseException | None = None
        self.tb: str = ""
        self.children = sandbox.Children()
        self._state = threading.Lock()
        self._running = True  # inside run()'s outer try: where a CheckStopped from stop() is caught
        self._stopped = False

    def run(self) -> None:
        try:
            try:
                with sandbox.bound(self.children):
                    self.findings = _collect(self.check, self.ctx)
            except BaseException as exc:
                self.error = exc
                self.tb = traceback.format_exc(limit=-3)
            with self._state:
                self._running = False
        except CheckStopped:
            pass  # stop() landed while the outcome was being recorded: the engine has given up on it already

    def stop(self) -> None:
        """Kill the check's processes and raise CheckStopped in its thread (once) at its next bytecode."""
        self.children.kill()
        with self._state:
            if self._running and not self._stopped and self.ident is not None:
                self._stopped = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.ident), ctypes.py_object(CheckStopped))


def run_one(check: Check, shared: Shared, timeout: float) -> CheckResult:
    """Run a check in a daemon thread and wait at most `timeout` seconds for it."""
    started, t0 = now_iso(), time.monotonic()
    runner = _Runner(check, Context(shared=shared, check_id=check.meta.id, deadline=t0 + timeout))
    runner.start()
    # A check that disturbs the target (exclusive) is awaited even when the run is interrupted: it sees
    # the cancellation, undoes what it did (restore command) and reports it, within its own deadline.
    while runner.is_alive() and time.monotonic() - t0 < timeout:
        if shared.cancel.is_set() and not check.meta.exclusive:
            break
        runner.join(0.05)
    duration = time.monotonic() - t0
    if runner.is_alive():
        runner.stop()
        if check.meta.exclusive:
            # A drill stopped at its deadline undoes its fault in a `finally`: give that restore a bounded wait.
            runner.join(EXCLUSIVE_RESTORE_GRACE_S)
        if shared.cancel.is_set() and not check.meta.exclusive:
            reason, status = "the run was interrupted before this check finished", "not_run"
        else:
            reason, status = f"did not finish within its {timeout:g} s deadline", "timed_out"
        return CheckResult(check, [_could_not_check(check, reason)], started, duration, status)
    if runner.error is not None:
        err = runner.error
        if isinstance(err, DeadlineExceeded):
            reason, status = f"did not finish within its {timeout:g} s deadline", "timed_out"
        else:
            reason, status = f"the check crashed: {type(err).__name__}: {err}".splitlines()[0], "crashed"
        evidence = [Evidence(kind="note", summary="traceback (last frames)", excerpt=runner.tb)]
        return CheckResult(check, [_could_not_check(check, reason, evidence)], started, duration, status)
    return CheckResult(check, runner.findings or [], started, duration)


def run_checks(
    checks: list[Check],
    shared: Shared,
    *,
    concurrency: int = 8,
    timeouts: dict[str, float] | None = None,
    progress: ProgressFn | None = None,
) -> RunOutcome:
    """Run concurrent checks on a bounded pool, then exclusive ones in order.

    Results come back in the order of `checks`. If `shared.cancel` is set (Ctrl-C,
    SIGTERM) no new check starts and the outcome is marked incomplete.
    """
    timeouts = timeouts or {}
    shared.selected = frozenset(c.meta.id for c in checks)
    results: dict[str, CheckResult] = {}
    lock = threading.Lock()
    slots = threading.BoundedSemaphore(max(1, concurrency))

    def timeout_for(check: Check) -> float:
        return float(timeouts.get(check.meta.id, check.meta.timeout))

    def worker(check: Check) -> None:
        try:
            if progress:
                progress("start", None)
            result = run_one(check, shared, timeout_for(check))
            with lock:
                results[check.meta.id] = result
            if progress:
                progress("done", result)
        finally:
            slots.release()

    # Lower `order` starts first (a stable sort): a long check started last would run on alone at the end.
    concurrent = sorted((c for c in checks if not c.meta.exclusive), key=lambda c: c.meta.order)
    exclusive = sorted((c for c in checks if c.meta.exclusive), key=lambda c: (c.meta.order, c.meta.id))
    threads: list[threading.Thread] = []
    for check in concurrent:
        while not slots.acquire(timeout=0.1):
            if shared.cancel.is_set():
                break
        if shared.cancel.is_set():
            break
        t = threading.Thread(target=worker, args=(check,), name=f"slot:{check.meta.id}", daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        while t.is_alive():
            t.join(0.1)
    for check in exclusive:
        if shared.cancel.is_set():
            break
        slots.acquire()
        worker(check)

    outcome = RunOutcome(complete=not shared.cancel.is_set())
    for check in checks:
        if check.meta.id in results:
            outcome.results.append(results[check.meta.id])
        else:
            outcome.complete = False
            outcome.results.append(
                CheckResult(
                    check,
                    [_could_not_check(check, "not run: the run was interrupted before this check started")],
                    now_iso(),
                    0.0,
                    status="not_run",
                )
            )
    return outcome
