"""repo.git-history, repo.commit-size, repo.fix-commits, repo.feature-toggles on real repositories."""

from __future__ import annotations

from pathlib import Path

from harness.model import Outcome
from tests.conftest import RepoBuilder, git, run_check

TUTOR = "Tutor Teacher <tutor@college.example>"
ADA = "Ada Apprentice <ada@example.org>"


def day(n: int, hour: int = 12) -> str:
    return f"2024-03-{n:02d}T{hour:02d}:00:00+0000"


def commit_as(repo: RepoBuilder, author: str, date: str, rel: str, content: str, message: str) -> str:
    repo.write(rel, content)
    return repo.commit(message, author=author, date=date)


def merge(repo: RepoBuilder, branch: str, author: str, date: str) -> str:
    name, _, email = author.partition(" <")
    env = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email.rstrip(">"),
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email.rstrip(">"),
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    git(repo.path, "merge", "-q", "--no-ff", branch, "-m", f"Merge branch '{branch}'", env=env)
    return repo.git("rev-parse", "HEAD")


def feature_branch(repo: RepoBuilder, branch: str, author: str, days: list[int], delete: bool = False) -> str:
    repo.git("checkout", "-q", "-b", branch)
    for i, d in enumerate(days):
        commit_as(repo, author, day(d, 9), f"{branch}/mod{i}.py", f"x = {i}\n", f"{branch}: step {i}")
    repo.git("checkout", "-q", "main")
    sha = merge(repo, branch, author, day(days[-1], 18))
    if delete:
        repo.git("branch", "-q", "-d", branch)
    return sha


def starter(make_repo) -> RepoBuilder:
    """A course starter with its own long history, branches and merges, all by the tutor."""
    up = make_repo("starter")
    for i in range(1, 13):
        commit_as(up, TUTOR, day(i), f"app/part{i}.py", f"def f{i}():\n    return {i}\n", f"starter step {i}")
    feature_branch(up, "tutor-feature", TUTOR, [13, 14], delete=True)
    feature_branch(up, "tutor-docs", TUTOR, [15], delete=True)
    return up


def fork_of(up: RepoBuilder, tmp: Path, keep_upstream: bool = True) -> RepoBuilder:
    dest = tmp / "fork"
    git(tmp, "clone", "-q", str(up.path), str(dest))
    if keep_upstream:
        git(dest, "remote", "rename", "origin", "upstream")
    else:
        git(dest, "remote", "remove", "origin")
    return RepoBuilder(dest)


def own_work(repo: RepoBuilder, commits: int, days: int, branch: bool) -> None:
    for i in range(commits):
        commit_as(repo, ADA, day(20 + i % days, 10 + i % 5), f"src/own{i}.py", f"y = {i}\n", f"own change {i}")
    if branch:
        feature_branch(repo, "ada-login", ADA, [20 + days, 21 + days], delete=True)


def data(finding) -> dict:
    return next(e.data for e in finding.evidence if e.kind == "metric")


# -- repo.git-history ------------------------------------------------------------


def test_fork_with_upstream_counts_only_own_work_and_fails(make_repo, tmp_path):
    fork = fork_of(starter(make_repo), tmp_path)
    own_work(fork, commits=3, days=1, branch=False)
    [f] = run_check("repo.git-history", fork.path)
    assert f.outcome is Outcome.FAIL
    d = data(f)
    assert d["own_commits"] == 3
    assert d["own_merges"] == 0  # the starter's two merges are not the apprentice's
    assert d["inherited_commits"] == 17
    assert "inherited" in f.reason and "upstream" in f.reason
    boundary = [e for e in f.evidence if e.kind == "commit" and "fork point" in e.summary]
    assert boundary and boundary[0].commit
    assert f.remediation


def test_fork_with_upstream_and_own_branching_passes(make_repo, tmp_path):
    fork = fork_of(starter(make_repo), tmp_path)
    own_work(fork, commits=10, days=4, branch=True)
    [f] = run_check("repo.git-history", fork.path)
    assert f.outcome is Outcome.PASS, f.reason
    d = data(f)
    assert d["own_commits"] == 12 and d["own_merges"] == 1 and d["distinct_days"] >= 3
    merges = [e for e in f.evidence if e.summary.startswith("merge ")]
    assert merges and "ada-login" in merges[0].summary


def test_merging_starter_updates_is_not_own_branching(make_repo, tmp_path):
    up = starter(make_repo)
    fork = fork_of(up, tmp_path)
    own_work(fork, commits=10, days=4, branch=False)
    commit_as(up, TUTOR, day(28), "app/update.py", "z = 1\n", "starter update")
    fork.git("fetch", "-q", "upstream")
    merge(fork, "upstream/main", ADA, day(28, 15))
    [f] = run_check("repo.git-history", fork.path)
    assert f.outcome is Outcome.FAIL
    d = data(f)
    assert d["own_merges"] == 0 and d["sync_merges"] == 1
    assert "no evidence of branching" in f.reason


def test_fork_without_upstream_remote_excludes_leading_foreign_commits(make_repo, tmp_path):
    fork = fork_of(starter(make_repo), tmp_path, keep_upstream=False)
    own_work(fork, commits=3, days=1, branch=False)
    [f] = run_check("repo.git-history", fork.path)
    assert f.outcome is Outcome.FAIL
    d = data(f)
    assert d["own_commits"] == 3 and d["own_merges"] == 0 and d["inherited_commits"] == 17
    assert "before the owner's first commit" in f.reason
    assert d["owner"] == ADA


