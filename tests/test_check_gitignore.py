from harness.model import Outcome
from tests.conftest import run_check


def test_gitignore_present_passes(make_repo):
    repo = make_repo()
    repo.write(".gitignore", "# build\n.venv/\n.env\n").write("app.py", "print(1)\n").commit("init")
    [f] = run_check("repo.gitignore", repo.path)
    assert f.outcome is Outcome.PASS
    assert f.evidence[0].path == ".gitignore"


def test_gitignore_missing_fails(make_repo):
    repo = make_repo()
    repo.write("app.py", "print(1)\n").commit("init")
    [f] = run_check("repo.gitignore", repo.path)
    assert f.outcome is Outcome.FAIL
    assert f.remediation


def test_uncommitted_gitignore_does_not_count(make_repo):
    repo = make_repo()
    repo.write("app.py", "print(1)\n").commit("init")
    (repo.path / ".gitignore").write_text(".env\n")
    [f] = run_check("repo.gitignore", repo.path)
    assert f.outcome is Outcome.FAIL


def test_empty_repository_could_not_check(make_repo):
    repo = make_repo()
    [f] = run_check("repo.gitignore", repo.path)
    assert f.outcome is Outcome.COULD_NOT_CHECK


def test_empty_root_gitignore_beside_folder_gitignores_passes(make_repo):
    """git applies every folder's .gitignore (brooksur/multi-k8s: client/, server/, worker/ each ignore theirs)."""
    repo = make_repo()
    repo.write(".gitignore", "").write("client/.gitignore", "node_modules/\nbuild/\n").write("client/app.js", "1\n")
    repo.commit("init")
    [f] = run_check("repo.gitignore", repo.path)
    assert f.outcome is Outcome.PASS and "client/.gitignore (2)" in f.reason, f.reason
    repo.write("client/.gitignore", "# nothing yet\n").commit("emptied")
    [f] = run_check("repo.gitignore", repo.path)
    assert f.outcome is Outcome.FAIL
