"""repo.acceptance-tests: acceptance tests trace to the user stories by story id.

Which stories have a test, and which test: an id in the test's name, marker,
docstring, describe/it title, or a Gherkin tag on an executed scenario. Skipped
tests do not count. Without stories there is nothing to trace to: could not check.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import monitoring, repository, stories
from harness.probes.monitoring import evidence, listing

ID = "repo.acceptance-tests"


@check(
    ID,
    title="Acceptance tests trace to every user story",
    failure_title="Acceptance tests do not trace to the user stories",
    proves="Each user story has an automated acceptance test that names it, so 'done' is checked by a test, "
    "not by opinion (UN-1).",
    remediation="Name the story in its acceptance tests: `@pytest.mark.story('US-1')`, `def test_us1_…`, "
    "`describe('US-1 …')`, or tag a Gherkin scenario `@US-1` (with step definitions).",
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    why = monitoring.unreadable(repo)
    if why:
        yield finding(ID, Outcome.COULD_NOT_CHECK, why)
        return
    model = stories.get(ctx)
    head = model.head
    if not model.stories:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "no user stories found: there is nothing to trace tests to")
        return
    tested = [(s, model.tests_for(s)) for s in model.stories]
    with_tests = [(s, t) for s, t in tested if t]
    untested = [s for s, t in tested if not t and s.priority != "wont"]  # won't-have: not delivered, not tested
    if model.unexecuted_features:
        yield finding(
            ID,
            Outcome.WARN,
            "feature files without step definitions are specifications, not tests: "
            + listing(model.unexecuted_features),
            remediation="Add step definitions (behave, pytest-bdd, cucumber) so that the scenarios run.",
        )
    if not with_tests:
        skipped = [r for s in model.stories for r in model.skipped_for(s)]
        note = f" ({len(skipped)} reference(s) are in skipped tests)" if skipped else ""
        yield finding(
            ID,
            Outcome.FAIL,
            f"{len(model.stories)} user stories, but no test references any story id{note}; "
            f"{len(model.test_files)} test file(s) read",
            [evidence(s.loc, f"story {s.id or s.title[:40]}", head) for s in model.stories[:5]],
        )
        return
    yield finding(
        ID,
        Outcome.PASS,
        f"{len(with_tests)} of {len(model.stories)} stories have acceptance tests: "
        + listing([f"{s.id} ← {t[0].test} ({t[0].loc})" for s, t in with_tests]),
        [evidence(t[0].loc, f"{s.id}: {t[0].test}", head) for s, t in with_tests[:20]],
    )
    if untested:
        yield finding(
            ID,
            Outcome.WARN,
            f"{len(untested)} stor{'y has' if len(untested) == 1 else 'ies have'} no traceable acceptance test: "
            + listing([s.label for s in untested]),
            [evidence(s.loc, f"untested story {s.id or s.title[:40]}", head) for s in untested[:10]],
        )
