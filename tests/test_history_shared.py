"""One `git log` pass for the history probe and the secret history scan: the same commits, the same patches."""

from __future__ import annotations

import time

from harness import sandbox
from harness.checks.base import load_all
from harness.engine import run_checks
from harness.model import Outcome
from harness.probes import git_history
from harness.probes import history_patches as hp
from tests.conftest import context_for

GH_TOKEN = "ghp_" + "r8Tq2LmZ0xW4vYk9PaB7nC3dE5fG1hJ6sU8o"  # fake, split so scanners of this repository pass it


def _own_pass(root) -> tuple[list[tuple[str, str, str, str]], hp.PatchScan]:
    scan = hp.PatchScan()
    out = hp.patches(root, scan, time.monotonic() + 60, lambda p: False, None)
    return [(p.sha, p.path, p.added, p.removed) for p in out], scan


def _shared_pass(root) -> tuple[git_history.History, list[tuple[str, str, str, str]], hp.Collector]:
    collector = hp.Collector(lambda b: True)
    history = git_history.load(root, collector=collector)
    return history, [(p.sha, p.path, p.added, p.removed) for p in collector.patches_for(lambda p: False)], collector


def _files(history: git_history.History) -> list[tuple[str, list[git_history.FileChange], set[str], set[str]]]:
    return [(c.sha, c.files, c.created, c.deleted) for c in history.commits]


def _project(make_repo):
    repo = make_repo()
    repo.write("a.txt", "one\n").commit("first")
    for i in range(12):
        repo.write(f"f{i:02}.txt", "".join(f"line {i} {n}\n" for n in range(60)))
    repo.commit("many files")
    repo.write("logo.png", b"\x89PNG\x00\x00" + bytes(range(256))).write("a.txt", "one\ntwo\n").commit("logo")
    repo.remove("f03.txt").commit("drop f03")
    return repo


def test_the_shared_pass_gives_the_plain_history_and_the_scans_own_patches(make_repo, monkeypatch):
    # Small blocks and a small pending bound: commits and a large commit's patch are cut across reads.
    monkeypatch.setattr(git_history, "LOG_BLOCK", 512)
    monkeypatch.setattr(hp, "MAX_PENDING", 2048)
    repo = _project(make_repo)
    plain = git_history.load(repo.path)
    history, patches, collector = _shared_pass(repo.path)
    own, scan = _own_pass(repo.path)
    assert _files(history) == _files(plain) and len(history.commits) == 4
    assert patches == own and len(patches) == 15  # a.txt twice, f00-f11, f03 removed
    assert collector.usable and collector.scan.commits == scan.commits == 4
    assert collector.scan.binary == scan.binary and len(scan.binary) == 1  # the logo


def test_a_blob_too_large_to_diff_is_counted_by_a_plain_pass_and_listed_unread(make_repo, monkeypatch):
    monkeypatch.setattr(hp, "BIG_FILE_BYTES", 10_000)
    repo = make_repo()
    sha = repo.write("big.csv", "a,b\n" * 5000).write("small.txt", "x\n").commit("data")
    history, patches, collector = _shared_pass(repo.path)
    assert {f.path: f.added for f in history.commits[0].files} == {"big.csv": 5000, "small.txt": 1}
    assert [p[1] for p in patches] == ["small.txt"]
    assert collector.usable and collector.scan.unread(repo.path) == [(sha, "big.csv", 20_000)]


def _count_logs(monkeypatch) -> list[list[str]]:
    logs: list[list[str]] = []
    popen = sandbox.popen

    def counting(args, **kw):
        if "log" in args:
            logs.append(list(args))
        return popen(args, **kw)

    monkeypatch.setattr(sandbox, "popen", counting)
    return logs


def test_the_scans_commit_limit_cuts_its_patches_not_the_history(make_repo, monkeypatch):
    monkeypatch.setattr(hp, "MAX_PATCH_COMMITS", 2)
    repo = _project(make_repo)
    logs = _count_logs(monkeypatch)
    history, patches, collector = _shared_pass(repo.path)
    assert len(logs) == 1  # the history is read on, in the same pass
    own, scan = _own_pass(repo.path)
    assert len(history.commits) == 4 and _files(history) == _files(git_history.load(repo.path))
    assert patches == own and collector.scan.truncated == scan.truncated == "stopped after 2 commits"


