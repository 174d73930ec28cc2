"""repo.dashboards: visualisations are committed as code (Grafana, Prometheus consoles, cloud dashboards).

A dashboard counts when it has panels with queries: an empty board visualises
nothing. Grafana provisioning without any dashboard JSON is reported too, since it
loads nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import monitoring, repository
from harness.probes.monitoring import Loc, evidence, listing

ID = "repo.dashboards"


@check(
    ID,
    title="Dashboards with queried panels are committed as code",
    failure_title="No dashboard with queries is committed",
    proves="The metrics are visualised in dashboards that are versioned and reproducible (OP-2).",
    remediation="Commit a Grafana dashboard JSON (with panels querying your metrics) and its provisioning, "
    "Prometheus console templates, or a cloud dashboard in your IaC.",
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
    for path, problem in model.problems:
        if path.endswith(".json"):
            yield finding(
                ID,
                Outcome.FAIL,
                f"{path} cannot be read as a dashboard: {problem}",
                [evidence(Loc(path, 1), problem, head)],
                remediation=f"Fix the JSON in {path} (export it again from Grafana).",
                subject=path,
            )
    useful = []
    for board in model.dashboards:
        queries = [q for p in board.panels for q in p.queries]
        if board.panels and (queries or board.kind != "grafana"):
            useful.append(board)
            titles = [p.title for p in board.panels]
            yield finding(
                ID,
                Outcome.PASS,
                f"{board.kind} dashboard '{board.title}' ({board.loc}): "
                f"{len(board.panels)} panel(s): {listing(titles, 8)}",
                [evidence(board.loc, f"{board.kind} dashboard {board.title}", head, "\n".join(queries[:20]))],
                subject=board.loc.path,
            )
        else:
            yield finding(
                ID,
                Outcome.WARN,
                f"{board.kind} dashboard '{board.title}' ({board.loc}) has no panel with a query",
                [evidence(board.loc, f"{board.kind} dashboard {board.title}", head)],
                remediation="Add panels whose targets query the metrics you alert on.",
                subject=board.loc.path,
            )
    grafana_boards = [b for b in model.dashboards if b.kind == "grafana"]
    for loc in model.grafana_provisioning:
        yield finding(
            ID,
            Outcome.PASS if grafana_boards else Outcome.WARN,
            f"Grafana provisioning {loc}" + ("" if grafana_boards else " but no Grafana dashboard JSON to load"),
            [evidence(loc, "Grafana provisioning", head)],
            remediation=None if grafana_boards else "Commit the dashboard JSON files the provider points at.",
        )
    if not useful:
        yield finding(ID, Outcome.FAIL, "no dashboard with queried panels: no Grafana JSON, console or cloud dashboard")
