"""repo.should-have-tested: every 'should have' user story has at least one traceable acceptance test.

No user story, no priority, or no 'should have' story FAILs (UN-D1 not met), as in
repo.must-have-tested: the tree was read and the evidence is wholly absent. A not-applicable
would be a free pass for a distinction criterion, won by relabelling 'should' stories as 'could'.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check
from harness.checks.repo.must_have_tested import judge
from harness.context import Context
from harness.model import Finding

ID = "repo.should-have-tested"


@check(
    ID,
    title="Every 'should have' user story has an acceptance test",
    failure_title="Some 'should have' user stories have no acceptance test",
    proves="The 'should have' needs are each proved by an automated acceptance test that names the story (UN-D1).",
    remediation="Write an acceptance test for each 'should have' story and name the story id in it "
    "(test name, marker, describe title or Gherkin tag).",
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    yield from judge(ctx, ID, "should", "should have")
