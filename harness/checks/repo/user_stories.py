"""repo.user-stories: user stories with acceptance criteria are committed (Markdown or Gherkin).

A story without acceptance criteria cannot be accepted or tested, so each one is
named. Stories without an id are flagged (WARN): tests cannot trace to them.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import monitoring, repository, stories
from harness.probes.monitoring import evidence, listing

ID = "repo.user-stories"


@check(
    ID,
    title="User stories with acceptance criteria are committed",
    failure_title="User stories or their acceptance criteria are missing",
    proves="The needs the code meets are written as user stories that stakeholders can read, each with "
    "acceptance criteria saying when it is done (UN-1).",
    remediation="Commit user stories (docs/user-stories.md or .feature files): an id (US-1), 'As a … I want … so "
    "that …', a MoSCoW priority, and acceptance criteria as Given/When/Then or a checklist.",
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
        mention = f" (user stories are mentioned at {model.mentions[0]})" if model.mentions else ""
        yield finding(
            ID,
            Outcome.FAIL,
            f"no user story ('As a … I want …') in any Markdown or .feature file{mention}",
            [evidence(loc, "mentions user stories", head) for loc in model.mentions[:3]],
        )
        return
    # A "won't have" story is out of scope for this delivery: it needs no acceptance criteria.
    without = [s for s in model.stories if not s.criteria and s.priority != "wont"]
    with_ac = [s for s in model.stories if s.criteria]
    if with_ac:
        yield finding(
            ID,
            Outcome.PASS,
            f"{len(with_ac)} user stor{'y has' if len(with_ac) == 1 else 'ies have'} acceptance criteria: "
            + listing([f"{s.id or s.title[:40]} [{s.priority or 'no priority'}]" for s in with_ac]),
            [
                evidence(s.loc, f"story {s.id or s.title[:40]}", head, "\n".join([s.text, *s.criteria[:8]]))
                for s in with_ac[:15]
            ],
        )
    if without:
        yield finding(
            ID,
            Outcome.FAIL,
            f"{len(without)} stor{'y has' if len(without) == 1 else 'ies have'} no acceptance criteria: "
            + listing([s.label for s in without]),
            [evidence(s.loc, f"story {s.id or s.title[:40]} without criteria", head, s.text) for s in without[:15]],
            remediation="Give each story acceptance criteria: Given/When/Then lines or a checklist under "
            "'Acceptance criteria'.",
        )
    no_id = [s for s in model.stories if not s.id]
    if no_id:
        yield finding(
            ID,
            Outcome.WARN,
            f"{len(no_id)} stor{'y has' if len(no_id) == 1 else 'ies have'} no id, so no test can trace to "
            + ("it" if len(no_id) == 1 else "them")
            + ": "
            + listing([s.label for s in no_id]),
            [evidence(s.loc, "story without id", head, s.text) for s in no_id[:10]],
            remediation="Number the stories (US-1, US-2…) and use the id in the names or markers of their tests.",
        )
    if not model.prioritised:
        yield finding(
            ID,
            Outcome.WARN,
            "no story carries a MoSCoW priority (Must/Should/Could/Won't have)",
            remediation="Mark each story's priority, e.g. 'Priority: Must have', or group them under "
            "'## Must have' / '## Should have' headings.",
        )
