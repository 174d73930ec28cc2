"""repo.delivery-metrics: deployment events, lead time, deployment frequency and recovery time from git.

Evidence for the assessor, never a verdict: the outcome is MANUAL. The catalogue maps it to UN-3
(decided by the assessor) and, as evidence only (`evidence_only`, not graded), to CI-2 and PR-1,
so these figures can neither meet nor hold back a criterion. Each figure is printed with its
definition, the events it used and DORA's published band (harness/data/dora_bands.yaml).
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.checks.repo import delivery_ci
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import delivery, git_history
from harness.probes.delivery import DEFINITIONS, band, duration

ID = "repo.delivery-metrics"
MAX_SHOWN = 10  # events of each kind in the evidence; the counts cover them all


@check(
    ID,
    title="Delivery metrics from the history (lead time, deployment frequency, recovery time)",
    failure_title="No deployment or recovery events in the history",
    proves=(
        "Pre-fills evidence for time to recovery (UN-3) and for commits reaching users (CI-2, PR-1): "
        "deployment events, lead time for changes, deployment frequency and recovery time, each against "
        "DORA's published bands. The assessor decides."
    ),
    remediation=(
        "Record each deployment in the history: tag the deployed commit (e.g. `git tag -a deploy-2024-05-01`, "
        "or v1.2.0 from the release job), and undo a breaking change with `git revert` so the history names it."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    history, why = git_history.history_or_reason(ctx)
    yield from delivery_ci.findings(ctx, history)
    if history is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, why, remediation=git_history.remediation_for(why))
        return
    d = delivery.measure(history)
    figures: list[str] = []
    evidence: list[Evidence] = []

    def metric(key: str, value: float | None, shown: str, count: int) -> None:
        data: dict[str, object] = {"metric": key, "definition": DEFINITIONS[key], "events": count}
        if value is None:
            evidence.append(Evidence(kind="metric", summary=f"{key.replace('_', ' ')}: not measurable", data=data))
            return
        placed = band(key, value)
        figures.append(f"{shown} [{placed}]")
        data.update(seconds=round(value), band=placed)
        evidence.append(Evidence(kind="metric", summary=f"{shown} [{placed}] ({DEFINITIONS[key]})", data=data))

    lead = d.median_lead_time
    metric("lead_time", lead, f"median lead time {duration(lead or 0)}", len(d.lead_times))
    interval = d.mean_interval
    if interval is not None:
        per_week = 604800 / max(interval, 1)
        shown = f"{per_week:.2f} deployments per week (one every {duration(interval)})"
    else:
        shown = ""
    metric("deployment_interval", interval, shown, len(d.events))
    rec = d.median_recovery
    metric("recovery_time", rec, f"median recovery time {duration(rec or 0)}", len(d.recoveries))
    evidence.append(
        Evidence(
            kind="note", summary=f"{len(d.events)} deployment events", data={"definition": DEFINITIONS["deployments"]}
        )
    )
    for e in d.events[-MAX_SHOWN:]:
        deployed = sum(1 for ev in d.deployed_by.values() if ev == e)
        evidence.append(
            Evidence(
                kind="commit",
                summary=f"deployment ({e.kind}) {e.name} at {e.at.isoformat()}: {deployed} commits first deployed",
                commit=e.sha,
                timestamp=e.at.isoformat(),
                data={"kind": e.kind, "name": e.name, "commits_deployed": deployed},
            )
        )
    for r in d.recoveries[-MAX_SHOWN:]:
        evidence.append(
            git_history.commit_evidence(
                r.restored,
                f"{r.restored.short} restored {r.broken.short} after {duration(r.seconds)} ({r.how})",
                broken_commit=r.broken.sha,
                recovery_seconds=r.seconds,
            )
        )
    if figures:
        reason = "; ".join(figures)
    else:
        reason = "no deployment events and no broken-then-restored changes in the history"
    counts = f"{len(d.events)} deployment events, {len(d.recoveries)} recoveries"
    yield finding(ID, Outcome.MANUAL, f"{reason} ({counts}); evidence for the assessor, who decides", evidence)
