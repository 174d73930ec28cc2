"""live.persistence: data written before a redeploy is read back after it.

A fresh random token replaces "{token}" in the configured write and read
requests. This check runs live.redeploy.command itself rather than reusing the
redeploy check's run: it must write before and read after the same redeploy,
and it stays meaningful when run alone (`--only live.persistence`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

from harness.checks.base import check, finding
from harness.config import HttpRequestConfig
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import commands
from harness.probes.http import HttpClient, HttpFailure, HttpResult, client_for

ID = "live.persistence"
READ_RETRY_S = 60.0  # the service may still be starting when the redeploy command returns


@check(
    ID,
    title="Data written before a redeploy is still there after it",
    failure_title="Data written before a redeploy was lost: state lives inside the replaced instances",
    proves="State is kept in a durable store (volume, database, managed storage), not in disposable instances (DP-1).",
    remediation=(
        "Keep application data in a database or on a named volume / managed storage that outlives the instances, "
        "never in the container's filesystem or process memory."
    ),
    source="live",
    timeout=900,
    exclusive=True,
    order=30,
)
def run(ctx: Context) -> Iterator[Finding]:
    live = ctx.config.live
    p = live.persistence
    if p.write is None or p.read is None:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            "live.persistence.write and live.persistence.read are not set: nothing to write",
        )
        return
    if not live.redeploy.command:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "live.redeploy.command is not set: no redeploy to survive")
        return
    if not live.urls:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "live.urls is not set: no service to write to")
        return
    base = live.urls[0].rstrip("/")
    token = "harness-" + secrets.token_hex(8)
    expect = p.expect.replace("{token}", token)
    http = client_for(ctx)

    try:
        written = _send(http, base, p.write, token, ctx)
    except HttpFailure as exc:
        yield finding(ID, Outcome.FAIL, f"the write request failed: {exc}", subject="write")
        return
    if written.status not in p.write.expect_status:
        yield finding(
            ID, Outcome.FAIL, f"the write answered HTTP {written.status}", [written.evidence()], subject="write"
        )
        return
    try:
        first = _send(http, base, p.read, token, ctx)
    except HttpFailure as exc:
        yield finding(ID, Outcome.FAIL, f"the read request failed before the redeploy: {exc}", subject="read")
        return
    if first.status not in p.read.expect_status or expect not in first.text():
        yield finding(
            ID,
            Outcome.FAIL,
            f"the token written was not read back even before the redeploy (HTTP {first.status})",
            [written.evidence("write"), first.evidence("read before the redeploy")],
            remediation="Fix live.persistence.read/write (path, method, expect) so a write can be read back.",
            subject="read",
        )
        return

    result = commands.run(live.redeploy.command, timeout=ctx.bounded(live.redeploy.timeout_s))
    evidence = [written.evidence("write"), first.evidence("read before the redeploy"), result.evidence("redeploy")]
    if not result.ok:
        yield finding(
            ID,
            Outcome.FAIL,
            f"the redeploy command failed ({result.describe()})",
            evidence,
            remediation="Fix live.redeploy.command so that it redeploys and exits 0.",
            subject="redeploy",
        )
        return
    last: HttpResult | None = None
    error = ""
    end = time.monotonic() + ctx.bounded(READ_RETRY_S)
    while time.monotonic() < end:
        try:
            last = _send(http, base, p.read, token, ctx)
            error = ""
            if last.status in p.read.expect_status and expect in last.text():
                yield finding(
                    ID,
                    Outcome.PASS,
                    f"the token written before the redeploy was read back after it ({token})",
                    [*evidence, last.evidence("read after the redeploy")],
                    subject="data",
                )
                return
            if last.status < 500:  # the service answers: the data is gone, not late
                break
        except HttpFailure as exc:
            error = str(exc)
        time.sleep(1)
    yield finding(
        ID,
        Outcome.FAIL,
        f"the token written before the redeploy is gone after it ({token}): "
        + (f"HTTP {last.status}" if last is not None else error or "no answer"),
        [*evidence, *([last.evidence("read after the redeploy")] if last is not None else [])],
        subject="data",
    )


def _send(http: HttpClient, base: str, req: HttpRequestConfig, token: str, ctx: Context) -> HttpResult:
    return http.request(
        req.method.upper(),
        base + req.path.replace("{token}", token),
        deadline=time.monotonic() + ctx.bounded(15),
        json_body=_fill(req.json, token) if req.json else None,
        headers={k: v.replace("{token}", token) for k, v in req.headers.items()} or None,
    )


def _fill(value: Any, token: str) -> Any:
    if isinstance(value, str):
        return value.replace("{token}", token)
    if isinstance(value, dict):
        return {k: _fill(v, token) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, token) for v in value]
    return value
