"""live.alert-rules: the loaded alert rules cover CPU, memory, error rate and availability, and can fire.

Coverage uses the same small classifier as the probe (`prometheus.classify`).
Each rule needs a threshold (a comparison with a number) and a `for` duration.
The error-rate and availability rules must measure something that exists: the
expression without its threshold is queried, and if that returns no series the
metrics it names are queried one by one. No series at all is a FAIL (the rule
can never fire: a typo or an unscraped metric); metrics that exist while the
full expression is empty right now (no 5xx yet, say) is a WARN.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes.http import client_for
from harness.probes.prometheus import (
    CATEGORIES,
    AlertRule,
    PrometheusClient,
    PrometheusError,
    alert_rules,
    metric_names,
)

ID = "live.alert-rules"
LABELS = {"cpu": "CPU", "memory": "memory", "error_rate": "error rate", "availability": "availability"}
MUST_RETURN_DATA = ("error_rate", "availability")


@check(
    ID,
    title="Alert rules for CPU, memory, error rate and availability are loaded, with thresholds and durations",
    failure_title="Alert rules are missing, have no threshold or duration, or watch metrics that do not exist",
    proves="Prometheus is evaluating alerts on the four signals OP-1/OP-2 ask for, on metrics it actually has.",
    remediation=(
        "Load alert rules (rule_files in prometheus.yml) for CPU, memory, error rate and availability, each "
        "`expr: <measure> > <threshold>` with a `for:` duration, on metric names Prometheus scrapes."
    ),
    source="live",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    url = ctx.config.live.prometheus_url
    if not url:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "live.prometheus_url is not set: no Prometheus to ask")
        return
    prom = PrometheusClient(url, client_for(ctx), time.monotonic() + ctx.remaining())
    try:
        answer = prom.rules()
    except PrometheusError as exc:
        yield finding(ID, Outcome.COULD_NOT_CHECK, f"Prometheus did not list its rules: {exc}", subject=url)
        return
    rules = alert_rules(answer.data)
    listing = Evidence(
        kind="http",
        summary=f"{len(rules)} alerting rules loaded",
        url=answer.http.url,
        timestamp=answer.http.started,
        excerpt="\n".join(f"{r.name}: {r.expr} for {r.for_s:g}s" for r in rules),
        data={"rules": [r.summary() for r in rules]},
    )
    if not rules:
        yield finding(ID, Outcome.FAIL, "Prometheus has no alerting rules loaded", [listing], subject=url)
        return
    for rule in rules:
        if rule.health == "err":
            yield finding(ID, Outcome.FAIL, f"rule {rule.name} fails to evaluate", [listing], subject=rule.name)
    for category in CATEGORIES:
        ctx.check_deadline()
        covering = [r for r in rules if category in r.categories]
        label = LABELS[category]
        if not covering:
            yield finding(
                ID,
                Outcome.FAIL,
                f"no loaded alert rule covers {label}",
                [listing],
                remediation=f"Add an alert rule on {label} with a threshold and a `for` duration.",
                subject=category,
            )
            continue
        complete = [r for r in covering if r.threshold and r.for_s > 0]
        if not complete:
            r = covering[0]
            missing = "a threshold comparison" if not r.threshold else "a `for` duration"
            yield finding(
                ID,
                Outcome.FAIL,
                f"the {label} rule(s) {', '.join(x.name for x in covering)} lack {missing}",
                [listing],
                remediation=f"Give {r.name} a `<measure> > <number>` threshold and a `for:` duration "
                "so that a short spike does not page anyone.",
                subject=category,
            )
            continue
        if category not in MUST_RETURN_DATA:
            r = complete[0]
            yield finding(
                ID,
                Outcome.PASS,
                f"{label} is covered by {r.name}: {r.threshold[1]} {r.threshold[2]} for {r.for_s:g}s",  # type: ignore[index]
                [listing],
                subject=category,
            )
            continue
        yield _returns_data(prom, label, category, complete, listing)


def _returns_data(
    prom: PrometheusClient, label: str, category: str, rules: list[AlertRule], listing: Evidence
) -> Finding:
    """The best outcome among the rules covering one category: one working rule is enough."""
    results: list[tuple[Outcome, str, list[Evidence]]] = []
    for rule in rules:
        measured, op, limit = rule.threshold  # type: ignore[misc]
        try:
            answer = prom.query(measured)
        except PrometheusError as exc:
            results.append((Outcome.COULD_NOT_CHECK, f"{rule.name}: query failed: {exc}", []))
            continue
        series = (answer.data or {}).get("result", []) or []
        ev = [answer.http.evidence(f"{measured} -> {len(series)} series")]
        head = f"{label} is covered by {rule.name} ({op} {limit} for {rule.for_s:g}s)"
        if series:
            results.append((Outcome.PASS, f"{head}; its expression returns {len(series)} series", ev))
            continue
        present: list[str] = []
        absent: list[str] = []
        for name in metric_names(measured):
            try:
                sub = prom.query(f"count({{__name__={name!r}}})".replace("'", '"'))
            except PrometheusError:
                absent.append(name)
                continue
            (present if (sub.data or {}).get("result") else absent).append(name)
            ev.append(sub.http.evidence(f"{name}: {'present' if name in present else 'no series'}"))
        if present and not absent:
            results.append(
                (
                    Outcome.WARN,
                    f"{head}, but its expression returns no data right now (its metrics "
                    f"{', '.join(present)} exist): it can only fire once the selected series appear",
                    ev,
                )
            )
        else:
            results.append(
                (
                    Outcome.FAIL,
                    f"{rule.name} returns no data: "
                    + (f"no series for {', '.join(absent)}" if absent else "the expression matches no series"),
                    ev,
                )
            )
    order = [Outcome.PASS, Outcome.WARN, Outcome.COULD_NOT_CHECK, Outcome.FAIL]
    outcome, reason, ev = min(results, key=lambda r: order.index(r[0]))
    remediation = (
        None
        if outcome == Outcome.PASS
        else f"Make the {label} rule select metrics Prometheus scrapes (check names and labels in the "
        "expression browser); add `or vector(0)` where an empty result should read as zero."
    )
    return finding(ID, outcome, reason, [listing, *ev], remediation=remediation, subject=category)
