"""Availability sampling: request a URL at a steady rate in a background thread.

Used by live.availability and by checks that disturb the target (redeploys,
fault injection): start a `Sampler`, do the disturbing thing, stop it, then
judge `summary()`. Each sample records when, what status (or error), how long,
and which instance/version answered (a header or a JSON field), so downtime and
unexpected responses can be told apart.

    sampler = Sampler(url, client_factory=lambda: client_for(ctx), rate_per_s=10)
    sampler.start(); ...; sampler.stop()
    stats = sampler.summary()
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.model import now_iso
from harness.probes.http import HttpClient, HttpFailure, HttpResult, percentiles
from harness.probes.keepalive import KeepAliveClient

IDENTITY_HEADERS = ("x-instance-id", "x-served-by", "x-version", "x-app-version", "x-hostname")
IDENTITY_FIELDS = ("instance", "instance_id", "hostname", "version", "commit")
MAX_SAMPLES = 100_000


@dataclass
class Sample:
    offset_s: float  # since the sampler started
    timestamp: str
    status: int | None
    latency_ms: float
    ok: bool
    error: str = ""
    identity: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def identity_of(result: HttpResult, header: str | None = None, json_field: str | None = None) -> str:
    """Which instance or version answered: a configured header/field, else common ones."""
    headers = {k.lower(): v for k, v in result.headers.items()}
    for name in [header.lower()] if header else IDENTITY_HEADERS:
        if name in headers:
            return headers[name][:200]
    if "json" in headers.get("content-type", "") and len(result.body) < 100_000:
        try:
            body = result.json()
        except ValueError:
            return ""
        if isinstance(body, dict):
            for name in [json_field] if json_field else IDENTITY_FIELDS:
                if name in body and isinstance(body[name], str | int | float):
                    return str(body[name])[:200]
    return ""


@dataclass
class Sampler:
    url: str
    client_factory: Callable[[], HttpClient | KeepAliveClient]
    rate_per_s: float = 5.0
    request_timeout_s: float = 5.0
    ok_statuses: range | list[int] = field(default_factory=lambda: range(200, 300))
    follow_redirects: bool = False  # same-host http(s) redirects only (see harness.probes.http)
    identity_header: str | None = None
    identity_field: str | None = None
    # A new connection per sample, as a new user would make: a kept-alive connection to an old
    # instance would hide a redeploy or an instance going away behind a load balancer.
    fresh_connections: bool = True
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.started_at = ""
        self.stopped_at = ""
        self.cpu_s = 0.0  # the sampling thread's own CPU: what harness spent, beside what it measured

    def start(self) -> Sampler:
        self.started_at = now_iso()
        self._thread = threading.Thread(target=self._loop, name=f"sampler:{self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.request_timeout_s + 1)
        self.stopped_at = self.stopped_at or now_iso()

    def run_for(self, seconds: float, cancelled: Callable[[], bool] = lambda: False) -> Sampler:
        """Sample for `seconds` (or until `cancelled()`), blocking the caller."""
        self.start()
        end = time.monotonic() + seconds
        while time.monotonic() < end and not cancelled() and not self._stop.is_set():
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))
        self.stop()
        return self

    def _loop(self) -> None:
        cpu0 = time.thread_time()
        client = self.client_factory()
        interval = 1.0 / max(0.01, self.rate_per_s)
        t0 = time.monotonic()
        n = 0
        try:
            while not self._stop.is_set() and n < MAX_SAMPLES:
                # Fixed schedule (not "sleep after each"), so slow answers do not lower the rate silently.
                wait = t0 + n * interval - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
                n += 1
                self._record(client, t0)
        finally:
            client.close()
            self.cpu_s = time.thread_time() - cpu0
            self.stopped_at = now_iso()

    def _record(self, client: HttpClient | KeepAliveClient, t0: float) -> None:
        stamp, start = now_iso(), time.monotonic()
        try:
            res = client.get(
                self.url,
                deadline=start + self.request_timeout_s,
                follow_redirects=self.follow_redirects,
                headers={"Connection": "close"} if self.fresh_connections else None,
            )
            ok = res.status in self.ok_statuses
            sample = Sample(
                offset_s=round(start - t0, 3),
                timestamp=stamp,
                status=res.status,
                latency_ms=round((time.monotonic() - start) * 1000, 1),
                ok=ok,
                error="" if ok else f"status {res.status}" + (f": {res.refused}" if res.refused else ""),
                identity=identity_of(res, self.identity_header, self.identity_field),
            )
        except HttpFailure as exc:
            sample = Sample(
                offset_s=round(start - t0, 3),
                timestamp=stamp,
                status=None,
                latency_ms=round((time.monotonic() - start) * 1000, 1),
                ok=False,
                error=str(exc)[:300],
            )
        with self._lock:
            self.samples.append(sample)

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)

    def summary(self, max_failures: int = 20) -> dict[str, Any]:
        samples = self.snapshot()
        cpu = round(self.cpu_s * 1000 / len(samples), 3) if samples and self.cpu_s else None
        return summarise(samples, max_failures) | {"client_cpu_ms_per_request": cpu}


def summarise(samples: list[Sample], max_failures: int = 20) -> dict[str, Any]:
    """Counts, success ratio, latency percentiles, failures, identities and the longest failure streak."""
    total = len(samples)
    ok = sum(1 for s in samples if s.ok)
    failures = [s for s in samples if not s.ok]
    longest, current, streak_start, worst_span = 0.0, 0, 0.0, (0.0, 0.0)
    for s in samples:
        if s.ok:
            current = 0
            continue
        if current == 0:
            streak_start = s.offset_s
        current += 1
        span = s.offset_s - streak_start
        if span >= longest:
            longest, worst_span = span, (streak_start, s.offset_s)
    return {
        "total": total,
        "ok": ok,
        "failed": total - ok,
        "success_ratio": round(ok / total, 4) if total else None,
        "latency_ms": percentiles([s.latency_ms for s in samples]),
        "first": samples[0].timestamp if samples else None,
        "last": samples[-1].timestamp if samples else None,
        "failures": [f.to_dict() for f in failures[:max_failures]],
        "failures_cut": max(0, len(failures) - max_failures),
        "identities": dict(Counter(s.identity for s in samples if s.identity)),
        "longest_failure_span_s": round(longest, 3) if failures else 0.0,
        "longest_failure_window": list(worst_span) if failures else [],
    }
