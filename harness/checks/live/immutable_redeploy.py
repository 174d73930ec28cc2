"""live.immutable-redeploy: a redeploy replaces every serving instance instead of changing one in place.

Instances are told apart by an id in the version JSON (instance_id, instance,
hostname...), an X-Instance-Id-style header, the process start time in the
metrics, and, with live.docker_host, by container id. The version endpoint is
sampled at live.redeploy.sample_rate_per_s while the redeploy runs (Terratest
style), so an instance that answers with two versions is caught in the act.

Judgement: an instance id seen before and after, or one that changed version,
is a FAIL (changed in place). Requests failing during the redeploy: none is a
PASS; a success ratio at or above live.availability.min_success_ratio is a
WARN (replaced, but users noticed); below it a FAIL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome, now_iso
from harness.probes import commands, docker_engine
from harness.probes.http import HttpClient, HttpFailure, HttpResult, client_for
from harness.probes.keepalive import KeepAliveClient, keepalive_client_for

ID = "live.immutable-redeploy"
ID_FIELDS = ("instance_id", "instance", "hostname", "host", "pod", "pod_name", "container_id", "node")
ID_HEADERS = ("x-instance-id", "x-hostname", "x-served-by", "x-pod-name", "x-container-id")
VERSION_FIELDS = ("version", "commit", "image", "build")
SETTLE_S = 2.0  # keep sampling this long after the command returns
PROBE_REQUESTS = 12  # requests to enumerate instances before and after


@dataclass
class Observation:
    offset_s: float
    timestamp: str
    ok: bool
    status: int | None
    instance: str
    version: str
    error: str = ""


def observe(res: HttpResult) -> tuple[str, str]:
    """(instance id, version) from a version response: JSON fields first, then headers."""
    headers = {k.lower(): v for k, v in res.headers.items()}
    body: dict[str, Any] = {}
    try:
        doc = res.json()
        body = doc if isinstance(doc, dict) else {}
    except ValueError:
        pass
    instance = next((str(body[f]) for f in ID_FIELDS if body.get(f) not in (None, "")), "")
    instance = instance or next((headers[h] for h in ID_HEADERS if headers.get(h)), "")
    version = next((str(body[f]) for f in VERSION_FIELDS if body.get(f) not in (None, "")), "")
    return instance[:200], (version or headers.get("x-version", ""))[:200]


class VersionSampler:
    """Requests the version URL at a fixed rate in a daemon thread, keeping (instance, version) per answer."""

    def __init__(self, url: str, client_factory: Callable[[], HttpClient | KeepAliveClient], rate_per_s: float) -> None:
        self.url, self.client_factory, self.interval = url, client_factory, 1.0 / max(0.1, rate_per_s)
        self.observations: list[Observation] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="redeploy-sampler", daemon=True)

    def start(self) -> VersionSampler:
        self._thread.start()
        return self

    def stop(self) -> list[Observation]:
        self._stop.set()
        self._thread.join(10)
        return list(self.observations)

    def _loop(self) -> None:
        client = self.client_factory()
        t0, n = time.monotonic(), 0
        while not self._stop.is_set():
            wait = t0 + n * self.interval - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                break
            n += 1
            self.observations.append(probe(client, self.url, t0))


def probe(client: HttpClient | KeepAliveClient, url: str, t0: float) -> Observation:
    stamp, start = now_iso(), time.monotonic()
    try:
        res = client.get(url, deadline=start + 5, follow_redirects=False)
    except HttpFailure as exc:
        return Observation(round(start - t0, 3), stamp, False, None, "", "", str(exc)[:200])
    instance, version = observe(res) if res.status == 200 else ("", "")
    return Observation(round(start - t0, 3), stamp, res.status == 200, res.status, instance, version)


def _enumerate(client: HttpClient, url: str) -> list[Observation]:
    t0 = time.monotonic()
    out = []
    for _ in range(PROBE_REQUESTS):
        out.append(probe(client, url, t0))
        time.sleep(0.05)
    return out


def _start_time(client: HttpClient, metrics_url: str) -> float | None:
    """process_start_time_seconds from the metrics endpoint (one instance: whichever answers)."""
    if not metrics_url:
        return None
    try:
        res = client.get(metrics_url, deadline=time.monotonic() + 10)
    except HttpFailure:
        return None
    for line in res.text().splitlines():
        if line.startswith("process_start_time_seconds"):
            try:
                return float(line.split()[-1])
            except ValueError:
                return None
    return None


@check(
    ID,
    title="A redeploy replaces every instance (new ids, new processes) without changing any in place",
    failure_title="A redeploy changed instances in place or did not replace them",
    proves="Servers are disposable and rebuilt from versioned artefacts, never patched by hand (RP-1).",
    remediation=(
        "Redeploy by starting new instances from a new image (by digest) and stopping the old ones "
        "(rolling update, blue/green); never edit or restart a running server to change its version."
    ),
    source="live",
    timeout=900,
    exclusive=True,
    order=20,
)
def run(ctx: Context) -> Iterator[Finding]:
    live = ctx.config.live
    if not live.redeploy.command:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "live.redeploy.command is not set: no redeploy to observe")
        return
    if not live.urls:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "live.urls is not set: no instances to observe")
        return
    url = live.urls[0].rstrip("/") + live.version_path
    client = client_for(ctx)
    before = _enumerate(client, url)
    start_before = _start_time(client, live.metrics_url)
    containers_before: list[docker_engine.ContainerInfo] | None = None
    docker_error = ""
    if live.docker_host:
        try:
            containers_before = docker_engine.snapshot(live.docker_host, live.docker_label, ctx.bounded(30))
        except docker_engine.DockerUnavailable as exc:
            docker_error = str(exc)
    ids_before = {o.instance for o in before if o.instance}
    if not ids_before and start_before is None and not containers_before:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"nothing identifies the serving instances at {url} (no instance id field or header, no "
            "process_start_time_seconds at live.metrics_url, no containers through live.docker_host); "
            "the redeploy was not run",
            [Evidence(kind="http", summary="version answers before", url=url, data={"samples": _rows(before)})],
            remediation="Return an instance_id (hostname, container id) in the version JSON or an X-Instance-Id "
            "header, or set live.docker_host.",
        )
        return

    if ctx.shared.cancel.is_set():  # once started, the redeploy runs to its end and is reported (never "not run")
        yield finding(ID, Outcome.COULD_NOT_CHECK, "the run was interrupted before the redeploy started")
        return
    wall_start = time.time()
    # Users' clients send a GET again once when a kept-alive connection closes unanswered (RFC 9112 9.3.1;
    # browsers, curl): the keep-alive client does the same, so a proxy's graceful reload is not a lost request.
    sampler = VersionSampler(url, lambda: keepalive_client_for(ctx), live.redeploy.sample_rate_per_s).start()
    try:
        result = commands.run(live.redeploy.command, timeout=ctx.bounded(live.redeploy.timeout_s))
        time.sleep(min(SETTLE_S, ctx.remaining()))
    finally:
        during = sampler.stop()
    after = _enumerate(client, url)
    start_after = _start_time(client, live.metrics_url)
    containers_after = None
    if live.docker_host and not docker_error:
        try:
            containers_after = docker_engine.snapshot(live.docker_host, live.docker_label, ctx.bounded(30))
        except docker_engine.DockerUnavailable as exc:
            docker_error = str(exc)

    cmd_ev = result.evidence("redeploy command")
    ids_after = {o.instance for o in after if o.instance}
    sampled = Evidence(
        kind="timing",
        summary=f"{len(during)} samples during the redeploy; instances {sorted(ids_before)} -> {sorted(ids_after)}",
        url=url,
        data={
            "before": _identities(before),
            "after": _identities(after),
            "during": _identities(during),
            "failures": [o.__dict__ for o in during if not o.ok][:20],
            "redeploy_started": result.started,
        },
    )
    if not result.ok:
        yield finding(
            ID,
            Outcome.FAIL,
            f"the redeploy command failed ({result.describe()})",
            [cmd_ev, sampled],
            remediation="Fix live.redeploy.command so that it redeploys and exits 0.",
            subject="command",
        )
    yield from _judge_instances(before + during + after, ids_before, ids_after, [cmd_ev, sampled])
    if start_before is not None or start_after is not None:
        yield _judge_start_time(start_before, start_after, wall_start, live.metrics_url)
    yield _judge_availability(ctx, during, [sampled])
    if live.docker_host:
        yield from _judge_docker(containers_before, containers_after, docker_error)


def _rows(obs: list[Observation]) -> list[dict[str, Any]]:
    return [o.__dict__ for o in obs[:20]]


def _identities(obs: list[Observation]) -> dict[str, int]:
    out: dict[str, int] = {}
    for o in obs:
        if o.ok:
            key = f"{o.instance or '?'} @ {o.version or '?'}"
            out[key] = out.get(key, 0) + 1
    return out


def _judge_instances(
    everything: list[Observation], ids_before: set[str], ids_after: set[str], evidence: list[Evidence]
) -> Iterator[Finding]:
    if not ids_before or not ids_after:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            "the version endpoint gave no instance id "
            + ("before" if not ids_before else "after")
            + " the redeploy: instance replacement judged by the other signals only",
            evidence,
            subject="instances",
        )
        return
    versions: dict[str, list[str]] = {}
    for o in everything:
        if o.ok and o.instance and o.version and o.version not in versions.setdefault(o.instance, []):
            versions[o.instance].append(o.version)
    changed = {i: v for i, v in versions.items() if len(v) > 1}
    for instance, seen in sorted(changed.items()):
        yield finding(
            ID,
            Outcome.FAIL,
            f"instance {instance} answered with versions {' then '.join(seen)}: it was changed in place",
            evidence,
            subject=instance,
        )
    kept = sorted(ids_before & ids_after)
    if kept:
        yield finding(
            ID,
            Outcome.FAIL,
            f"instance(s) {', '.join(kept)} served before and after the redeploy: not replaced",
            evidence,
            subject="instances",
        )
    elif not changed:
        yield finding(
            ID,
            Outcome.PASS,
            f"every instance is new: {', '.join(sorted(ids_before))} -> {', '.join(sorted(ids_after))}; "
            "no instance answered with two versions",
            evidence,
            subject="instances",
        )


def _judge_start_time(before: float | None, after: float | None, wall_start: float, url: str) -> Finding:
    ev = [
        Evidence(
            kind="metric",
            summary=f"process_start_time_seconds {before} -> {after}; redeploy began at {wall_start:.3f}",
            url=url,
            data={"before": before, "after": after, "redeploy_began": wall_start},
        )
    ]
    if after is None:
        return finding(
            ID, Outcome.COULD_NOT_CHECK, "process_start_time_seconds was not readable after", ev, subject="process"
        )
    if after >= wall_start:
        return finding(
            ID,
            Outcome.PASS,
            f"the serving process started {after - wall_start:.1f} s after the redeploy began",
            ev,
            subject="process",
        )
    return finding(
        ID,
        Outcome.FAIL,
        "the serving process started before the redeploy began: it was not replaced",
        ev,
        subject="process",
    )


def _judge_availability(ctx: Context, during: list[Observation], evidence: list[Evidence]) -> Finding:
    total = len(during)
    failed = [o for o in during if not o.ok]
    if not total:
        return finding(
            ID, Outcome.COULD_NOT_CHECK, "no request was sampled during the redeploy", subject="availability"
        )
    ratio = (total - len(failed)) / total
    head = f"{len(failed)} of {total} requests failed during the redeploy (success {ratio:.1%})"
    if not failed:
        return finding(
            ID,
            Outcome.PASS,
            f"no request failed during the redeploy ({total} sampled)",
            evidence,
            subject="availability",
        )
    minimum = ctx.config.live.availability.min_success_ratio
    outcome = Outcome.WARN if ratio >= minimum else Outcome.FAIL
    return finding(
        ID,
        outcome,
        f"{head}; first: {failed[0].error or failed[0].status} at {failed[0].timestamp}",
        evidence,
        remediation="Start new instances and wait for their readiness before stopping old ones; drain connections.",
        subject="availability",
    )


def _judge_docker(
    before: list[docker_engine.ContainerInfo] | None, after: list[docker_engine.ContainerInfo] | None, error: str
) -> Iterator[Finding]:
    if error or before is None or after is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, error or "the Docker engine gave no answer", subject="docker")
        return
    ev = [
        Evidence(
            kind="note",
            summary=f"containers {len(before)} before, {len(after)} after",
            data={"before": [c.to_dict() for c in before], "after": [c.to_dict() for c in after]},
        )
    ]
    for outcome, reason in docker_engine.judge_replacement(before, after):
        yield finding(ID, outcome, reason, ev, subject="containers")
    for c in after:
        outcome, reason = docker_engine.by_digest(c)
        yield finding(ID, outcome, reason, ev, subject=c.name)
    for outcome, reason in docker_engine.judge_hardening(after):
        yield finding(ID, outcome, reason, ev, subject="hardening")
