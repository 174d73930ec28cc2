"""live.alert-fires: inject a fault, see the alert fire in Prometheus, restore, see it resolve.

The wait for firing is the rule's `for` duration plus an evaluation interval, a
scrape interval and slack, never more than live.fault.timeout_s. The restore
command always runs (even when the alert never fired or the check ran out of
time). While the fault lasts the public URL is sampled: with two or more
application instances (app targets in Prometheus) any failed request is a
FAIL for PR-2; with a single instance it is a WARN, since one instance cannot
keep serving while it is down.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import yaml

from harness import yamlsafe
from harness.checks.base import check, finding
from harness.checks.live import drill
from harness.context import Context
from harness.model import Evidence, Finding, Outcome, now_iso
from harness.probes import commands
from harness.probes.delivery import live_metric
from harness.probes.http import HttpFailure, client_for, expected_statuses
from harness.probes.prometheus import (
    PrometheusClient,
    PrometheusError,
    alert_key,
    alert_rules,
    parse_duration,
    target_role,
)
from harness.probes.sampling import Sampler

ID = "live.alert-fires"
SLACK_S = 30.0
RESTORE_RESERVE_S = 60.0  # time kept back for the restore command and the resolution
POLL_S = 0.5


@check(
    ID,
    title="An injected fault fires its alert within the rule's duration, and it resolves after restore",
    failure_title="The injected fault did not fire (or did not resolve) an alert in time",
    proves="The alerting works end to end on a real fault, and the platform keeps serving meanwhile (OP-2, PR-2).",
    remediation=(
        "Make the alert rule match the fault (metric, labels, threshold), keep its `for` short enough, and check "
        "Prometheus scrapes the failing instance; run two or more instances behind the public URL."
    ),
    source="live",
    timeout=900,
    exclusive=True,
    order=10,
)
def run(ctx: Context) -> Iterator[Finding]:
    live = ctx.config.live
    fault = live.fault
    if not fault.command:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "live.fault.command is not set: no fault to inject")
        return
    if not live.prometheus_url:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "live.prometheus_url is not set: nowhere to watch the alert")
        return
    prom = PrometheusClient(live.prometheus_url, client_for(ctx), ctx.deadline)
    try:
        rules = alert_rules(prom.rules().data)
        before = prom.alerts().data.get("alerts", []) or []
        targets = prom.targets().data.get("activeTargets", []) or []
    except (PrometheusError, AttributeError) as exc:
        yield finding(ID, Outcome.COULD_NOT_CHECK, f"Prometheus did not answer before the fault: {exc}")
        return
    watched = [r for r in rules if r.name == fault.alert] if fault.alert else rules
    if fault.alert and not watched:
        yield finding(
            ID,
            Outcome.FAIL,
            f"no loaded alert rule is named {fault.alert!r} (live.fault.alert); the fault was not injected",
            remediation=f"Load an alert rule named {fault.alert} or correct live.fault.alert.",
        )
        return
    firing_before = {alert_key(a) for a in before if a.get("state") == "firing"}
    instances = sorted(
        {
            t.get("labels", {}).get("instance", "")
            for t in targets
            if target_role(t) == "app" and t.get("health") == "up"
        }
    )
    scrape_s = _scrape_interval(prom)
    longest = max((r.for_s + r.interval_s for r in watched), default=0.0)
    reserve = min(RESTORE_RESERVE_S, ctx.remaining() / 3)  # for the restore and the resolution
    budget = min(fault.timeout_s, longest + scrape_s + SLACK_S, max(1.0, ctx.remaining() - reserve))

    if ctx.shared.cancel.is_set():
        yield finding(ID, Outcome.COULD_NOT_CHECK, "the run was interrupted before the fault was injected")
        return
    sampler = _sampler(ctx)
    fired: dict[str, Any] | None = None
    fault_res = restore_res = None
    resolved_after: float | None = None
    healthy_at: float | None = None
    still_firing: list[str] = []
    am_findings: list[Finding] = []
    evidence_timeline: list[str] = [f"{now_iso()} firing before the fault: {sorted(firing_before) or 'none'}"]
    t_fault = time.monotonic()
    try:
        if sampler:
            sampler.start()
        fault_res = commands.run(fault.command, timeout=ctx.bounded(min(budget, 120)))
        evidence_timeline.append(f"{fault_res.started} fault command: {fault_res.describe()}")
        if fault_res.ok:
            fired = _wait_firing(ctx, prom, fault.alert, firing_before, t_fault + budget, evidence_timeline)
        if fired:  # asked while the fault lasts: a resolved alert leaves the Alertmanager's list
            am_findings = list(_alertmanager_saw(ctx, fired["name"]))
    finally:
        # Always undone, also when the run is interrupted (the engine waits for this check) or it crashed.
        if ctx.shared.cancel.is_set():
            evidence_timeline.append(f"{now_iso()} the run was interrupted: restoring now")
        if fault.restore_command:
            restore_res = commands.run(fault.restore_command, timeout=max(5.0, min(120.0, ctx.remaining())))
            evidence_timeline.append(f"{restore_res.started} restore command: {restore_res.describe()}")
    t_restore = time.monotonic()
    if fired and restore_res and restore_res.ok:
        resolve_budget = min(fault.timeout_s, scrape_s + longest + SLACK_S, ctx.remaining())
        resolved_after, still_firing = _wait_resolved(ctx, prom, fired["key"], t_restore + resolve_budget)
        if resolved_after is not None:  # the restore time runs on until users are served healthy again
            healthy_at = drill.health_green(ctx, t_restore + resolve_budget)
        evidence_timeline.append(
            f"{now_iso()} "
            + (f"resolved {resolved_after:.1f} s after restore" if resolved_after is not None else "not resolved")
        )
    if sampler:
        sampler.stop()
    interrupted = ctx.shared.cancel.is_set()

    timeline = Evidence(kind="timing", summary="fault timeline", excerpt="\n".join(evidence_timeline))
    ev_fault = [fault_res.evidence("fault command"), timeline] if fault_res else [timeline]
    if fault_res and not fault_res.ok:
        yield finding(
            ID,
            Outcome.FAIL,
            f"the fault command failed ({fault_res.describe()})",
            ev_fault,
            remediation="Fix live.fault.command so that it exits 0 after injecting the fault.",
        )
    elif fired is None and interrupted:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"the run was interrupted {t_restore - t_fault:.0f} s after the fault was injected, before "
            f"{'alert ' + repr(fault.alert) if fault.alert else 'a new alert'} fired (budget {budget:.0f} s); "
            + ("the restore command ran" if restore_res else "no restore command is set"),
            ev_fault,
            subject=fault.alert or None,
        )
    elif fired is None:
        yield finding(
            ID,
            Outcome.FAIL,
            f"no {'alert ' + repr(fault.alert) if fault.alert else 'new alert'} fired within {budget:.0f} s "
            f"of the fault (longest for + evaluation interval {longest:g} s, scrape interval {scrape_s:g} s)",
            ev_fault,
            subject=fault.alert or None,
        )
    else:
        alert_ev = Evidence(
            kind="http",
            summary=f"{fired['key']} firing, active since {fired['alert'].get('activeAt')}",
            url=live.prometheus_url.rstrip("/") + "/api/v1/alerts",
            timestamp=fired["seen"],
            data={"alert": fired["alert"]},
        )
        yield finding(
            ID,
            Outcome.PASS,
            f"{fired['key']} fired {fired['after_s']:.1f} s after the fault (budget {budget:.0f} s)",
            [*ev_fault, alert_ev, live_metric("detect_time", fired["at"] - t_fault, alert=fired["key"])],
            subject=fired["name"],
        )
        yield from am_findings
    restored = drill.restore_metric(fired, healthy_at, bool(live.urls))
    yield from _resolution(
        fault.restore_command, restore_res, fired, resolved_after, still_firing, timeline, interrupted, restored
    )
    if sampler and interrupted and not fired:  # the fault may not even have taken effect: not judged
        stats = sampler.summary()
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"the run was interrupted before the fault was confirmed: {stats['ok']} of {stats['total']} requests "
            "sampled meanwhile succeeded, not judged",
            [Evidence(kind="timing", summary="requests sampled before the interruption", data=stats)],
            subject="availability",
        )
    elif sampler:
        yield _availability(sampler.summary(), instances)
    else:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            "live.urls is not set: whether users were served during the fault was not sampled",
            remediation="Set live.urls to the public URL so availability is sampled during the fault.",
            subject="availability",
        )


def _sampler(ctx: Context) -> Sampler | None:
    live = ctx.config.live
    if not live.urls:
        return None
    return Sampler(
        live.urls[0],
        client_factory=lambda: client_for(ctx),
        rate_per_s=live.availability.rate_per_s,
        ok_statuses=expected_statuses(ctx),
        follow_redirects=True,
    )


def _scrape_interval(prom: PrometheusClient) -> float:
    """The global scrape interval from the running config (Prometheus's default, 1 m, if unreadable)."""
    try:
        text = prom.get("/api/v1/status/config").data.get("yaml", "")
        return parse_duration(((yamlsafe.load(text) or {}).get("global") or {}).get("scrape_interval")) or 60.0
    except (PrometheusError, AttributeError, yaml.YAMLError):
        return 60.0


def _wait_firing(
    ctx: Context, prom: PrometheusClient, name: str, before: set[str], until: float, timeline: list[str]
) -> dict[str, Any] | None:
    t0 = time.monotonic()
    pending_seen: set[str] = set()
    while time.monotonic() < until and not ctx.cancelled:
        try:
            alerts = prom.alerts().data.get("alerts", []) or []
        except (PrometheusError, AttributeError):
            alerts = []
        for a in alerts:
            key = alert_key(a)
            alertname = (a.get("labels") or {}).get("alertname", "")
            if (name and alertname != name) or (not name and key in before):
                continue
            if a.get("state") == "pending" and key not in pending_seen:
                pending_seen.add(key)
                timeline.append(f"{now_iso()} {key} pending")
            if a.get("state") == "firing":
                timeline.append(f"{now_iso()} {key} firing")
                at = time.monotonic()
                return {"key": key, "name": alertname, "alert": a, "after_s": at - t0, "at": at, "seen": now_iso()}
        time.sleep(POLL_S)
    return None


def _wait_resolved(ctx: Context, prom: PrometheusClient, key: str, until: float) -> tuple[float | None, list[str]]:
    t0 = time.monotonic()
    firing: list[str] = [key]
    while time.monotonic() < until and not ctx.cancelled:
        try:
            alerts = prom.alerts().data.get("alerts", []) or []
            firing = [alert_key(a) for a in alerts if a.get("state") == "firing"]
            if key not in firing:
                return time.monotonic() - t0, firing
        except (PrometheusError, AttributeError):
            pass
        time.sleep(POLL_S)
    return None, firing


def _alertmanager_saw(ctx: Context, name: str) -> Iterator[Finding]:
    """With live.alertmanager_url, the fired alert should reach the Alertmanager (a few seconds later)."""
    base = ctx.config.live.alertmanager_url.rstrip("/")
    if not base:
        return
    http = client_for(ctx)
    end = time.monotonic() + ctx.bounded(15)
    last = None
    while time.monotonic() < end and not ctx.shared.cancel.is_set():
        try:
            last = http.get(f"{base}/api/v2/alerts", deadline=time.monotonic() + ctx.bounded(5))
            if last.status == 200 and any((a.get("labels") or {}).get("alertname") == name for a in last.json()):
                yield finding(ID, Outcome.PASS, f"{name} reached the Alertmanager", [last.evidence()], subject=base)
                return
        except (HttpFailure, ValueError):
            pass
        time.sleep(1)
    if ctx.shared.cancel.is_set():
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"the run was interrupted before {name} was seen in the Alertmanager at {base}",
            [last.evidence()] if last else [],
            subject=base,
        )
        return
    yield finding(
        ID,
        Outcome.FAIL,
        f"{name} fired in Prometheus but did not reach the Alertmanager at {base} within 15 s",
        [last.evidence()] if last else [],
        remediation="Point Prometheus's alerting.alertmanagers at this Alertmanager.",
        subject=base,
    )