def test_a_run_of_the_history_checks_and_the_secret_scan_reads_the_history_once(make_repo, monkeypatch):
    repo = make_repo()
    for i in range(6):
        repo.write(f"src/m{i}.py", f"X = {i}\n").commit(f"module {i}")
    repo.write("deploy.sh", f'export GITHUB_TOKEN="{GH_TOKEN}"\n').commit("deploy")
    repo.remove("deploy.sh").commit("remove the token")
    logs = _count_logs(monkeypatch)
    registry = load_all()
    shared = context_for(repo.path).shared
    outcome = run_checks([registry["repo.commit-size"], registry["repo.secrets"]], shared)
    secrets = next(r for r in outcome.results if r.check.meta.id == "repo.secrets")
    warned = [f for f in secrets.findings if f.outcome is Outcome.WARN]
    assert [f.subject for f in warned] == ["deploy.sh"] and GH_TOKEN not in str([f.to_dict() for f in warned])
    assert len(logs) == 1 and "-p" in logs[0] and "--numstat" in logs[0]


def test_the_prefilter_is_a_keyword_test_on_lower_cased_bytes() -> None:
    """prefilter_bytes says yes exactly when a keyword is in the lower-cased bytes, whatever their case."""
    import random

    from harness.probes.secret_scan import KEYWORDS_BYTES, prefilter_bytes

    rng = random.Random(5)
    alphabet = b"abcdefgAKIPSTOWXYZ_:/.- 0123\n"
    for _ in range(2000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        if rng.random() < 0.3:
            word = rng.choice(KEYWORDS_BYTES)
            data += bytes(c if rng.random() < 0.5 else c ^ 0x20 if chr(c).isalpha() else c for c in word)
        assert prefilter_bytes(data) == any(k in data.lower() for k in KEYWORDS_BYTES)


def test_a_cold_block_is_one_the_prefilter_rules_out() -> None:
    """The block test says hot wherever the prefilter would, on blocks of any bytes."""
    import random

    from harness.probes.secret_scan import KEYWORDS_BYTES, prefilter_bytes

    collector = hp.Collector(prefilter_bytes)
    assert collector.cold(b"    value_10 = 45\n    value_11 = 46\n" * 50)
    assert not collector.cold(b"    value_10 = 45\n    x = 'ToKeN-1'\n")
    assert not collector.cold(b"1 2\t+ GHP_" + b"\n" * 9)
    rng = random.Random(14)
    alphabet = bytes(range(256))
    for _ in range(3000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        if rng.random() < 0.5:
            word = rng.choice(KEYWORDS_BYTES)
            cut = rng.randint(0, len(data))
            mixed = bytes(c ^ 0x20 if chr(c).isalpha() and rng.random() < 0.5 else c for c in word)
            data = data[:cut] + mixed + data[cut:]
        if prefilter_bytes(data):
            assert not collector.cold(data), data


def test_the_shared_pass_with_the_real_prefilter_keeps_what_the_scans_own_pass_reads(make_repo, monkeypatch):
    from harness.probes.secret_scan import prefilter_bytes

    monkeypatch.setattr(git_history, "LOG_BLOCK", 512)
    repo = _project(make_repo)
    repo.write("deploy.sh", f'export GITHUB_TOKEN="{GH_TOKEN}"\n').commit("deploy")
    repo.remove("deploy.sh").commit("remove the token")
    collector = hp.Collector(prefilter_bytes)
    git_history.load(repo.path, collector=collector)
    kept = [(p.sha, p.path, p.added, p.removed) for p in collector.patches_for(lambda p: False)]
    scan = hp.PatchScan()
    own = hp.patches(repo.path, scan, time.monotonic() + 60, lambda p: False, prefilter_bytes)
    assert kept == [(p.sha, p.path, p.added, p.removed) for p in own]
    assert [p[1] for p in kept] == ["deploy.sh", "deploy.sh"]  # removed, then added (newest first)
