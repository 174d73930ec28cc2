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
SHOWN = 5  # changed paths named in the run document


def _blob_sha(path: Path, size: int) -> str:
    digest = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _changed(root: Path) -> tuple[list[str], bool]:
    """(tracked paths whose working copy differs from HEAD, whether every file was compared)."""
    listing = gitcmd.run(root, ["ls-tree", "-r", "-z", "--full-tree", "-l", "HEAD"], timeout=30)
    changed: list[str] = []
    same_size: dict[str, str] = {}  # path -> HEAD's blob id, for the files to hash
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
    complete = _compare(root, same_size, changed, time.monotonic() + HASH_BUDGET_S)
    return changed, complete


def _compare(root: Path, expected: dict[str, str], changed: list[str], deadline: float) -> bool:
    """Hash the files in `expected` as git blobs, adding those that differ to `changed`; False if out of time.

    `git hash-object --no-filters` hashes the bytes as they are (no filter or attribute of the project runs);
    a path git's --stdin-paths would read differently (a newline, a leading quote) is hashed here instead.
    """
    plain = [p for p in expected if not (p.startswith('"') or "\n" in p or "\r" in p)]
    odd = [p for p in expected if p not in set(plain)] if len(plain) < len(expected) else []
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
            if _blob_sha(root / rel, (root / rel).lstat().st_size) != expected[rel]:
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
