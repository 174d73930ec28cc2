"""live.prometheus-targets: Prometheus scrapes the application and the hosts, and every target is up."""

from __future__ import annotations

import time
from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes.http import client_for
from harness.probes.prometheus import ApiAnswer, PrometheusClient, PrometheusError, parse_duration, target_role

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
        answer = _scraped_targets(prom, ctx)
    except PrometheusError as exc:
        yield finding(ID, Outcome.COULD_NOT_CHECK, f"Prometheus did not list its targets: {exc}", subject=url)
        return
    targets = _active(answer)
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
            never = r["health"] in ("", "unknown")
            why = r["last_error"] or ("not scraped once while the check waited" if never else f"health {r['health']}")
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


# The longest wait for a first scrape: targets discovered with a longer interval are judged as they are.
FIRST_SCRAPE_WAIT_S = 20.0


def _active(answer: ApiAnswer) -> list[dict]:
    data = answer.data if isinstance(answer.data, dict) else {}
    return [t for t in data.get("activeTargets", []) or [] if isinstance(t, dict)]


def _pending(targets: list[dict]) -> list[dict] | None:
    """Targets not scraped once yet; None when Prometheus has discovered none (it may have just started)."""
    if not targets:
        return None
    return [t for t in targets if t.get("health", "unknown") in ("", "unknown")]


def _scraped_targets(prom: PrometheusClient, ctx: Context) -> ApiAnswer:
    """The targets once each has been scraped at least once.

    A target Prometheus discovered moments ago (a replaced instance, a restarted Prometheus) has health
    "unknown" until its first scrape, one scrape interval at most, and a Prometheus that has just started
    lists none until its first discovery: neither is a down target, so wait for it (bounded by the interval
    and the check's deadline) rather than fail the platform on it."""
    answer = prom.targets()
    pending = _pending(_active(answer))
    if pending == []:
        return answer
    interval = max((parse_duration(t.get("scrapeInterval")) for t in pending or []), default=0.0) or 15.0
    end = time.monotonic() + min(FIRST_SCRAPE_WAIT_S, interval * 2 + 1, max(0.0, ctx.remaining() - 5))
    while time.monotonic() < end and not ctx.cancelled:
        time.sleep(min(0.5, max(0.05, end - time.monotonic())))
        answer = prom.targets()
        if _pending(_active(answer)) == []:
            break
    return answer
