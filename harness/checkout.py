"""What the run document says about the checkout verified: its commit, whether it is shallow, and
whether the working tree differs from the commit (harness judges the commit, not the working tree).

No git command here runs project code: `git status` or `git diff` would run the repository's
fsmonitor hook and clean filters (its own .git/config), so changed files are found by hashing
the working tree's files as git blobs (`git hash-object --no-filters`, the raw bytes) and
comparing them with `git ls-tree`.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path
from typing import Any

from harness.probes import gitcmd

HASH_BUDGET_S = 5.0  # stop comparing after this long; the note then says the comparison was partial
MAX_HASH_BYTES = 50_000_000  # a file larger than this is compared by size only
# Files this large are hashed here: OpenSSL's SHA-1 is about three times as fast as git's collision-detecting
# one, while git hashes many small files for less (no Python per file).
HASH_HERE_BYTES = 16 * 1024
SHOWN = 5  # changed paths named in the run document
READ_BYTES = 1 << 20


def _blob_sha(path: str, size: int, sha256: bool = False) -> str:
    header = f"blob {size}\0".encode()
    digest = hashlib.sha256(header) if sha256 else hashlib.sha1(header, usedforsecurity=False)
    with open(path, "rb") as fh:
        if size <= READ_BYTES:
            digest.update(fh.read())
            return digest.hexdigest()
        buffer = bytearray(READ_BYTES)  # one buffer for the whole file (a fresh 1 MiB per read costs page faults)
        view = memoryview(buffer)
        while n := fh.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


def _changed(root: Path) -> tuple[list[str], bool]:
    """(tracked paths whose working copy differs from HEAD, whether every file was compared)."""
    listing = gitcmd.run(root, ["ls-tree", "-r", "-z", "--full-tree", "-l", "HEAD"], timeout=30)
    changed: list[str] = []
    same_size: dict[str, str] = {}  # path -> HEAD's blob id, for the files to hash
    large: dict[str, int] = {}  # of those, the ones hashed here rather than by git (path -> size)
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha, size = meta.split()[:4]
        if kind != b"blob" or mode == b"120000":  # submodules and symlinks are not compared
            continue
        rel = raw_path.decode("utf-8", "surrogateescape")
        try:
            st = os.lstat(os.path.join(root, rel))
        except OSError:
            changed.append(rel)
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_size != int(size):
            changed.append(rel)
        elif st.st_size <= MAX_HASH_BYTES:
            same_size[rel] = sha.decode()
            if st.st_size >= HASH_HERE_BYTES:
                large[rel] = st.st_size
    complete = _compare(root, same_size, changed, time.monotonic() + HASH_BUDGET_S, large)
    return changed, complete


def _compare(
    root: Path, expected: dict[str, str], changed: list[str], deadline: float, large: dict[str, int] | None = None
) -> bool:
    """Hash the files in `expected` as git blobs, adding those that differ to `changed`; False if out of time.

    `git hash-object --no-filters` hashes the bytes as they are (no filter or attribute of the project runs);
    a path git's --stdin-paths would read differently (a newline, a leading quote), and a file in `large`,
    is hashed here instead, alike.
    """
    here = large or {}
    plain = [p for p in expected if not (p.startswith('"') or "\n" in p or "\r" in p or p in here)]
    by_git = set(plain)  # once: a set built per path was quadratic in the tree's size
    odd = [p for p in expected if p not in by_git] if len(plain) < len(expected) else []
    if plain:
        try:
            out = gitcmd.run(
                root,
                ["hash-object", "--no-filters", "--stdin-paths"],
                timeout=max(0.1, deadline - time.monotonic()),
                check=False,
                input="".join(f"{p}\n" for p in plain).encode("utf-8", "surrogateescape"),
            ).split()
        except gitcmd.GitError:  # out of time
            return False
        if len(out) != len(plain):
            odd = list(expected)  # git stopped at a file it could not read: compare each one here
        else:
            changed += [p for p, got in zip(plain, out, strict=True) if got.decode() != expected[p]]
    for rel in odd:
        if time.monotonic() > deadline:
            return False
        try:
            want, path = expected[rel], os.path.join(root, rel)
            size = here[rel] if rel in here else os.lstat(path).st_size
            if _blob_sha(path, size, len(want) == 64) != want:
                changed.append(rel)
        except OSError:
            changed.append(rel)
    return True


def state(root: Path) -> dict[str, Any]:
    """{commit, shallow, changed_files, changed_sample, compared_all}; {} when `root` is not a git work tree."""
    head = gitcmd.head(root)
    top = gitcmd.toplevel(root)
    if head is None or top is None or top.resolve() != root.resolve():
        return {}
    out: dict[str, Any] = {"commit": head}
    try:
        out["shallow"] = gitcmd.run(root, ["rev-parse", "--is-shallow-repository"], timeout=10).strip() == b"true"
        changed, complete = _changed(root)
    except gitcmd.GitError:
        return out
    out.update(changed_files=len(changed), changed_sample=changed[:SHOWN], compared_all=complete)
    return out
