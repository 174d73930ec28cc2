"""Grading as the specification says, never crediting missing data.

A criterion is met when every mapped check passes (warnings and not-applicable
do not hold it back; a waived finding stops counting). A failing finding makes
it not met; could-not-check, or checks that did not run, leave it undetermined.
AM1 is Pass when every Pass criterion is met, Distinction when every Pass and
every Distinction criterion is met, Fail when any criterion of the level is not
met; undetermined when nothing failed but something could not be checked.
Criteria decided by the assessor are listed, and make the grade provisional.

A partial run (`--scope`, `--only`, `--skip`) never makes a criterion "met:
every mapped check passed" when some of its checks were left out: it is met on
the checks that ran, names the ones that did not, and the grade is provisional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.catalogue import Catalogue, Criterion
from harness.model import Finding, Outcome

MET, NOT_MET, UNDETERMINED, ASSESSOR, OUT_OF_SCOPE = "met", "not_met", "undetermined", "assessor", "out_of_scope"
GRADE_ORDER = ["fail", "undetermined", "pass", "distinction"]


@dataclass
class CriterionResult:
    criterion: Criterion
    status: str
    reason: str
    held_back_by: list[dict[str, Any]] = field(default_factory=list)
    evidence_checks: list[str] = field(default_factory=list)  # mapped checks that ran

    @property
    def not_run(self) -> list[str]:
        """Mapped checks with no finding in this run (left out of its scope, or never reached)."""
        return [c for c in self.criterion.checks if c not in self.evidence_checks]

    @property
    def partial(self) -> bool:
        """Met, but only on the checks that ran: some mapped checks were left out of this run."""
        return self.status == MET and bool(self.not_run)

    def to_dict(self) -> dict[str, Any]:
        out = self.criterion.to_dict()
        out.update(status=self.status, reason=self.reason, held_back_by=self.held_back_by)
        out.update(checks_not_run=self.not_run, partial=self.partial)
        return out


@dataclass
class Grade:
    value: str  # fail | undetermined | pass | distinction
    provisional: bool
    awaiting_assessor: list[str]
    undetermined: list[str]
    not_met: list[str]
    summary: str
    partial: list[str] = field(default_factory=list)  # met only on the checks that ran

    def reaches(self, gate: str) -> bool:
        if gate == "none":
            return True
        return GRADE_ORDER.index(self.value) >= GRADE_ORDER.index(gate)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "provisional": self.provisional,
            "awaiting_assessor": self.awaiting_assessor,
            "undetermined": self.undetermined,
            "not_met": self.not_met,
            "partial": self.partial,
            "summary": self.summary,
        }


def _ref(f: Finding) -> dict[str, Any]:
    return {"check_id": f.check_id, "outcome": f.outcome.value, "reason": f.reason, "subject": f.subject}


def judge_criterion(
    crit: Criterion, findings_by_check: dict[str, list[Finding]], in_scope: set[str]
) -> CriterionResult:
    ran = [c for c in crit.checks if c in findings_by_check]
    if crit.decided_by_assessor:
        return CriterionResult(crit, ASSESSOR, "decided by the assessor; the evidence found is attached", [], ran)
    scoped = [c for c in crit.checks if c in in_scope]
    if not scoped:
        return CriterionResult(crit, OUT_OF_SCOPE, "none of its checks is in this run's scope", [], ran)
    failing: list[Finding] = []
    unknown: list[Finding] = []
    not_run: list[str] = []
    passes = 0
    for cid in scoped:
        findings = findings_by_check.get(cid)
        if findings is None:
            not_run.append(cid)
            continue
        counted = [f for f in findings if f.counts_against]
        failing += [f for f in counted if f.outcome is Outcome.FAIL]
        unknown += [f for f in counted if f.outcome in (Outcome.COULD_NOT_CHECK, Outcome.MANUAL)]
        passes += sum(1 for f in counted if f.outcome is Outcome.PASS)
        passes += sum(1 for f in findings if f.waiver is not None)
    if failing:
        return CriterionResult(
            crit, NOT_MET, f"{len(failing)} failing finding(s)", [_ref(f) for f in failing + unknown], ran
        )
    if unknown or not_run:
        held = [_ref(f) for f in unknown] + [
            {"check_id": c, "outcome": "could_not_check", "reason": "not run", "subject": None} for c in not_run
        ]
        return CriterionResult(crit, UNDETERMINED, f"{len(held)} check result(s) missing", held, ran)
    if passes == 0:
        # Nothing but not-applicable and warnings: no positive evidence, no verdict.
        return CriterionResult(crit, UNDETERMINED, "no check found positive evidence", [], ran)
    left_out = [c for c in crit.checks if c not in in_scope]
    if left_out:
        return CriterionResult(
            crit,
            MET,
            f"met on the checks that ran ({', '.join(ran)}); not run in this run: {', '.join(left_out)}",
            [],
            ran,
        )
    return CriterionResult(crit, MET, "every mapped check passed", [], ran)


def grade(catalogue: Catalogue, findings: list[Finding], in_scope: set[str]) -> tuple[list[CriterionResult], Grade]:
    by_check: dict[str, list[Finding]] = {}
    for f in findings:
        by_check.setdefault(f.check_id, []).append(f)
    results = [judge_criterion(c, by_check, in_scope) for c in catalogue.criteria]

    def ids(level: str | None, status: str) -> list[str]:
        return [r.criterion.id for r in results if r.status == status and (level is None or r.criterion.level == level)]

    assessor = ids(None, ASSESSOR)
    out_of_scope = ids(None, OUT_OF_SCOPE)
    partial = [r.criterion.id for r in results if r.partial]
    pass_not_met, dist_not_met = ids("pass", NOT_MET), ids("distinction", NOT_MET)
    pass_unknown, dist_unknown = ids("pass", UNDETERMINED), ids("distinction", UNDETERMINED)
    if pass_not_met:
        value = "fail"
        summary = f"Fail: Pass criteria not met: {', '.join(pass_not_met)}"
    elif pass_unknown:
        value = "undetermined"
        summary = f"Undetermined: Pass criteria could not be checked: {', '.join(pass_unknown)}"
    elif dist_not_met or dist_unknown:
        value = "pass"
        summary = "Pass: Distinction criteria not met or not checked: " + ", ".join(dist_not_met + dist_unknown)
    else:
        value = "distinction"
        summary = "Distinction: every automatable Pass and Distinction criterion met"
        if partial or out_of_scope:  # a partial run never claims every criterion
            summary = "Distinction on the checks that ran: every automatable criterion in scope met"
    provisional = bool(assessor or out_of_scope or partial)
    if provisional:
        summary += f" (provisional: {len(assessor)} criteria await the assessor"
        summary += f", {len(partial)} met only on the checks that ran" if partial else ""
        summary += f", {len(out_of_scope)} out of scope)" if out_of_scope else ")"
    return results, Grade(
        value=value,
        provisional=provisional,
        awaiting_assessor=assessor,
        undetermined=pass_unknown + dist_unknown,
        not_met=pass_not_met + dist_not_met,
        summary=summary,
        partial=partial,
    )
