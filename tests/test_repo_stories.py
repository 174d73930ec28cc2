"""repo.user-stories, repo.acceptance-tests, repo.must-have-tested, repo.should-have-tested on real repositories."""

from __future__ import annotations

from harness.model import Outcome, worst
from tests.conftest import run_check

STORIES = """\
# User stories

## Must have

### US-1 Create a task
As a **user**, I want to create a task so that I remember it.

#### Acceptance criteria
- Given I am logged in
- When I submit a title
- Then the task appears in my list

### US-2 Delete a task
As a user I want to delete a task so that my list stays short.

- [ ] the task disappears from the list
- [ ] deleting twice returns 404

## Should have

| ID | Story | Priority | Acceptance criteria |
|----|-------|----------|---------------------|
| US-3 | As a user I want to tag tasks so that I can filter them | Should | Tags show; filter by tag works |
| US-4 | As an admin I want to see all users so that I can help them | Could | Admin page lists users |
"""

TESTS = '''\
import pytest


@pytest.mark.story("US-1")
def test_create_task(client):
    assert client.post("/tasks", json={"title": "x"}).status_code == 201


def test_us2_delete_task(client):
    """Deleting removes the task."""
    assert client.delete("/tasks/1").status_code == 204
'''


def outcomes(findings):
    return [f.outcome for f in findings]


def reasons(findings):
    return "\n".join(f.reason for f in findings)


def backlog_repo(make_repo, stories=STORIES, tests=TESTS, extra=None):
    repo = make_repo()
    repo.write("docs/user-stories.md", stories).write("app.py", "print('app')\n")
    if tests is not None:
        repo.write("tests/test_acceptance.py", tests)
    for path, content in (extra or {}).items():
        repo.write(path, content)
    repo.commit("backlog")
    return repo


# -- repo.user-stories -------------------------------------------------------------------
def test_stories_with_acceptance_criteria_pass(make_repo):
    repo = backlog_repo(make_repo)
    findings = run_check("repo.user-stories", repo.path)
    assert worst(outcomes(findings)) is Outcome.PASS, reasons(findings)
    [f] = findings
    assert "4 user stories have acceptance criteria" in f.reason
    assert "US-1 [must]" in f.reason and "US-3 [should]" in f.reason and "US-4 [could]" in f.reason
    assert f.evidence[0].path == "docs/user-stories.md" and f.evidence[0].start_line == 6


def test_story_without_acceptance_criteria_fails_naming_it(make_repo):
    stories = STORIES.replace("- [ ] the task disappears from the list\n- [ ] deleting twice returns 404\n", "")
    repo = backlog_repo(make_repo, stories=stories)
    findings = run_check("repo.user-stories", repo.path)
    [bad] = [f for f in findings if f.outcome is Outcome.FAIL]
    assert "1 story has no acceptance criteria: US-2 (docs/user-stories.md:14)" in bad.reason
    assert bad.remediation


def test_no_stories_fails(make_repo):
    repo = make_repo()
    repo.write("README.md", "# App\n\nSee the user stories in Jira.\n").commit("readme")
    [f] = run_check("repo.user-stories", repo.path)
    assert f.outcome is Outcome.FAIL and "README.md:3" in f.reason


def test_story_template_is_not_a_story(make_repo):
    repo = make_repo()
    repo.write("CONTRIBUTING.md", "Write stories as: As a [role], I want [goal] so that [benefit].\n").commit("x")
    [f] = run_check("repo.user-stories", repo.path)
    assert f.outcome is Outcome.FAIL


def test_gherkin_feature_is_a_story_with_criteria(make_repo):
    feature = (
        "@US-7 @must\nFeature: Login\n  As a user\n  I want to log in\n  So that my tasks are private\n\n"
        "  Scenario: good password\n    Given a user\n    When she logs in\n    Then she sees her tasks\n"
    )
    repo = make_repo()
    repo.write("features/login.feature", feature).commit("feature")
    [f] = run_check("repo.user-stories", repo.path)
    assert f.outcome is Outcome.PASS and "US-7 [must]" in f.reason


# -- repo.acceptance-tests -----------------------------------------------------------------
def test_acceptance_tests_trace_to_stories(make_repo):
    repo = backlog_repo(make_repo)
    findings = run_check("repo.acceptance-tests", repo.path)
    ok = next(f for f in findings if f.outcome is Outcome.PASS)
    assert "2 of 4 stories have acceptance tests" in ok.reason
    assert "US-1 ← test_create_task (tests/test_acceptance.py:5)" in ok.reason
    assert "US-2 ← test_us2_delete_task" in ok.reason
    warn = next(f for f in findings if f.outcome is Outcome.WARN)
    assert "US-3" in warn.reason and "US-4" in warn.reason


def test_no_test_references_a_story_fails(make_repo):
    tests = "def test_create_task():\n    assert True\n\n# US-1 is covered elsewhere\n"
    repo = backlog_repo(make_repo, tests=tests.replace("# US-1 is covered elsewhere\n", ""))
    [f] = run_check("repo.acceptance-tests", repo.path)
    assert f.outcome is Outcome.FAIL and "no test references any story id" in f.reason


def test_story_id_in_a_file_without_tests_does_not_count(make_repo):
    repo = backlog_repo(make_repo, tests=None, extra={"tests/notes.py": "# US-1 US-2 US-3 US-4 all tested\n"})
    [f] = run_check("repo.acceptance-tests", repo.path)
    assert f.outcome is Outcome.FAIL


