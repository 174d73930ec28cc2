"""Whose work is it: the owner's identities, .mailmap, sync merges and shallow clones (issue 9, class 5)."""

from __future__ import annotations

import pytest

from harness.checks.repo.git_history import is_remote_sync
from harness.model import Outcome
from tests.conftest import RepoBuilder, git, run_check
from tests.test_repo_history import ADA, TUTOR, commit_as, data, day, feature_branch, fork_of, merge, own_work, starter

NOREPLY = "Ada Apprentice <12345+ada@users.noreply.github.com>"
LAPTOP = "ada <ada@laptop.local>"
INITIALS = "AApprentice <aa@uni.example>"
LOVELACE = "Ada Lovelace <lovelace@college.example>"


def variant_work(repo: RepoBuilder) -> None:
    """The owner's work under three identities, the newest (the tip) under GitHub's noreply address."""
    for i in range(4):
        commit_as(repo, LAPTOP, day(20 + i, 10), f"src/laptop{i}.py", f"a = {i}\n", f"laptop change {i}")
    for i in range(4):
        commit_as(repo, INITIALS, day(24 + i, 10), f"src/uni{i}.py", f"b = {i}\n", f"university change {i}")
    feature_branch(repo, "ada-login", NOREPLY, [28, 29], delete=True)
    commit_as(repo, NOREPLY, day(29, 20), "src/tip.py", "c = 1\n", "tip change")


def test_owner_name_variants_and_noreply_address_are_own_work(make_repo, tmp_path):
    fork = fork_of(starter(make_repo), tmp_path, keep_upstream=False)
    variant_work(fork)
    [f] = run_check("repo.git-history", fork.path)
    d = data(f)
    # Before: only the noreply identity was the owner's, the eight earlier commits counted as the starter's.
    assert d["own_commits"] == 11 and d["inherited_commits"] == 17, d
    assert f.outcome is Outcome.PASS, f.reason
    assert {LAPTOP, INITIALS, NOREPLY} <= set(d["owner_identities"])
    [size] = run_check("repo.commit-size", fork.path)
    assert "17 inherited" in size.reason


def test_someone_sharing_a_first_name_is_not_the_owner(make_repo, tmp_path):
    up = make_repo("starter")
    for i in range(1, 13):
        commit_as(up, LOVELACE, day(i), f"app/part{i}.py", f"p = {i}\n", f"starter step {i}")
    fork = fork_of(up, tmp_path, keep_upstream=False)
    variant_work(fork)
    [f] = run_check("repo.git-history", fork.path)
    d = data(f)
    assert d["inherited_commits"] == 12 and d["own_commits"] == 11, d
    assert LOVELACE not in d["owner_identities"]


def test_mailmap_renames_for_display_but_cannot_claim_the_starters_commits(make_repo, tmp_path):
    fork = fork_of(starter(make_repo), tmp_path, keep_upstream=False)
    own_work(fork, commits=3, days=1, branch=False)
    # A hostile .mailmap: the tutor's commits shown as the owner's.
    fork.write(".mailmap", f"{ADA} {TUTOR}\nAda Apprentice <ada@example.org> ada <ada@laptop.local>\n")
    fork.commit("mailmap", author=ADA, date=day(25))
    commit_as(fork, LAPTOP, day(26), "src/late.py", "l = 1\n", "from the laptop")
    commit_as(fork, ADA, day(27), "src/tip.py", "t = 1\n", "tip")
    [f] = run_check("repo.git-history", fork.path)
    d = data(f)
    assert f.outcome is Outcome.FAIL
    assert d["inherited_commits"] == 17 and d["own_commits"] == 6, d
    assert d["mailmap_refused"] == [f"{TUTOR} -> {ADA}"]
    assert any(e.kind == "note" and ".mailmap" in e.summary for e in f.evidence)
    assert d["authors"] == ["Ada Apprentice"]  # the laptop identity shown under the owner's name


def pull_merge(repo: RepoBuilder, subject: str, n: int) -> None:
    """Diverge main from its 'remote' copy and merge the two with git's own pull/merge subject."""
    base = repo.git("rev-parse", "HEAD")
    commit_as(repo, ADA, day(10 + n, 9), f"local{n}.py", "l = 1\n", f"local {n}")
    repo.git("checkout", "-q", "-b", "remote-copy", base)
    commit_as(repo, ADA, day(10 + n, 10), f"remote{n}.py", "r = 1\n", f"from the other machine {n}")
    repo.git("checkout", "-q", "main")
    merge(repo, "remote-copy", ADA, day(10 + n, 11))
    repo.git("commit", "-q", "--amend", "-m", subject)
    repo.git("branch", "-q", "-D", "remote-copy")


