"""The repository probe's fast paths give the same answers as the slow ones."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pytest

from harness.probes import inventory, repository
from harness.probes.repository import RepoFile


@pytest.mark.parametrize(
    "path",
    ["a/b.PY", "Makefile", ".gitignore", "dir/.env.local", "x/name.", "x.tar.gz", "a.b/c", "..", "é/ü.Md"],
)
def test_name_and_suffix_follow_purepath(path: str) -> None:
    f = RepoFile(path=path, size=1)
    assert f.name == PurePosixPath(path).name
    assert f.suffix == PurePosixPath(path).suffix.lower()


def test_batch_reads_match_single_reads(make_repo) -> None:
    repo = make_repo()
    repo.write("a.txt", "same\n").write("copy/a.txt", "same\n").write("big.bin", b"\0" * 3000)
    repo.write("b.py", "print(1)\n").commit("files")
    batched = repository.snapshot(repo.path, max_file_bytes=2000)
    single = repository.snapshot(repo.path, max_file_bytes=2000)
    single._prefetched = True  # every read goes through `git cat-file --batch` one object at a time
    for f in batched.files:
        assert batched.read_bytes(f.path) == single.read_bytes(f.path), f.path
    assert batched.read_bytes("big.bin") is None  # over the size limit either way
    assert batched.read_text("copy/a.txt") == "same\n"
    assert not batched.problems


def test_grep_prefilter_keeps_crlf_and_anchored_lines(make_repo) -> None:
    """The whole-text prefilter must not lose a `$`-anchored match on a CRLF line."""
    repo = make_repo()
    repo.write("ops/backup.sh", "#!/bin/sh\r\npg_dump app > /srv/backup\r\n").write("x.py", "x = 1\n").commit("ops")
    snap = repository.snapshot(repo.path)
    hits = inventory.grep(snap, snap.files, re.compile(r"backup$"))
    assert [(h.path, h.line) for h in hits] == [("ops/backup.sh", 2)]
    assert inventory.grep(snap, snap.files, re.compile(r"^x = 1$")) == [inventory.Hit("x.py", 1, "x = 1")]
    assert inventory.grep(snap, snap.files, re.compile(r"pg_restore")) == []
