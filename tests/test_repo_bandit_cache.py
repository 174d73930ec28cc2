"""repo.bandit's per-content cache: a one-file commit re-scans one file; a damaged cache never passes a finding."""

import sqlite3

import pytest

from harness.checks.repo import bandit, bandit_cache
from harness.model import Outcome
from tests.conftest import run_check

BAD = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


@pytest.fixture
def scanned(monkeypatch, tmp_path):
    """A fresh cache folder, and the lists of files each bandit run was given."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    runs: list[list[str]] = []
    real = bandit._run_sharded

    def recording(paths, cwd, timeout):
        runs.append([p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in paths])
        return real(paths, cwd, timeout)

    monkeypatch.setattr(bandit, "_run_sharded", recording)
    return runs


def _fails(repo) -> list[str]:
    return [f.subject for f in run_check("repo.bandit", repo.path) if f.outcome is Outcome.FAIL]


def test_a_one_file_commit_rescans_only_that_file(make_repo, scanned):
    repo = make_repo()
    repo.write("app/tool.py", BAD).write("app/a.py", "A = 1\n").write("app/b.py", "B = 2\n").commit("code")
    assert _fails(repo) == ["app/tool.py:5"]
    assert sorted(scanned[0]) == ["app/a.py", "app/b.py", "app/tool.py"]
    repo.write("app/a.py", "A = 3\n").commit("one file")
    assert _fails(repo) == ["app/tool.py:5"]  # the unchanged file's finding comes from the cache
    assert scanned[1:] == [["app/a.py"]]
    repo.write("app/b.py", BAD + "# another\n").commit("a second bad file")
    assert _fails(repo) == ["app/b.py:5", "app/tool.py:5"]
    assert scanned[2:] == [["app/b.py"]]
    assert _fails(repo) == ["app/b.py:5", "app/tool.py:5"] and len(scanned) == 3  # unchanged: no bandit run


def test_the_same_bytes_at_two_paths_are_scanned_once_and_reported_at_both(make_repo, scanned):
    repo = make_repo()
    repo.write("app/one.py", BAD).write("lib/two.py", BAD).commit("copies")
    assert _fails(repo) == ["app/one.py:5", "lib/two.py:5"]
    assert len(scanned) == 1 and len(scanned[0]) == 1


def test_a_damaged_cache_entry_is_a_miss_never_a_pass(make_repo, scanned):
    repo = make_repo()
    repo.write("app/tool.py", BAD).commit("code")
    assert _fails(repo) == ["app/tool.py:5"]
    db = bandit_cache.path()
    forged = [
        '{"results": [], "errors": []}',  # no key: not an entry of this content
        '{"key": "0000", "results": [], "errors": []}',  # another key's entry moved here
        "not json",
        '{"key": "%s", "results": [{"issue_severity": "NONE", "line_number": 5}], "errors": []}',
        '{"key": "%s", "results": "none", "errors": []}',
    ]
    for value in forged:
        with sqlite3.connect(db) as con:
            (key,) = con.execute("SELECT key FROM entries").fetchone()
            con.execute("UPDATE entries SET value = ?", (value.replace("%s", key),))
        con.close()
        assert _fails(repo) == ["app/tool.py:5"], value
    assert len(scanned) == 1 + len(forged)  # each damaged entry was scanned again


def test_a_cache_file_that_is_not_a_database_is_replaced(make_repo, scanned):
    repo = make_repo()
    repo.write("app/tool.py", BAD).commit("code")
    db = bandit_cache.path()
    db.parent.mkdir(parents=True)
    db.write_bytes(b"garbage, not SQLite " * 100)
    assert _fails(repo) == ["app/tool.py:5"]
    assert _fails(repo) == ["app/tool.py:5"]
    assert len(scanned) == 1  # the second run read the rebuilt cache


def test_the_cache_is_bounded(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(bandit_cache, "MAX_BYTES", 2_000)
    entry: bandit_cache.Entry = {"results": [], "errors": [{"reason": "x" * 100}]}
    for n in range(60):
        bandit_cache.write({f"digest-{n}": entry}, "fp")
    with sqlite3.connect(bandit_cache.path()) as con:
        (total,) = con.execute("SELECT SUM(size) FROM entries").fetchone()
    con.close()
    assert total <= 2_000
    assert bandit_cache.read([f"digest-{n}" for n in range(60)], "fp").keys() >= {"digest-59"}


def test_an_object_store_that_lies_about_a_blob_never_reuses_the_clean_result(make_repo, scanned):
    """A loose object whose bytes are not those its id names: git serves them unchecked. The cache is keyed
    by the bytes read, so the clean result cached for the id's real content is never reused for them."""
    import zlib

    from tests.conftest import git

    repo = make_repo()
    repo.write("app/tool.py", "def run(cmd):\n    return cmd\n").commit("clean")
    assert _fails(repo) == []
    oid = git(repo.path, "rev-parse", "HEAD:app/tool.py")
    loose = repo.path / ".git" / "objects" / oid[:2] / oid[2:]
    loose.chmod(0o644)
    loose.write_bytes(zlib.compress(b"blob %d\0" % len(BAD.encode()) + BAD.encode()))
    assert git(repo.path, "cat-file", "-p", oid) == BAD.strip()  # git hands out the planted bytes
    assert _fails(repo) == ["app/tool.py:5"]
    assert len(scanned) == 2


def test_a_committed_virtualenv_under_any_name_and_a_jenkins_home_are_not_scanned(make_repo, scanned):
    repo = make_repo()
    repo.write("app/main.py", "A = 1\n").write("myenv/pyvenv.cfg", "home = /usr/bin\n")
    repo.write("myenv/Lib/pkg/tool.py", BAD).write("jenkins_home/scripts/hook.py", BAD).commit("vendored")
    findings = run_check("repo.bandit", repo.path)
    assert [f.outcome for f in findings] == [Outcome.PASS]
    assert scanned == [["app/main.py"]]
    assert "2 file(s) in vendored folders" in findings[0].reason
