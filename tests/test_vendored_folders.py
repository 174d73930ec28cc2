"""Committed third-party trees (a Jenkins home, a virtualenv under any name) are not the candidate's work (issue 9)."""

from harness.model import Outcome
from tests.conftest import run_check

STORY = (
    "# Backlog\n\n## US-1 Shopper\n\nI want to search the catalogue\nso that I find a product fast.\n\n"
    "Acceptance criteria:\n1. Results appear within a second\n2. An empty search shows a hint\n"
)
FLAG = "import ldclient\nif ldclient.get().variation('new-checkout', user, False):\n    pass\n"


def test_a_committed_jenkins_home_or_virtualenv_holds_no_stories_or_toggles(make_repo):
    repo = make_repo()
    repo.write("app.py", "print('app')\n")
    repo.write("jenkins_home/plugins/board/README.md", STORY)
    repo.write("jenkins_home/plugins/board/flags.py", FLAG)
    repo.write("myenv/pyvenv.cfg", "home = /usr/bin\n").write("myenv/lib/python3.11/site/flags.py", FLAG)
    repo.commit("with third-party trees")
    assert [f.outcome for f in run_check("repo.user-stories", repo.path)] == [Outcome.FAIL]
    assert [f.outcome for f in run_check("repo.feature-toggles", repo.path)] == [Outcome.WARN]
    repo.write("docs/backlog.md", STORY).write("app/flags.py", FLAG).commit("own work")
    assert Outcome.PASS in [f.outcome for f in run_check("repo.user-stories", repo.path)]
    [toggles] = run_check("repo.feature-toggles", repo.path)
    assert toggles.outcome is Outcome.PASS and "app/flags.py" in toggles.reason
