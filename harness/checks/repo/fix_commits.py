"""repo.fix-commits: commits that fixed a broken build or a defect, with a recovery-time estimate.

Evidence for the assessor (CQ-4, UN-3), never a verdict: the outcome is MANUAL.
The breaking commit is a revert's target (matched by subject) or else the
previous commit that touched the same files; the time between the two is a
rough time-to-recovery.
"""

from __future__ import annotations

import bisect
import re
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import git_history, git_ownership
from harness.probes.git_history import Commit

ID = "repo.fix-commits"
MAX_SHOWN = 15

FIX_SUBJECT = re.compile(
    r"(?ix)"
    r"^(?:fix|fixes|fixed|fixing|bugfix|bug\ fix|hotfix|revert|resolve[sd]?)\b"  # leading verb
    r"|^(?:fix|bugfix|hotfix|revert)(?:\([^)]*\))?!?:"  # conventional commits: fix(api): ...
    r"|^revert\ \""  # git revert's own subject
    r"|\bfix(?:e[sd])?\ (?:the\ )?(?:build|ci|pipeline|tests?|lint|deploy(?:ment)?)\b"
    r"|\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\ \#\d+"
)
_REVERT = re.compile(r'^Revert "(.*)"\s*$')


@dataclass(frozen=True)
class Fix:
    commit: Commit
    breaking: Commit | None
    how: str  # how the breaking commit was found

    @property
    def hours(self) -> float | None:
        if self.breaking is None:
            return None
        return max(0.0, (self.commit.committed - self.breaking.committed).total_seconds() / 3600)


def find_fixes(own: list[Commit]) -> list[Fix]:
    """Fix commits among `own` (newest first), each with its likely breaking commit."""
    chrono = sorted((c for c in own if not c.is_merge), key=lambda c: c.committed)
    index = {c.sha: i for i, c in enumerate(chrono)}
    touches: dict[str, list[int]] = defaultdict(list)  # path -> indexes of commits touching it, ascending
    for i, c in enumerate(chrono):
        for f in c.files:
            touches[f.path].append(i)
    by_subject = {c.subject: c for c in chrono}
    fixes = []
    for c in reversed(chrono):
        if not FIX_SUBJECT.search(c.subject):
            continue
        i = index[c.sha]
        reverted = _REVERT.match(c.subject)
        target = by_subject.get(reverted.group(1)) if reverted else None
        if target is not None and target.committed <= c.committed:
            fixes.append(Fix(c, target, "the reverted commit"))
            continue
        prior = -1
        for f in c.files:
            seq = touches[f.path]
            k = bisect.bisect_left(seq, i) - 1
            if k >= 0:
                prior = max(prior, seq[k])
        fixes.append(Fix(c, chrono[prior] if prior >= 0 else None, "the previous commit touching the same files"))
    return fixes


@check(
    ID,
    title="Commits that fixed a build or a defect, for the assessor",
    failure_title="No commits that fixed a build or a defect were found",
    proves=(
        "Pre-fills evidence for troubleshooting (CQ-4) and time to recovery (UN-3): the fixes and how "
        "long after the breaking change they landed. The assessor decides."
    ),
    remediation=(
        "Be ready to walk the assessor through one issue you found and fixed; name fix commits clearly "
        "(e.g. 'fix: ...', 'Revert ...', 'fixes #12') so the history shows them."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    history, why = git_history.history_or_reason(ctx)
    if history is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, why, remediation=git_history.remediation_for(why))
        return
    owned = git_ownership.get_ownership(ctx)
    fixes = find_fixes(owned.own)
    if not fixes:
        yield finding(
            ID,
            Outcome.MANUAL,
            f"no fix, revert or 'closes #N' commit among {len(owned.own)} own commits; ask the apprentice "
            "for an example of an issue found and fixed",
            [Evidence(kind="metric", summary=f"{len(owned.own)} own commits searched", commit=history.head)],
        )
        return
    hours = [h for h in (f.hours for f in fixes) if h is not None]
    median = statistics.median(hours) if hours else None
    evidence = [
        Evidence(
            kind="metric",
            summary=f"{len(fixes)} fix commits"
            + (f"; median {median:.1f} h from the breaking commit to its fix ({len(hours)} measured)" if hours else ""),
            data={
                "fix_commits": len(fixes),
                "measured": len(hours),
                "median_recovery_hours": round(median, 2) if median is not None else None,
                "method": "breaking commit = a revert's target, else the previous own commit touching the same files",
            },
        )
    ]
    for fx in fixes[:MAX_SHOWN]:
        after = (
            f", {fx.hours:.1f} h after {fx.breaking.short} ({fx.how})" if fx.breaking and fx.hours is not None else ""
        )
        evidence.append(
            git_history.commit_evidence(
                fx.commit,
                f"{fx.commit.short} {fx.commit.subject}{after}",
                breaking_commit=fx.breaking.sha if fx.breaking else None,
                recovery_hours=round(fx.hours, 2) if fx.hours is not None else None,
            )
        )
    reason = f"{len(fixes)} fix commits found" + (
        f", median time from the breaking commit to the fix {median:.1f} h (an estimate)" if median is not None else ""
    )
    yield finding(ID, Outcome.MANUAL, reason + "; the assessor decides", evidence)
