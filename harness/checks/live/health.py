"""live.health: the health and readiness endpoints answer 2xx and report every dependency healthy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes.http import NO_URL_REASON, HttpFailure, base_urls, client_for, join

ID = "live.health"
BAD_WORDS = {"down", "fail", "failed", "failing", "error", "unhealthy", "critical", "unavailable", "ko", "red"}
STATUS_KEYS = ("status", "state", "health", "ok", "healthy", "up")
MAX_DEPTH = 6


def unhealthy_parts(doc: Any, path: str = "", depth: int = 0) -> list[str]:
    """Paths of JSON members saying something is down: status "down"/"fail", ok/healthy/up false."""
    bad: list[str] = []
    if depth > MAX_DEPTH:
        return bad
    if isinstance(doc, dict):
        for key, value in doc.items():
            here = f"{path}.{key}" if path else str(key)
            says_down = value is False or (isinstance(value, str) and value.strip().lower() in BAD_WORDS)
            if str(key).lower() in STATUS_KEYS and says_down:
                bad.append(f"{path or '(root)'}: {key}={value!r}")
                continue
            bad += unhealthy_parts(value, here, depth + 1)
    elif isinstance(doc, list):
        for i, item in enumerate(doc[:200]):
            name = item.get("name") if isinstance(item, dict) else None
            bad += unhealthy_parts(item, f"{path}[{name or i}]", depth + 1)
    return bad


@check(
    ID,
    title="The health and readiness endpoints answer 2xx with every dependency healthy",
    failure_title="The health endpoint is missing, failing, or reports an unhealthy dependency",
    proves="Availability can be monitored and load balancers can route around a bad instance (OP-1, PR-2).",
    remediation=(
        "Expose a health endpoint (live.health_path, default /healthz) and a readiness endpoint (/readyz) that "
        "answer 200 with JSON naming each dependency and its status, and 503 when one is down."
    ),
    source="live",
    timeout=30,
)
def run(ctx: Context) -> Iterator[Finding]:
    urls = base_urls(ctx)
    if not urls:
        yield finding(ID, Outcome.COULD_NOT_CHECK, NO_URL_REASON)
        return
    live = ctx.config.live
    client = client_for(ctx)
    try:
        for base in urls:
            yield from _probe(ctx, client, join(base, live.health_path), "health", required=True)
            if live.readiness_path:
                yield from _probe(ctx, client, join(base, live.readiness_path), "readiness", required=False)
    finally:
        client.close()


def _probe(ctx: Context, client: Any, url: str, what: str, required: bool) -> Iterator[Finding]:
    try:
        res = client.get(url, deadline=time.monotonic() + ctx.bounded(ctx.config.live.read_timeout_s))
    except HttpFailure as exc:
        yield finding(
            ID,
            Outcome.FAIL if exc.kind in ("refused", "tls", "redirects") else Outcome.COULD_NOT_CHECK,
            f"{what} endpoint {url}: {exc}",
            [Evidence(kind="http", summary=f"GET {url} failed", url=url, data={"error": str(exc), "kind": exc.kind})],
            subject=url,
        )
        return
    evidence = [res.evidence()]
    if res.status == 404 and not required:
        yield finding(
            ID,
            Outcome.WARN,
            f"no {what} endpoint at {url} (404)",
            evidence,
            remediation="Add a readiness endpoint so that traffic only reaches instances ready to serve it "
            '(set live.readiness_path = "" if the health endpoint covers readiness).',
            subject=url,
        )
        return
    if not 200 <= res.status < 300:
        why = f" ({res.refused})" if res.refused else ""  # a redirect elsewhere is not a health answer
        yield finding(ID, Outcome.FAIL, f"{what} endpoint {url} answered {res.status}{why}", evidence, subject=url)
        return
    doc = None
    if "json" in res.headers.get("Content-Type", "").lower() or res.body.lstrip()[:1] in (b"{", b"["):
        try:
            doc = res.json()
        except ValueError:
            doc = None
    bad = unhealthy_parts(doc) if doc is not None else []
    if bad:
        yield finding(
            ID,
            Outcome.FAIL,
            f"{what} endpoint {url} answered {res.status} but reports: {'; '.join(bad[:10])}",
            evidence,
            remediation="Restore the failing dependency, or make the endpoint report it correctly.",
            subject=url,
        )
        return
    detail = "with JSON reporting no unhealthy dependency" if doc is not None else "(not JSON: no dependency detail)"
    yield finding(ID, Outcome.PASS, f"{what} endpoint {url} answered {res.status} {detail}", evidence, subject=url)
