"""User stories in the forms people write them, and UN-2 / UN-D1 when there are none (issue 9, class 7)."""

from __future__ import annotations

from harness.catalogue import load as load_catalogue
from harness.grading import NOT_MET, judge_criterion
from harness.model import Outcome
from tests.conftest import run_check


def _stories(make_repo, files: dict[str, str]):
    repo = make_repo()
    repo.write("app.py", "print('app')\n")
    for path, text in files.items():
        repo.write(path, text)
    repo.commit("backlog")
    return run_check("repo.user-stories", repo.path)


def _passed(findings):
    return [f for f in findings if f.outcome is Outcome.PASS]


def test_persona_in_heading_with_i_want_below(make_repo):
    doc = (
        "# Backlog\n\n## US-1 Shopper\n\nI want to search the catalogue\nso that I find a product fast.\n\n"
        "Acceptance criteria:\n1. Results appear within a second\n2. An empty search shows a hint\n"
    )
    [ok] = _passed(_stories(make_repo, {"docs/backlog.md": doc}))
    assert "1 user story has acceptance criteria: US-1" in ok.reason
    assert ok.evidence[0].start_line == 5 and "Shopper" in ok.evidence[0].excerpt


def test_i_want_in_prose_is_not_a_story(make_repo):
    doc = "# Notes\n\nWe discussed the design at length.\nI want to refactor this later so that it is cleaner.\n"
    found = _stories(make_repo, {"docs/notes.md": doc})
    assert [f.outcome for f in found] == [Outcome.FAIL]


def test_bold_markers_over_lines_with_numbered_ac(make_repo):
    doc = (
        "## US-3 Logout\n\n**As a** registered user\n**I want** to log out\n**So that** nobody reuses my session\n\n"
        "AC1: the session cookie is cleared\nAC2: the login page is shown\n"
    )
    found = _stories(make_repo, {"docs/stories.md": doc})
    # Old code read the story but not `AC1:` lines: "1 story has no acceptance criteria".
    assert [f.outcome for f in found if f.outcome is not Outcome.WARN] == [Outcome.PASS]
    assert "the session cookie is cleared" in found[0].evidence[0].excerpt


def test_story_with_no_criteria_in_any_form_still_fails(make_repo):
    doc = (
        "## US-3 Logout\n\n**As a** user **I want** to log out **so that** nobody reuses my session\n\nNotes: later.\n"
    )
    found = _stories(make_repo, {"docs/stories.md": doc})
    assert any(f.outcome is Outcome.FAIL and "US-3" in f.reason for f in found)


def test_gherkin_feature_without_narrative_is_a_story(make_repo):
    feature = (
        "@US-8 @must\nFeature: Checkout\n\n  Scenario: pay by card\n    Given a basket with one book\n"
        "    When I pay by card\n    Then I get a receipt\n"
    )
    [ok] = _passed(_stories(make_repo, {"features/checkout.feature": feature}))
    assert "US-8 [must]" in ok.reason


def test_empty_feature_is_not_a_story(make_repo):
    found = _stories(make_repo, {"features/todo.feature": "Feature: Checkout\n\n  # scenarios to come\n"})
    assert [f.outcome for f in found] == [Outcome.FAIL]


def test_issue_template_is_not_a_story(make_repo):
    template = (
        "---\nname: User story\nabout: Propose a story\n---\n\nAs a user, I want to do something so that I benefit.\n\n"
        "## Acceptance criteria\n- [ ] first criterion\n"
    )
    files = {".github/ISSUE_TEMPLATE/user-story.md": template, ".github/pull_request_template.md": template}
    found = _stories(make_repo, files)
    # Old code credited the template's placeholder as a story with criteria.
    assert [f.outcome for f in found] == [Outcome.FAIL]


def test_no_stories_at_all_means_un2_and_und1_not_met(make_repo):
    repo = make_repo()
    repo.write("README.md", "# App\n").write("tests/test_app.py", "def test_x():\n    assert True\n").commit("x")
    catalogue = load_catalogue()
    by_id = {c.id: c for c in catalogue.criteria}
    for check_id, criterion in (("repo.must-have-tested", "UN-2"), ("repo.should-have-tested", "UN-D1")):
        found = run_check(check_id, repo.path)
        assert [f.outcome for f in found] == [Outcome.FAIL] and found[0].remediation
        result = judge_criterion(by_id[criterion], {check_id: found}, {check_id})
        assert result.status == NOT_MET, (criterion, result.reason)


def test_real_stories_in_a_look_alike_template_folder_count(make_repo):
    doc = (
        "## User Stories\n\n1. **Read an account**\n\n   **As a** user  \n   **I need** to read an account  \n"
        "   **So that** I can view its details\n\n   ### Acceptance Criteria\n   ```gherkin\n"
        "   Given that I am authenticated\n   When I send a request to read an account\n"
        "   Then I should receive the account details\n   ```\n"
    )
    [ok] = _passed(_stories(make_repo, {".github/ISSUE_TEMPLATES/planning-userstories-done.md": doc}))
    assert "1 user story has acceptance criteria" in ok.reason


def test_then_i_should_have_is_not_a_priority(make_repo):
    doc = (
        "## US-2 Setup\n\n**As a** developer **I need** a dev environment **so that** I can start.\n\n"
        "Given that I cloned the repository\nWhen I follow the instructions\nThen I should have a working setup\n"
    )
    repo = make_repo()
    repo.write("docs/stories.md", doc).commit("s")
    # Old code read "should have" in the Then line as the story's MoSCoW priority.
    found = run_check("repo.user-stories", repo.path)
    assert any("no story carries a MoSCoW priority" in f.reason for f in found)