def _resolution(
    restore_cmd: list[str],
    restore_res: commands.CommandResult | None,
    fired: dict[str, Any] | None,
    resolved_after: float | None,
    still_firing: list[str],
    timeline: Evidence,
    interrupted: bool = False,
    restored: Evidence | None = None,
) -> Iterator[Finding]:
    if not restore_cmd:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            "live.fault.restore_command is not set: the fault was not undone and the alert's resolution not observed",
            [timeline],
            remediation="Set live.fault.restore_command to the command that undoes the fault.",
            subject="resolution",
        )
        return
    assert restore_res is not None
    ev = [restore_res.evidence("restore command"), timeline]
    if not restore_res.ok:
        yield finding(
            ID,
            Outcome.FAIL,
            f"the restore command failed ({restore_res.describe()}): the platform may still be degraded",
            ev,
            remediation="Fix live.fault.restore_command and restore the platform by hand now.",
            subject="resolution",
        )
    elif fired is None:
        return  # nothing fired, so nothing to resolve; the failure is already reported
    elif resolved_after is None and interrupted:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"the restore command ran, but the run was interrupted before {fired['key']} was seen to resolve",
            ev,
            subject="resolution",
        )
    elif resolved_after is None:
        yield finding(
            ID,
            Outcome.FAIL,
            f"{fired['key']} was still firing after the restore (firing: {', '.join(still_firing) or 'none'})",
            ev,
            subject="resolution",
        )
    else:
        yield finding(
            ID,
            Outcome.PASS,
            f"{fired['key']} resolved {resolved_after:.1f} s after the restore",
            ev + ([restored] if restored else []),
            subject="resolution",
        )


