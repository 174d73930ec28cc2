"""live.load: a short, bounded burst of concurrent requests stays fast and error-free."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome, now_iso
from harness.probes.http import NO_URL_REASON, HttpFailure, base_urls, expected_statuses, percentiles
from harness.probes.keepalive import keepalive_client_for

ID = "live.load"
MAX_REQUESTS = 5000  # a verifier, not a load-testing tool: never hammer someone's service
MAX_CONCURRENCY = 50


def burst(ctx: Context, url: str, concurrency: int, total: int, end: float) -> dict[str, Any]:
    """`total` GETs from `concurrency` threads, stopping at `end`; latencies, errors and the client's own CPU.

    Each thread keeps its connection alive (a lean http.client client), so what is timed is the platform,
    not the verifier's TLS handshakes and request building; the CPU the threads spent is reported beside it."""
    lock = threading.Lock()
    state: dict[str, Any] = {"left": total, "latencies": [], "errors": [], "statuses": {}, "cpu_s": 0.0}
    ok = expected_statuses(ctx)

    def worker() -> None:
        cpu0 = time.thread_time()
        client = keepalive_client_for(ctx)
        try:
            while time.monotonic() < end and not ctx.shared.cancel.is_set():
                with lock:
                    if state["left"] <= 0:
                        return
                    state["left"] -= 1
                start = time.monotonic()
                try:
                    # The final answer counts: same-host http(s) redirects are followed, a 3xx left is an error.
                    res = client.get(url, deadline=min(end, start + ctx.config.live.read_timeout_s))
                    error = (
                        "" if res.status in ok else f"status {res.status}" + (f": {res.refused}" if res.refused else "")
                    )
                    status: Any = res.status
                except HttpFailure as exc:
                    error, status = str(exc)[:200], exc.kind
                ms = (time.monotonic() - start) * 1000
                with lock:
                    state["latencies"].append(ms)
                    state["statuses"][str(status)] = state["statuses"].get(str(status), 0) + 1
                    if error:
                        state["errors"].append({"at": now_iso(), "error": error})
        finally:
            client.close()
            with lock:
                state["cpu_s"] += time.thread_time() - cpu0

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True, name=f"load-{i}") for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, end - time.monotonic()) + 1)
    elapsed = time.monotonic() - t0
    done = len(state["latencies"])
    return {
        "requested": total,
        "completed": done,
        "concurrency": concurrency,
        "elapsed_s": round(elapsed, 3),
        "throughput_rps": round(done / elapsed, 1) if elapsed else None,
        "latency_ms": percentiles(state["latencies"]),
        "statuses": state["statuses"],
        "errors": len(state["errors"]),
        "first_errors": state["errors"][:10],
        # harness's own cost: a p95 worth judging is the platform's, not the client's queueing for CPU
        "client_cpu_ms_per_request": round(state["cpu_s"] * 1000 / done, 3) if done else None,
    }


@check(
    ID,
    title="Under a short concurrent load the service stays fast and error-free",
    failure_title="Under a short concurrent load the service errors or slows beyond the thresholds",
    proves="The platform is performant: it serves concurrent users within latency targets (PR-2).",
    remediation=(
        "Profile the slow path (database queries, synchronous calls), scale out instances or workers, "
        "and add caching; then re-run with the same load."
    ),
    source="live",
    timeout=90,
    # Alone, after the concurrent checks: harness's own repository checks on the same cores would otherwise
    # be in the platform's p95, and the load would slow the availability sampling beside it.
    exclusive=True,
    order=5,
)
def run(ctx: Context) -> Iterator[Finding]:
    urls = base_urls(ctx)
    if not urls:
        yield finding(ID, Outcome.COULD_NOT_CHECK, NO_URL_REASON)
        return
    cfg = ctx.config.live.load
    concurrency = max(1, min(cfg.concurrency, MAX_CONCURRENCY))
    total = max(1, min(cfg.requests, MAX_REQUESTS))
    for i, base in enumerate(urls):
        url = base + "/"
        share = ctx.remaining() / (len(urls) - i) - 1
        stats = burst(ctx, url, concurrency, total, time.monotonic() + max(0.5, share))
        yield judge(url, stats, cfg.p95_ms, cfg.p99_ms, cfg.max_errors)


def judge(url: str, stats: dict[str, Any], p95_ms: float, p99_ms: float, max_errors: int) -> Finding:
    evidence = [
        Evidence(
            kind="timing",
            summary=(
                f"{stats['completed']}/{stats['requested']} requests, {stats['concurrency']} concurrent, "
                f"in {stats['elapsed_s']} s: latency {stats['latency_ms']}, {stats['errors']} errors; "
                f"harness's own CPU {stats.get('client_cpu_ms_per_request')} ms per request"
            ),
            url=url,
            data=stats,
        )
    ]
    if stats["completed"] == 0:
        return finding(ID, Outcome.COULD_NOT_CHECK, f"no request to {url} completed", evidence, subject=url)
    lat = stats["latency_ms"]
    problems = []
    if stats["errors"] > max_errors:
        problems.append(f"{stats['errors']} errors (allowed {max_errors})")
    if lat["p95"] > p95_ms:
        problems.append(f"p95 {lat['p95']:.0f} ms above {p95_ms:.0f} ms")
    if lat["p99"] > p99_ms:
        problems.append(f"p99 {lat['p99']:.0f} ms above {p99_ms:.0f} ms")
    if stats["completed"] < stats["requested"]:
        problems.append(f"only {stats['completed']} of {stats['requested']} requests completed before the deadline")
    if problems:
        return finding(ID, Outcome.FAIL, f"{url} under load: " + "; ".join(problems), evidence, subject=url)
    return finding(
        ID,
        Outcome.PASS,
        f"{url}: {stats['completed']} requests at concurrency {stats['concurrency']}, "
        f"p50 {lat['p50']:.0f} / p95 {lat['p95']:.0f} / p99 {lat['p99']:.0f} ms, {stats['errors']} errors",
        evidence,
        subject=url,
    )