def test_skipped_test_does_not_count(make_repo):
    tests = '@pytest.mark.skip(reason="later")\n@pytest.mark.story("US-1")\ndef test_create():\n    pass\n'
    repo = backlog_repo(make_repo, tests="import pytest\n\n\n" + tests)
    [f] = run_check("repo.acceptance-tests", repo.path)
    assert f.outcome is Outcome.FAIL and "skipped" in f.reason


def test_jest_describe_and_tagged_scenarios(make_repo):
    jest = "describe('US-3 tagging', () => {\n  it('adds a tag', () => {\n    expect(1).toBe(1);\n  });\n});\n"
    feature = "Feature: Admin\n\n  @US-4\n  Scenario: list users\n    Given an admin\n    Then users are listed\n"
    steps = "from behave import given, then\n\n@given('an admin')\ndef step(ctx):\n    pass\n"
    repo = backlog_repo(
        make_repo,
        extra={"web/tags.test.js": jest, "features/admin.feature": feature, "features/steps/admin.py": steps},
    )
    findings = run_check("repo.acceptance-tests", repo.path)
    [f] = findings
    assert f.outcome is Outcome.PASS and "4 of 4 stories" in f.reason
    assert "US-3 ← US-3 tagging (web/tags.test.js:1)" in f.reason
    assert "US-4 ← Scenario: list users (features/admin.feature:4)" in f.reason


def test_feature_without_step_definitions_is_not_a_test(make_repo):
    feature = "Feature: Admin\n\n  @US-4\n  Scenario: list users\n    Given an admin\n    Then users are listed\n"
    repo = backlog_repo(make_repo, tests=None, extra={"features/admin.feature": feature})
    findings = run_check("repo.acceptance-tests", repo.path)
    assert worst(outcomes(findings)) is Outcome.FAIL
    assert any(f.outcome is Outcome.WARN and "features/admin.feature" in f.reason for f in findings)


def test_acceptance_tests_without_stories_could_not_check(make_repo):
    repo = make_repo()
    repo.write("tests/test_app.py", "def test_x():\n    assert True\n").commit("t")
    [f] = run_check("repo.acceptance-tests", repo.path)
    assert f.outcome is Outcome.COULD_NOT_CHECK


# -- repo.must-have-tested / repo.should-have-tested ------------------------------------------
def test_all_must_haves_tested_passes(make_repo):
    repo = backlog_repo(make_repo)
    [f] = run_check("repo.must-have-tested", repo.path)
    assert f.outcome is Outcome.PASS and "2 'must have' stories are tested" in f.reason


def test_untested_must_have_fails_naming_it(make_repo):
    repo = backlog_repo(make_repo, tests=TESTS.replace("test_us2_delete_task", "test_delete_task"))
    findings = run_check("repo.must-have-tested", repo.path)
    [bad] = [f for f in findings if f.outcome is Outcome.FAIL]
    assert "1 'must have' story has no acceptance test: US-2 (docs/user-stories.md:14)" in bad.reason


def test_should_have_untested_fails_then_passes(make_repo):
    repo = backlog_repo(make_repo)
    findings = run_check("repo.should-have-tested", repo.path)
    assert worst(outcomes(findings)) is Outcome.FAIL and "US-3" in reasons(findings)
    repo.write("tests/test_tags.py", "def test_us_3_tag_filter():\n    assert True\n").commit("tag test")
    [f] = run_check("repo.should-have-tested", repo.path)
    assert f.outcome is Outcome.PASS and "US-3 ← test_us_3_tag_filter" in f.reason


def test_no_priorities_is_not_met(make_repo):
    # Every story was read and none is prioritised: no 'must'/'should' need is identified (not undetermined).
    stories = "# Stories\n\n## US-1\nAs a user I want to add tasks so that I remember.\n- [ ] a task is added\n"
    repo = backlog_repo(make_repo, stories=stories)
    for check_id in ("repo.must-have-tested", "repo.should-have-tested"):
        [f] = run_check(check_id, repo.path)
        assert f.outcome is Outcome.FAIL and "MoSCoW" in f.reason and f.remediation


def test_prioritised_without_should_is_not_a_free_pass(make_repo):
    stories = STORIES.split("## Should have")[0]
    repo = backlog_repo(make_repo, stories=stories)
    [f] = run_check("repo.should-have-tested", repo.path)
    assert f.outcome is Outcome.FAIL and "none is 'should have'" in f.reason


def test_prioritised_without_must_fails(make_repo):
    stories = STORIES.replace("## Must have", "## Could have")
    repo = backlog_repo(make_repo, stories=stories)
    [f] = run_check("repo.must-have-tested", repo.path)
    assert f.outcome is Outcome.FAIL and "none is 'must have'" in f.reason


def test_wont_have_story_needs_no_criteria_or_test(make_repo):
    wont = "\n## US-9 Assign tasks\n\n**Priority:** Won't\n\nAs a lead I want to assign tasks so owners are clear.\n"
    stories = STORIES + wont
    repo = backlog_repo(make_repo, stories=stories)
    findings = run_check("repo.user-stories", repo.path)
    assert worst(outcomes(findings)) is Outcome.PASS, reasons(findings)
    assert "US-9" not in reasons(run_check("repo.acceptance-tests", repo.path))
