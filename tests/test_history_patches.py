"""history_patches streams `git log -p` in bounded pieces and names what it could not diff."""

from __future__ import annotations

import time

from harness.probes import history_patches as hp


def _all(repo, **kw):
    scan = hp.PatchScan()
    out = list(hp.patches(repo, scan, time.monotonic() + 60, lambda p: False, **kw))
    return out, scan


def test_a_commit_larger_than_the_buffer_is_cut_at_file_boundaries_and_keeps_its_commit(make_repo, monkeypatch):
    monkeypatch.setattr(hp, "BLOCK", 512)
    monkeypatch.setattr(hp, "MAX_PENDING", 2048)
    monkeypatch.setattr(hp, "PIECE_BYTES", 700)
    repo = make_repo()
    first = repo.write("a.txt", "one\n").commit("first")
    for i in range(12):
        repo.write(f"f{i:02}.txt", "".join(f"line {i} {n}\n" for n in range(60)))
    big = repo.commit("many files")
    out, scan = _all(repo.path)
    assert scan.commits == 2 and not scan.truncated
    assert {(p.sha, p.path) for p in out} == {(first, "a.txt")} | {(big, f"f{i:02}.txt") for i in range(12)}
    f05 = "\n".join(p.added for p in out if p.path == "f05.txt")
    assert f05.split("\n") == [f"line 5 {n}" for n in range(60)]  # every line, in pieces, none cut
    assert max(len(p.added) for p in out) <= 700


def test_blobs_over_the_diff_bound_are_listed_not_diffed(make_repo, monkeypatch):
    monkeypatch.setattr(hp, "BIG_FILE_BYTES", 10_000)
    repo = make_repo()
    sha = repo.write("big.csv", "a,b\n" * 5000).write("small.txt", "x\n").commit("data")
    out, scan = _all(repo.path)
    assert [p.path for p in out] == ["small.txt"]
    assert scan.unread(repo.path) == [(sha, "big.csv", 20_000)]
    repo.write("logo.png", b"\x89PNG\x00\x00" + bytes(range(256))).commit("a small binary")
    _, scan = _all(repo.path)
    assert [path for _, path, _ in scan.unread(repo.path)] == ["big.csv"]  # a small binary is not "unread"