@pytest.mark.parametrize(
    ("subjects", "expected", "work_merges"),
    [
        (["Merge branch 'main' of github.com:ada/tracker", "Merge remote-tracking branch 'origin/main'"], "fail", 0),
        (["Merge branch 'main' of github.com:ada/tracker", "Merge pull request #3 from ada/login"], "pass", 1),
    ],
)
def test_merges_that_sync_a_branch_with_its_remote_are_not_own_branching(make_repo, subjects, expected, work_merges):
    repo = make_repo()
    own_work(repo, commits=10, days=4, branch=False)
    for n, subject in enumerate(subjects):
        pull_merge(repo, subject, n)
    [f] = run_check("repo.git-history", repo.path)
    d = data(f)
    assert d["own_merges"] == work_merges and d["sync_merges"] == len(subjects) - work_merges, d
    assert f.outcome.value == expected, f.reason
    if expected == "fail":
        assert "synced a branch with its remote" in f.reason


@pytest.mark.parametrize(
    ("subject", "sync"),
    [
        ("Merge branch 'main' of github.com:x/y", True),
        ("Merge branch 'master' of https://gitlab.com/x/y", True),
        ("Merge branch 'dev' of github.com:x/y into dev", True),
        ("Merge remote-tracking branch 'origin/main'", True),
        ("Merge remote-tracking branch 'origin/feature/a' into feature/a", True),
        ("Merge remote-tracking branch 'origin/feature-x'", False),
        ("Merge branch 'feature' of github.com:x/y", False),
        ("Merge branch 'main' into feature", False),
        ("Merge pull request #12 from ada/main", False),
    ],
)
def test_remote_sync_subjects(subject, sync):
    assert is_remote_sync(subject) is sync


HISTORY_CHECKS = ("repo.git-history", "repo.commit-size", "repo.fix-commits")


def test_shallow_clone_could_not_check_every_history_check_with_fetch_advice(make_repo, tmp_path):
    repo = make_repo()
    own_work(repo, commits=10, days=4, branch=True)
    commit_as(repo, ADA, day(28), "src/own0.py", "y = 99\n", "fix: wrong value")
    shallow, full = tmp_path / "shallow", tmp_path / "full"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow))
    git(tmp_path, "clone", "-q", f"file://{repo.path}", str(full))
    for check_id in HISTORY_CHECKS:
        [f] = run_check(check_id, shallow)
        assert f.outcome is Outcome.COULD_NOT_CHECK, (check_id, f.outcome, f.reason)
        assert "shallow clone" in f.reason and "1 commit" in f.reason
        assert "fetch-depth: 0" in (f.remediation or "")
        [whole] = run_check(check_id, full)
        assert whole.outcome is not Outcome.COULD_NOT_CHECK, (check_id, whole.reason)
    [iac] = run_check("repo.iac-state", shallow)
    assert iac.outcome is not Outcome.PASS  # no claim about commits that were never fetched


def test_a_bot_at_the_tip_is_not_the_owner(make_repo, tmp_path):
    fork = fork_of(starter(make_repo), tmp_path, keep_upstream=False)
    own_work(fork, commits=10, days=4, branch=True)
    bot = "github-actions <github-actions@github.com>"
    commit_as(fork, bot, day(29), "CHANGELOG.md", "x\n", "Update release notes")
    [f] = run_check("repo.git-history", fork.path)
    d = data(f)
    # The bot's commit is nobody's working practice: not counted as the owner's (issue 9, class 5).
    assert d["owner"] == ADA and d["inherited_commits"] == 17 and d["own_commits"] == 12, d
    assert d["automated_commits"] == 1, d


SYNC_BOT = "azure-sdk <azuresdk@example.com>"


def test_a_history_made_by_a_machine_is_nobodys_working_practice(make_repo):
    """Class 5: every commit but the first is one identity repeating one subject (a repository sync job)."""
    repo = make_repo("synced")
    commit_as(repo, ADA, day(1), "README.md", "# app\n", "Initial commit")
    for i in range(12):
        repo.git("checkout", "-q", "-b", f"sync-{i}")
        commit_as(repo, SYNC_BOT, day(2 + i), f"src/m{i}.py", f"m = {i}\n", "Synchronize repo from Repoman")
        repo.git("checkout", "-q", "main")
        merge(repo, f"sync-{i}", SYNC_BOT, day(2 + i, 12))
    [f] = run_check("repo.git-history", repo.path)
    d = data(f)
    # Before: the sync identity was the owner, with 12 own commits on 12 days, 12 merges and 12 branches.
    assert f.outcome is Outcome.FAIL, f.reason
    assert d["own_commits"] == 1 and d["automated_commits"] == 12 + 12, d
    assert d["own_branches"] == [], d  # every branch tip, main included, is the machine's
    assert d["automation_identities"] == [SYNC_BOT]
    assert "automation" in f.reason


def test_a_person_repeating_a_terse_subject_is_still_the_owner(make_repo):
    repo = make_repo("terse")
    own_work(repo, commits=3, days=3, branch=True)
    for i in range(8):
        commit_as(repo, ADA, day(12 + i), f"src/w{i}.py", f"w = {i}\n", "wip")
    [f] = run_check("repo.git-history", repo.path)
    d = data(f)
    assert d["automated_commits"] == 0 and d["own_commits"] >= 11, d
    assert ADA in d["owner"]
