"""repo.must-have-tested: every 'must have' story has at least one traceable acceptance test.

Evidence wholly absent is not met, not undetermined: the whole tree was read, so no user
story, no MoSCoW priority, or no story of this priority FAILs (could-not-check is kept for
a repository that could not be read). Demoting every story must not be a way out of the check.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import monitoring, repository, stories
from harness.probes.monitoring import evidence, listing

ID = "repo.must-have-tested"


@check(
    ID,
    title="Every 'must have' user story has an acceptance test",
    failure_title="Some 'must have' user stories have no acceptance test",
    proves="The 'must have' needs are each proved by an automated acceptance test that names the story (UN-2).",
    remediation="Write an acceptance test for each 'must have' story and name the story id in it "
    "(test name, marker, describe title or Gherkin tag).",
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    yield from judge(ctx, ID, "must", "must have")


def judge(ctx: Context, check_id: str, priority: str, words: str) -> Iterator[Finding]:
    """Shared by the must/should checks: the stories of one priority and their tests."""
    repo = repository.get(ctx)
    why = monitoring.unreadable(repo)
    if why:
        yield finding(check_id, Outcome.COULD_NOT_CHECK, why)
        return
    model = stories.get(ctx)
    head = model.head
    if not model.stories:
        yield finding(
            check_id,
            Outcome.FAIL,
            f"no user story in any Markdown or .feature file, so no '{words}' need is identified or tested",
            remediation=f"Commit user stories with MoSCoW priorities, and an acceptance test naming each '{words}' "
            "story's id.",
        )
        return
    if not model.prioritised:
        yield finding(
            check_id,
            Outcome.FAIL,
            f"{len(model.stories)} user stories, but none carries a MoSCoW priority: no '{words}' need is identified",
            [evidence(s.loc, f"story {s.id or s.title[:40]}", head) for s in model.stories[:5]],
            remediation="Mark each story's MoSCoW priority ('Priority: Must have') or group stories under "
            "'## Must have' / '## Should have' headings.",
        )
        return
    tested, untested = stories.coverage(model, priority)
    if not tested and not untested:
        counts = {p: sum(1 for s in model.prioritised if s.priority == p) for p in stories.PRIORITIES}
        yield finding(
            check_id,
            Outcome.FAIL,
            f"stories are prioritised ({', '.join(f'{n} {p}' for p, n in counts.items() if n)}) but none is "
            f"'{words}': nothing shows this criterion is met",
            [evidence(s.loc, f"{s.priority}: {s.id or s.title[:40]}", head) for s in model.prioritised[:5]],
        )
        return
    if tested:
        yield finding(
            check_id,
            Outcome.PASS,
            f"{len(tested)} '{words}' stor{'y is' if len(tested) == 1 else 'ies are'} tested: "
            + listing([f"{s.id} ← {t[0].test} ({t[0].loc})" for s, t in tested]),
            [evidence(t[0].loc, f"{s.id}: {t[0].test}", head) for s, t in tested[:20]],
        )
    if untested:
        skipped = {s.id for s in untested if model.skipped_for(s)}
        yield finding(
            check_id,
            Outcome.FAIL,
            f"{len(untested)} '{words}' stor{'y has' if len(untested) == 1 else 'ies have'} no acceptance test: "
            + listing(
                [
                    s.label + (" (no id to trace)" if not s.id else " (only skipped tests)" if s.id in skipped else "")
                    for s in untested
                ]
            ),
            [evidence(s.loc, f"untested {words} story {s.id or s.title[:40]}", head, s.text) for s in untested[:15]],
        )
