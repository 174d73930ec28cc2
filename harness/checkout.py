"""What the run document says about the checkout verified: its commit, whether it is shallow, and
whether the working tree differs from the commit (harness judges the commit, not the working tree).

No git command here runs project code: `git status` or `git diff` would run the repository's
fsmonitor hook and clean filters (its own .git/config), so changed files are found by hashing
the working tree's files as git blobs in Python and comparing them with `git ls-tree`.
"""

from __future__ import annotations

import hashlib
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
    deadline = time.monotonic() + HASH_BUDGET_S
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha, size = meta.split()[:4]
        if kind != b"blob" or mode == b"120000":  # submodules and symlinks are not compared
            continue
        if time.monotonic() > deadline:
            return changed, False
        rel = raw_path.decode("utf-8", "surrogateescape")
        full = root / rel
        try:
            st = full.lstat()
            differs = not full.is_file() or full.is_symlink() or st.st_size != int(size)
            if differs or (st.st_size <= MAX_HASH_BYTES and _blob_sha(full, st.st_size) != sha.decode()):
                changed.append(rel)
        except (OSError, ValueError):
            changed.append(rel)
    return changed, True


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