def _availability(stats: dict[str, Any], instances: list[str]) -> Finding:
    ev = [
        Evidence(
            kind="timing",
            summary=f"{stats['ok']}/{stats['total']} requests succeeded during the fault",
            data={**stats, "app_instances": instances},
        )
    ]
    ratio = stats["success_ratio"]
    if not stats["total"]:
        return finding(
            ID, Outcome.COULD_NOT_CHECK, "no request was sampled during the fault", ev, subject="availability"
        )
    head = f"{stats['failed']} of {stats['total']} requests failed during the fault (success {ratio:.1%})"
    if stats["failed"] == 0:
        return finding(
            ID,
            Outcome.PASS,
            f"the platform kept serving during the fault: {stats['total']} requests, none failed "
            f"({len(instances)} app instance(s))",
            ev,
            subject="availability",
        )
    if len(instances) >= 2:
        return finding(
            ID,
            Outcome.FAIL,
            f"{head} although {len(instances)} instances run: traffic still reaches the failed one",
            ev,
            remediation="Health-check instances at the load balancer so traffic leaves a failed instance at once.",
            subject="availability",
        )
    return finding(
        ID,
        Outcome.WARN,
        f"{head}; only {len(instances)} app instance(s) are scraped, so users see the fault (PR-2)",
        ev,
        remediation="Run two or more instances behind a load balancer that health-checks them.",
        subject="availability",
    )
