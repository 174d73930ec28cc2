"""The history probe reads `git log` in blocks: lines and characters cut across blocks come back whole."""

from harness.probes import git_history
from tests.conftest import git


def test_a_subject_longer_than_a_block_with_multibyte_characters_is_read_whole(make_repo, monkeypatch):
    monkeypatch.setattr(git_history, "LOG_BLOCK", 4096)  # many blocks, each cut somewhere inside a character
    repo = make_repo()
    subject = "é€" * 3000 + " end"
    repo.write("a.txt", "one\n").commit("first")
    repo.write("b.txt", "two\n")
    git(repo.path, "add", "b.txt")
    git(repo.path, "commit", "-q", "-m", subject)
    history = git_history.load(repo.path)
    assert [c.subject for c in history.commits] == [subject, "first"]
    assert [f.path for f in history.commits[0].files] == ["b.txt"]
    assert history.commits[0].created == {"b.txt"} and not history.truncated
