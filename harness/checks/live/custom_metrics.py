"""live.custom-metrics: the application exposes metric families of its own, beyond standard instrumentation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from harness.checks.base import check, finding
from harness.checks.live.metrics import scrape_problem
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import metrics

ID = "live.custom-metrics"


@cache
def standard() -> dict[str, Any]:
    text = resources.files("harness.data").joinpath("standard_metrics.json").read_text(encoding="utf-8")
    return json.loads(text)


def is_standard(name: str) -> bool:
    data = standard()
    return name in data["exact"] or any(name.startswith(p) for p in data["prefixes"])


@check(
    ID,
    title="The application exposes custom metrics of its own",
    failure_title="No custom metric: only standard client, exporter or HTTP instrumentation is exposed",
    proves="The team measures what matters to its own service, beyond defaults: improvement areas (OP-D1).",
    remediation=(
        "Add metrics about the application's own behaviour (e.g. orders created, queue depth, cache hit ratio, "
        "business errors) with the Prometheus client, and graph or alert on them."
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
    names = {f.name for f in scrape.families}
    # The Prometheus text format gives a counter's `_created` timestamp a family of its own: not a metric.
    custom = [
        f
        for f in scrape.families
        if not is_standard(f.name) and not (f.name.endswith("_created") and f.name[: -len("_created")] in names)
    ]
    if not custom:
        all_names = sorted(f.name for f in scrape.families)
        yield finding(
            ID,
            Outcome.FAIL,
            f"all {len(all_names)} families at {scrape.url} are standard instrumentation",
            [scrape.evidence(), Evidence(kind="note", summary="families found", data={"families": all_names[:200]})],
            subject=scrape.url,
        )
        return
    evidence = [
        Evidence(
            kind="metric",
            summary=f"{f.name} ({f.type}): {f.help[:100]}",
            data={
                "family": f.name,
                "type": f.type,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples[:5]],
            },
        )
        for f in custom[:30]
    ]
    listed = ", ".join(f"{f.samples[0].name}={f.samples[0].value:g}" if f.samples else f.name for f in custom[:10])
    yield finding(
        ID, Outcome.PASS, f"{len(custom)} custom families at {scrape.url}: {listed}", evidence, subject=scrape.url
    )
