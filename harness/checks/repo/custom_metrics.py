"""repo.custom-metrics: the application defines metrics of its own, beyond default instrumentation.

Request counters, latency histograms and process/runtime metrics are what any
client library or middleware gives; they are listed apart. A custom metric
measures the service's own behaviour (tasks created, queue depth, cache hits),
the evidence OP-D1 asks for and what OP-D2's discussion starts from.
Definitions in test files do not count.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import monitoring, repository
from harness.probes.monitoring import evidence, listing

ID = "repo.custom-metrics"


@check(
    ID,
    title="The application defines custom metrics of its own",
    failure_title="The application defines no custom metric beyond standard instrumentation",
    proves="The service measures its own behaviour (business or domain metrics), not only the defaults a client "
    "library gives, so that improvement areas can be found from data (OP-D1, OP-D2).",
    remediation="Define a metric for something only your service knows, e.g. "
    "Counter('tasks_created_total', 'Tasks created', ['priority']), and increment it where it happens.",
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    why = monitoring.unreadable(repo)
    if why:
        yield finding(ID, Outcome.COULD_NOT_CHECK, why)
        return
    model = monitoring.get(ctx)
    head = model.head
    if not model.app_code_files:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "no application code found at HEAD: no metric definitions to read")
        return
    custom = [m for m in model.metrics if not m.standard]
    standard = [m for m in model.metrics if m.standard]
    std_ev = [evidence(m.loc, f"standard {m.type} {m.name} ({m.library})", head) for m in standard[:10]]
    if standard:
        yield finding(
            ID,
            Outcome.PASS if custom else Outcome.FAIL,
            ("" if custom else "no custom metric, only ")
            + f"standard instrumentation (not custom): {listing([m.name for m in standard])}",
            std_ev,
        )
    if custom:
        yield finding(
            ID,
            Outcome.PASS,
            f"{len(custom)} custom metric(s): " + listing([f"{m.name} ({m.type}, {m.loc})" for m in custom]),
            [evidence(m.loc, f"custom {m.type} {m.name} ({m.library})", head) for m in custom[:20]],
        )
    elif not standard:
        yield finding(ID, Outcome.FAIL, "the application defines no metric at all (no Counter/Gauge/Histogram/meter)")
