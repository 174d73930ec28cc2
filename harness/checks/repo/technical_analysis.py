"""repo.technical-analysis: the submission's 'technical breadth': an analysis of at most 300 words
saying which project areas evidence which KSBs."""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import inventory, submission

ID = "repo.technical-analysis"


@check(
    ID,
    title="A technical-breadth analysis of at most 300 words names the KSBs the project evidences",
    failure_title="The technical-breadth analysis is missing, over 300 words, or names no KSB",
    proves="The submission maps project areas to KSBs within the specification's 300-word limit (SR-2).",
    remediation=(
        "Write a short analysis (at most 300 words) under a heading such as '## Technical breadth analysis', "
        "or in docs/analysis.md, saying which project areas evidence which KSBs (K1..K25, S1..S22, B1..B4)."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    found = submission.analyses(ctx, repo)
    if not found:
        yield finding(ID, Outcome.FAIL, "no analysis found by heading or file name (analysis, technical breadth, KSB)")
        return
    # The candidate naming the most KSBs is the analysis; others are listed beside it.
    best = max(found, key=lambda a: (len(a.ksbs), -a.words))
    evidence = [
        inventory.evidence_at(
            repo,
            a.path,
            a.line,
            f"{a.heading}: {a.words} words, {len(a.ksbs)} KSB(s) named",
            end_line=a.end_line,
            data={"words": a.words, "limit": submission.WORD_LIMIT, "ksbs": list(a.ksbs)},
        )
        for a in [best, *[a for a in found if a is not best][:4]]
    ]
    where = f"{best.path}:{best.line}"
    if best.words > submission.WORD_LIMIT:
        reason = f"{where}: {best.words} words, over the {submission.WORD_LIMIT}-word limit"
        yield finding(ID, Outcome.FAIL, reason, evidence, subject=best.path)
    elif not best.ksbs:
        yield finding(
            ID, Outcome.FAIL, f"{where}: names no KSB id (K1..K25, S1..S22, B1..B4)", evidence, subject=best.path
        )
    else:
        reason = f"{where}: {best.words} words (limit {submission.WORD_LIMIT}), names {', '.join(best.ksbs)}"
        yield finding(ID, Outcome.PASS, reason, evidence, subject=best.path)
