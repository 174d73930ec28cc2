"""live.prometheus-targets: Prometheus scrapes the application and the hosts, and every target is up."""

from __future__ import annotations

import time
from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes.http import client_for
from harness.probes.prometheus import PrometheusClient, PrometheusError, target_role

ID = "live.prometheus-targets"


@check(
    ID,
    title="Prometheus scrapes the application and host targets, and all are up",
    failure_title="Prometheus targets are down or missing: the platform is not fully monitored",
    proves="Metrics for the running application and its hosts are being collected right now (OP-1).",
    remediation=(
        "Add scrape jobs for every application instance and a host exporter (node-exporter), "
        "and fix each down target using its lastError (address, port, path, network)."
    ),
    source="live",
    timeout=30,
)
def run(ctx: Context) -> Iterator[Finding]:
    url = ctx.config.live.prometheus_url
    if not url:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "live.prometheus_url is not set: no Prometheus to ask")
        return
    prom = PrometheusClient(url, client_for(ctx), time.monotonic() + ctx.remaining())
    try:
        answer = prom.targets()
    except PrometheusError as exc:
        yield finding(ID, Outcome.COULD_NOT_CHECK, f"Prometheus did not list its targets: {exc}", subject=url)
        return
    targets = (answer.data or {}).get("activeTargets", []) or []
    rows = [
        {
            "job": t.get("labels", {}).get("job", t.get("scrapePool", "")),
            "instance": t.get("labels", {}).get("instance", ""),
            "scrape_url": t.get("scrapeUrl", ""),
            "health": t.get("health", ""),
            "last_error": t.get("lastError", ""),
            "last_scrape": t.get("lastScrape", ""),
            "role": target_role(t),
        }
        for t in targets
    ]
    by_job: dict[str, list[str]] = {}
    for r in rows:
        by_job.setdefault(r["job"], []).append(f"{r['instance']} {r['health']}")
    evidence = [
        Evidence(
            kind="http",
            summary=f"{len(rows)} active targets in {len(by_job)} jobs",
            url=answer.http.url,
            timestamp=answer.http.started,
            excerpt="\n".join(f"{job}: {', '.join(v)}" for job, v in sorted(by_job.items())),
            data={"targets": rows},
        )
    ]
    if not rows:
        yield finding(ID, Outcome.FAIL, "Prometheus has no active scrape targets", evidence, subject=url)
        return
    for r in rows:
        if r["health"] != "up":
            why = r["last_error"] or f"health {r['health'] or 'unknown'}"
            yield finding(
                ID,
                Outcome.FAIL,
                f"target {r['instance']} (job {r['job']}) is {r['health'] or 'unknown'}: {why}",
                evidence,
                remediation=f"Make {r['scrape_url']} answer Prometheus's scrape ({why}).",
                subject=r["scrape_url"],
            )
    for role, label in (("app", "application"), ("host", "host (node-exporter or similar)")):
        up = [r for r in rows if r["role"] == role and r["health"] == "up"]
        if up:
            jobs = sorted({r["job"] for r in up})
            yield finding(
                ID, Outcome.PASS, f"{len(up)} {label} target(s) up in job(s) {', '.join(jobs)}", evidence, subject=role
            )
        else:
            yield finding(
                ID,
                Outcome.FAIL,
                f"no {label} target is up",
                evidence,
                remediation=(
                    "Scrape the application's /metrics endpoint"
                    if role == "app"
                    else "Run node-exporter (or cAdvisor, windows-exporter) on each host and scrape it"
                )
                + " from Prometheus.",
                subject=role,
            )
