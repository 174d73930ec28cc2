"""live.alertmanager: Prometheus sends alerts to an Alertmanager that is ready and has receivers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import yaml

from harness import yamlsafe
from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes.http import HttpClient, HttpFailure, client_for
from harness.probes.prometheus import PrometheusClient, PrometheusError

ID = "live.alertmanager"


@check(
    ID,
    title="Prometheus is attached to a ready Alertmanager with receivers",
    failure_title="Alerts go nowhere: no ready Alertmanager with receivers is attached to Prometheus",
    proves="A firing alert reaches a person or a system that acts on it (OP-2).",
    remediation=(
        "Add an `alerting.alertmanagers` section to prometheus.yml pointing at a running Alertmanager, "
        "and give that Alertmanager a route and at least one receiver (email, Slack, webhook...)."
    ),
    source="live",
    timeout=30,
)
def run(ctx: Context) -> Iterator[Finding]:
    live = ctx.config.live
    if not live.prometheus_url and not live.alertmanager_url:
        yield finding(
            ID, Outcome.COULD_NOT_CHECK, "neither live.prometheus_url nor live.alertmanager_url is set: nothing to ask"
        )
        return
    http = client_for(ctx)
    if live.prometheus_url:
        yield from _attached(ctx, live.prometheus_url, http)
    else:
        yield finding(
            ID, Outcome.COULD_NOT_CHECK, "live.prometheus_url is not set: cannot see whether Prometheus uses it"
        )
    if not live.alertmanager_url:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            "live.alertmanager_url is not set: the Alertmanager's readiness and receivers were not checked",
            remediation="Set live.alertmanager_url to the Alertmanager's base URL.",
        )
        return
    base = live.alertmanager_url.rstrip("/")
    try:
        ready = http.get(base + "/-/ready", deadline=time.monotonic() + ctx.bounded(10))
    except HttpFailure as exc:
        yield finding(ID, Outcome.FAIL, f"the Alertmanager does not answer: {exc}", subject=base)
        return
    if ready.status != 200:
        yield finding(
            ID, Outcome.FAIL, f"the Alertmanager is not ready (HTTP {ready.status})", [ready.evidence()], subject=base
        )
        return
    try:
        status = http.get(base + "/api/v2/status", deadline=time.monotonic() + ctx.bounded(10))
        doc = status.json() if status.status == 200 else None
    except (HttpFailure, ValueError) as exc:
        yield finding(ID, Outcome.COULD_NOT_CHECK, f"the Alertmanager's status was not readable: {exc}", subject=base)
        return
    if not isinstance(doc, dict):
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"/api/v2/status answered HTTP {status.status}",
            [status.evidence()],
            subject=base,
        )
        return
    receivers, route = _receivers(doc)
    evidence = [
        ready.evidence("Alertmanager /-/ready"),
        Evidence(
            kind="http",
            summary=f"Alertmanager {doc.get('versionInfo', {}).get('version', '?')}: receivers {receivers}",
            url=status.url,
            timestamp=status.started,
            data={
                "receivers": receivers,
                "route_receiver": route,
                "uptime": doc.get("uptime"),
                "cluster_status": (doc.get("cluster") or {}).get("status"),
            },
        ),
    ]
    # A receiver with no integration (e.g. the stock "null"/"blackhole") drops alerts.
    useful = [name for name, kinds in receivers.items() if kinds]
    if not useful:
        yield finding(
            ID,
            Outcome.FAIL,
            "the Alertmanager is ready but none of its receivers sends anywhere",
            evidence,
            remediation="Configure at least one receiver with an integration (email_configs, webhook_configs...).",
            subject=base,
        )
        return
    yield finding(
        ID,
        Outcome.PASS,
        f"the Alertmanager is ready; route to {route or '?'}; receivers: "
        + ", ".join(f"{n} ({'/'.join(k)})" for n, k in receivers.items() if k),
        evidence,
        subject=base,
    )


def _attached(ctx: Context, url: str, http: HttpClient) -> Iterator[Finding]:
    prom = PrometheusClient(url, http, time.monotonic() + ctx.remaining())
    try:
        answer = prom.alertmanagers()
    except PrometheusError as exc:
        yield finding(ID, Outcome.COULD_NOT_CHECK, f"Prometheus did not list its Alertmanagers: {exc}", subject=url)
        return
    data = answer.data or {}
    active = [a.get("url", "") for a in data.get("activeAlertmanagers", []) or []]
    dropped = [a.get("url", "") for a in data.get("droppedAlertmanagers", []) or []]
    ev = [answer.http.evidence(f"Prometheus alertmanagers: {len(active)} active, {len(dropped)} dropped")]
    if active:
        yield finding(ID, Outcome.PASS, f"Prometheus sends alerts to {', '.join(active)}", ev, subject=url)
    else:
        yield finding(ID, Outcome.FAIL, "Prometheus has no active Alertmanager", ev, subject=url)


def _receivers(doc: dict[str, Any]) -> tuple[dict[str, list[str]], str]:
    """Receiver name -> its integration kinds, and the root route's receiver, from the loaded config."""
    original = (doc.get("config") or {}).get("original", "")
    try:
        config = yamlsafe.load(original) or {}
    except yaml.YAMLError:
        return {}, ""
    out: dict[str, list[str]] = {}
    for rec in config.get("receivers", []) or []:
        kinds = sorted(k.removesuffix("_configs") for k, v in rec.items() if k.endswith("_configs") and v)
        out[str(rec.get("name", "?"))] = kinds
    return out, str((config.get("route") or {}).get("receiver", ""))
