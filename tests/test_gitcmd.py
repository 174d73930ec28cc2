"""git runs with the repository's and the caller's executable configuration neutralised."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from harness import sandbox
from harness.config import Config
from harness.context import DeadlineExceeded, Shared
from harness.probes import git_history, gitcmd, repository


def test_argv_trusts_exactly_the_repository_and_overrides_programs(tmp_path):
    argv = gitcmd.argv(tmp_path, ["log"])
    pairs = [argv[i + 1] for i, a in enumerate(argv) if a == "-c"]
    assert f"safe.directory={tmp_path}" in pairs and "safe.directory=*" not in pairs
    for key in ("core.fsmonitor", "core.hooksPath", "core.pager", "log.showSignature", "gpg.program", "diff.external"):
        assert any(p.startswith(key + "=") for p in pairs), key
    assert argv[-1] == "log" and "--no-pager" in argv


def test_the_callers_git_variables_do_not_redirect_git(make_repo, monkeypatch, tmp_path):
    repo = make_repo()
    sha = repo.write("a.txt", "a\n").commit("one")
    other = tmp_path / "other.git"
    subprocess.run(["git", "init", "-q", "--bare", str(other)], check=True)
    monkeypatch.setenv("GIT_DIR", str(other))
    monkeypatch.setenv("GIT_WORK_TREE", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.fsmonitor'='touch /tmp/never'")
    assert gitcmd.head(repo.path) == sha


def test_replace_refs_do_not_rewrite_the_history_read(make_repo):
    repo = make_repo()
    repo.write("a.txt", "a\n").commit("the real subject")
    fake = repo.git("commit-tree", "HEAD^{tree}", "-m", "a forged subject")
    repo.git("replace", "HEAD", fake)
    history = git_history.load(repo.path)
    assert [c.subject for c in history.commits] == ["the real subject"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("chown") is None, reason="needs root to chown")
def test_a_repository_owned_by_another_user_is_still_read(make_repo):
    repo = make_repo()
    sha = repo.write("a.txt", "a\n").commit("one")
    subprocess.run(["chown", "-R", "65534:65534", str(repo.path)], check=True)
    assert gitcmd.head(repo.path) == sha
    assert [f.path for f in repository.snapshot(repo.path).files] == ["a.txt"]


def test_git_killed_at_a_checks_deadline_is_a_deadline_not_a_fact_about_the_repository(make_repo, tmp_path):
    repo = make_repo()
    repo.write("a.txt", "a\n").commit("one")
    children = sandbox.Children()
    children.kill()  # the engine stopped this check: anything it starts now is killed at once
    with sandbox.bound(children), pytest.raises(DeadlineExceeded):
        gitcmd.run(repo.path, ["log", "--format=%H"])
    with sandbox.bound(children), pytest.raises(DeadlineExceeded):
        git_history.load(repo.path)
    # ...so the shared probe is not memoised as broken: the next check computes it afresh.
    shared = Shared(config=Config(base_dir=tmp_path))
    with sandbox.bound(children), pytest.raises(DeadlineExceeded):
        shared.memo("history", lambda: git_history.load(repo.path))
    assert len(shared.memo("history", lambda: git_history.load(repo.path)).commits) == 1
