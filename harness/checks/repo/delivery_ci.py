"""repo.delivery-metrics, the CI part: failed runs on the branch and the time to the next green run,
deployment runs and the lead time of their commits, from the CI's API (harness.probes.ci_history).

Findings of repo.delivery-metrics with subject "ci-history": MANUAL (evidence for the assessor) when
read, could_not_check when the API cannot be read; nothing at all when no CI history is configured.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator

from harness.checks.base import finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import ci_history
from harness.probes.ci_history import DEFINITIONS, CiError
from harness.probes.delivery import banded_metric, duration
from harness.probes.git_history import History

ID = "repo.delivery-metrics"
SUBJECT = "ci-history"
MAX_SHOWN = 10
REMEDIATION = (
    "Set repository.ci_history.provider (github or gitlab), project and token_env in the operator's settings, "
    "and export a read-only token in that variable (GitHub: actions:read; GitLab: read_api)."
)


def findings(ctx: Context, history: History | None) -> Iterator[Finding]:
    ci = ctx.config.repository.ci_history
    if not ci.provider:
        return
    missing = ci_history.configured(ci)
    if missing:
        yield finding(
            ID, Outcome.COULD_NOT_CHECK, f"CI history not read: {missing}", remediation=REMEDIATION, subject=SUBJECT
        )
        return
    try:
        hist = ci_history.read(ci)
    except CiError as exc:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"the {ci.provider} CI history could not be read: {exc}",
            remediation=REMEDIATION,
            subject=SUBJECT,
        )
        return
    evidence: list[Evidence] = []
    rec = hist.median_recovery
    if rec is not None:
        done = sum(1 for s in hist.streaks if s.green is not None)
        shown = f"median time to the next green run {duration(rec)}"
        evidence.append(
            banded_metric("ci_recovery", shown, rec, DEFINITIONS["ci_recovery"], "recovery_time", events=done)
        )
    leads = _lead_times(hist, history)
    if leads:
        lead = statistics.median(leads.values())
        shown = f"median lead time by the CI {duration(lead)}"
        evidence.append(
            banded_metric("ci_lead_time", shown, lead, DEFINITIONS["ci_lead_time"], "lead_time", events=len(leads))
        )
    figures = [e.summary[: e.summary.index("] (") + 1] for e in evidence]  # the value and its band
    for s in hist.streaks[-MAX_SHOWN:]:
        after = (
            f"green after {duration(s.seconds)} (run {s.green.id})"
            if s.green and s.seconds is not None
            else "still red at the newest run read"
        )
        evidence.append(
            Evidence(
                kind="note",
                summary=f"{s.first_failed.workflow}: run {s.first_failed.id} failed "
                f"({s.failed} failed in a row) at {s.first_failed.updated.isoformat()}; {after}",
                url=s.first_failed.url or None,
                commit=s.first_failed.sha or None,
                data={
                    "failed_run": s.first_failed.id,
                    "failed": s.failed,
                    "green_run": s.green.id if s.green else None,
                    "seconds": s.seconds,
                },
            )
        )
    for d in hist.deployments[-MAX_SHOWN:]:
        evidence.append(
            Evidence(
                kind="note",
                summary=f"{d.workflow} run {d.id} deployed {d.sha[:12]} at {d.updated.isoformat()}",
                url=d.url or None,
                commit=d.sha or None,
                data={"run": d.id, "lead_time_s": leads.get(d.id)},
            )
        )
    counts = (
        f"{len(hist.runs)} completed runs on {hist.branch} read ({hist.pages} pages"
        f"{', more not read: the page limit' if hist.truncated else ''}), {len(hist.failed_runs)} failed, "
        f"{len(hist.deployments)} deployment runs"
    )
    reason = "; ".join(figures) or "no failed-then-green runs and no deployment runs with a known commit"
    yield finding(
        ID,
        Outcome.MANUAL,
        f"CI history ({ci.provider}): {reason} ({counts}); evidence for the assessor",
        evidence,
        subject=SUBJECT,
    )


def _lead_times(hist: ci_history.CiHistory, history: History | None) -> dict[str, int]:
    """deployment run id -> seconds from its commit's date to the run's end (commits the history knows)."""
    if history is None:
        return {}
    out = {}
    for d in hist.deployments:
        c = history.by_sha.get(d.sha)
        if c is not None:
            out[d.id] = max(0, int((d.updated - c.committed).total_seconds()))
    return out