def test_own_project_without_starter_passes_with_branches(make_repo):
    repo = make_repo()
    own_work(repo, commits=10, days=5, branch=False)
    repo.git("branch", "feature-a")
    repo.git("checkout", "-q", "-b", "feature-b")
    commit_as(repo, ADA, day(27), "b.py", "b = 1\n", "feature b")
    [f] = run_check("repo.git-history", repo.path)
    assert f.outcome is Outcome.PASS, f.reason
    assert data(f)["inherited_commits"] == 0
    assert {"feature-a", "feature-b"} <= set(data(f)["own_branches"])


def test_history_not_git_or_empty_could_not_check(make_repo, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "app.py").write_text("print(1)\n")
    empty = make_repo("empty")
    for check_id in ("repo.git-history", "repo.commit-size", "repo.fix-commits", "repo.feature-toggles"):
        for path in (plain, empty.path):
            [f] = run_check(check_id, path)
            assert f.outcome is Outcome.COULD_NOT_CHECK, (check_id, path, f.reason)


# -- repo.commit-size ------------------------------------------------------------


def test_small_own_commits_pass_and_lockfiles_are_ignored(make_repo):
    repo = make_repo()
    for i in range(6):
        commit_as(repo, ADA, day(1 + i), f"src/m{i}.py", "a = 1\n" * 20, f"small {i}")
    repo.write("package-lock.json", '{"x": 1}\n' * 5000)
    repo.commit("bump dependencies", author=ADA, date=day(8))
    [f] = run_check("repo.commit-size", repo.path)
    assert f.outcome is Outcome.PASS, f.reason
    assert data(f)["median_lines"] == 20
    assert data(f)["giant_commits"] == 0


def test_big_bang_commits_fail_with_largest_listed(make_repo):
    repo = make_repo()
    for i in range(4):
        commit_as(repo, ADA, day(1 + i), f"src/big{i}.py", "b = 2\n" * (800 + i), f"everything at once {i}")
    [f] = run_check("repo.commit-size", repo.path)
    assert f.outcome is Outcome.FAIL
    largest = [e for e in f.evidence if e.kind == "commit"]
    assert largest[0].summary.startswith("803 lines")


def test_inherited_giant_commits_do_not_count(make_repo, tmp_path):
    up = make_repo("starter")
    commit_as(up, TUTOR, day(1), "vendorish/huge.py", "h = 1\n" * 5000, "starter import")
    fork = fork_of(up, tmp_path)
    for i in range(4):
        commit_as(fork, ADA, day(5 + i), f"src/s{i}.py", "s = 1\n" * 10, f"own {i}")
    [f] = run_check("repo.commit-size", fork.path)
    assert f.outcome is Outcome.PASS, f.reason
    assert "1 inherited" in f.reason


# -- repo.fix-commits ------------------------------------------------------------


def test_fix_commits_found_with_recovery_time(make_repo):
    repo = make_repo()
    commit_as(repo, ADA, day(1, 9), "app.py", "v = 1\n", "add endpoint")
    commit_as(repo, ADA, day(1, 10), "app.py", "v = 2\n", "change endpoint")
    commit_as(repo, ADA, day(1, 12), "app.py", "v = 3\n", "fix: endpoint crashed on empty body")
    commit_as(repo, ADA, day(2, 9), "other.py", "o = 1\n", "add other")
    repo.git("revert", "--no-edit", "HEAD")
    [f] = run_check("repo.fix-commits", repo.path)
    assert f.outcome is Outcome.MANUAL
    d = data(f)
    assert d["fix_commits"] == 2 and d["measured"] == 2
    fix = next(e for e in f.evidence if "endpoint crashed" in e.summary)
    assert fix.data["recovery_hours"] == 2.0
    revert = next(e for e in f.evidence if e.summary.split(" ", 1)[1].startswith("Revert"))
    assert revert.data["breaking_commit"]


def test_no_fix_commits_is_still_manual_with_reason(make_repo):
    repo = make_repo()
    commit_as(repo, ADA, day(1), "app.py", "v = 1\n", "add endpoint")
    [f] = run_check("repo.fix-commits", repo.path)
    assert f.outcome is Outcome.MANUAL
    assert "no fix" in f.reason and f.remediation


# -- repo.feature-toggles --------------------------------------------------------


def test_env_feature_flag_passes_with_location(make_repo):
    repo = make_repo()
    repo.write("app/main.py", "import os\n\nNEW_UI = os.getenv('FEATURE_NEW_UI', 'false') == 'true'\n")
    repo.commit("toggle")
    [f] = run_check("repo.feature-toggles", repo.path)
    assert f.outcome is Outcome.PASS
    assert f.evidence[0].path == "app/main.py" and f.evidence[0].start_line == 3


def test_flag_library_passes(make_repo):
    repo = make_repo()
    repo.write("app/flags.py", "from openfeature import api\n\nclient = api.get_client()\n").commit("flags")
    [f] = run_check("repo.feature-toggles", repo.path)
    assert f.outcome is Outcome.PASS
    assert "library" in f.evidence[0].summary


def test_no_toggles_warns_and_readme_claim_does_not_count(make_repo):
    repo = make_repo()
    repo.write("README.md", "We use FEATURE_FLAGS everywhere.\n").write("app.py", "DEBUG = True\n").commit("x")
    [f] = run_check("repo.feature-toggles", repo.path)
    assert f.outcome is Outcome.WARN
    assert f.remediation


def test_all_work_on_one_day_warns_but_does_not_fail(make_repo):
    repo = make_repo()
    own_work(repo, commits=10, days=1, branch=False)
    repo.git("branch", "feature-a")
    repo.git("branch", "feature-b")
    [f] = run_check("repo.git-history", repo.path)
    assert f.outcome is Outcome.WARN, f.reason
    assert "1 day" in f.reason and f.remediation
