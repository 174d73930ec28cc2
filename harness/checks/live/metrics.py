"""live.metrics: the metrics endpoint exposes CPU, memory, a request counter by status and a latency histogram."""

from __future__ import annotations

import re
from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import metrics
from harness.probes.metrics import Family, Scrape

ID = "live.metrics"
CPU = ("process_cpu_seconds_total", "node_cpu_seconds_total", "container_cpu_usage_seconds_total")
MEMORY = (
    "process_resident_memory_bytes",
    "node_memory_MemAvailable_bytes",
    "container_memory_working_set_bytes",
    "container_memory_usage_bytes",
)
STATUS_LABELS = ("status", "code", "status_code", "http_status", "http_response_status_code", "response_code")
LATENCY_HINT = re.compile(r"(duration|latency|seconds|time)", re.I)


def _samples(family: Family, limit: int = 5) -> list[dict[str, object]]:
    return [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples[:limit]]


def _metric_evidence(what: str, family: Family, extra: str = "") -> Evidence:
    return Evidence(
        kind="metric",
        summary=f"{what}: {family.name} ({family.type}){extra}",
        data={"family": family.name, "type": family.type, "samples": _samples(family)},
    )


def find_named(scrape: Scrape, names: tuple[str, ...]) -> tuple[Family, str] | None:
    """The first family exposing one of these sample names, with the name found."""
    by_sample = scrape.by_sample_name()
    for name in names:
        if name in by_sample:
            return by_sample[name], name
    return None


def find_request_counter(scrape: Scrape) -> tuple[Family, str] | None:
    """A counter labelled by HTTP status, from which an error rate can be computed."""
    for fam in scrape.families:
        if fam.type != "counter":
            continue
        labels = fam.label_names()
        for label in STATUS_LABELS:
            if label in labels:
                return fam, label
    return None


def find_latency_histogram(scrape: Scrape) -> Family | None:
    histograms = [f for f in scrape.families if any(s.name.endswith("_bucket") and "le" in s.labels for s in f.samples)]
    histograms.sort(key=lambda f: not LATENCY_HINT.search(f.name))
    return histograms[0] if histograms else None


def scrape_problem(scrape: Scrape, check_id: str) -> Finding | None:
    """A finding for a scrape that produced nothing to judge, else None (shared with live.custom-metrics)."""
    if scrape.ok:
        if not scrape.families:
            return finding(check_id, Outcome.FAIL, f"{scrape.url} exposes no metric at all", [scrape.evidence()])
        return None
    outcome = Outcome.FAIL if scrape.error_kind in ("unparseable", "status") else Outcome.COULD_NOT_CHECK
    return finding(
        check_id,
        outcome,
        scrape.error,
        [scrape.evidence()],
        subject=scrape.url,
        remediation=None
        if outcome is Outcome.FAIL
        else "Make the metrics endpoint reachable from where harness runs (or set live.metrics_url).",
    )


@check(
    ID,
    title="Metrics cover CPU, memory, requests by status (error rate) and request latency",
    failure_title="The metrics endpoint is missing, unreadable, or lacks CPU, memory, error-rate or latency metrics",
    proves="Monitoring has the signals to show resource use, error rate and performance right now (OP-1).",
    remediation=(
        "Instrument the app with the Prometheus client (process collector for CPU/RAM), a request counter "
        "labelled by status code and a latency histogram, or run node-exporter/cAdvisor; expose /metrics."
    ),
    source="live",
    timeout=30,
)
def run(ctx: Context) -> Iterator[Finding]:
    if not metrics.metrics_url(ctx):
        yield finding(ID, Outcome.COULD_NOT_CHECK, metrics.NO_METRICS_URL_REASON)
        return
    scrape = metrics.scrape(ctx)
    problem = scrape_problem(scrape, ID)
    if problem is not None:
        yield problem
        return
    url = scrape.url
    base = [scrape.evidence()]
    for what, names, fix in (
        ("CPU", CPU, "Expose CPU use: the Prometheus client's process collector or node-exporter/cAdvisor."),
        ("memory", MEMORY, "Expose memory use: the client's process collector or node-exporter/cAdvisor."),
    ):
        found = find_named(scrape, names)
        if found:
            fam, name = found
            yield finding(
                ID, Outcome.PASS, f"{what} use is exposed as {name}", [_metric_evidence(what, fam)], subject=url
            )
        else:
            yield finding(
                ID,
                Outcome.FAIL,
                f"no {what} metric (looked for {', '.join(names)})",
                base,
                remediation=fix,
                subject=url,
            )
    counter = find_request_counter(scrape)
    if counter:
        fam, label = counter
        total = f"{fam.name}_total" if not fam.name.endswith("_total") else fam.name
        values = sorted({s.labels[label] for s in fam.samples if label in s.labels})
        yield finding(
            ID,
            Outcome.PASS,
            f"requests are counted by status in {total} (label {label!r}: {', '.join(values[:10])}): "
            f'error rate = rate of {label}=~"5.." over all',
            [_metric_evidence("request counter", fam, f", label {label}")],
            subject=url,
        )
    else:
        yield finding(
            ID,
            Outcome.FAIL,
            "no counter labelled by HTTP status code: the error rate cannot be computed",
            base,
            remediation='Count requests in a counter with a status label, e.g. http_requests_total{status="500"}.',
            subject=url,
        )
    hist = find_latency_histogram(scrape)
    if hist:
        buckets = sorted({s.labels["le"] for s in hist.samples if "le" in s.labels}, key=_le_key)
        yield finding(
            ID,
            Outcome.PASS,
            f"latency is measured by the histogram {hist.name} (buckets {', '.join(buckets[:12])})",
            [_metric_evidence("latency histogram", hist)],
            subject=url,
        )
    else:
        yield finding(
            ID,
            Outcome.FAIL,
            "no latency histogram (no *_bucket family with an `le` label)",
            base,
            remediation="Record request durations in a histogram, e.g. http_request_duration_seconds.",
            subject=url,
        )


def _le_key(le: str) -> float:
    try:
        return float(le)
    except ValueError:
        return float("inf")
