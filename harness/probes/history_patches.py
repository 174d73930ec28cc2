"""Patches of the whole history, for content scans (secrets): streamed, bounded, and honest about gaps.

One `git log -p` over every ref, read in blocks and cut at commit or file
boundaries, so memory holds one block plus one file's patch at most. git treats
blobs over `BIG_FILE_BYTES` as binary (core.bigFileThreshold), so a 200 MB
committed file costs one line of output; such blobs are listed in `PatchScan.unread`
(a scan must not call them clean). A long file patch is handed over in pieces of
at most `PIECE_BYTES`, cut at line ends: every added line is read.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness import sandbox
from harness.probes import gitcmd
from harness.probes.git_history import _START, _unquote

MAX_PATCH_BYTES = 150_000_000
MAX_PATCH_COMMITS = 20_000
BIG_FILE_BYTES = 8_000_000  # larger blobs are not diffed (git calls them binary); listed as not read
PIECE_BYTES = 1_000_000  # added lines handed to the scanner at once
BLOCK = 1 << 20
MAX_PENDING = 16 << 20  # past this without a commit marker, cut at the last file boundary


@dataclass(frozen=True)
class FilePatch:
    sha: str
    path: str
    added: str  # the added lines, joined (one piece of them for a long patch)
    removed: str  # the removed lines, joined


@dataclass
class PatchScan:
    """Statistics of one `patches` pass; `truncated` says why it stopped early, if it did."""

    commits: int = 0
    bytes: int = 0
    truncated: str = ""
    binary: dict[str, tuple[str, str]] = field(default_factory=dict)  # blob id -> (commit, path), not diffed

    def unread(self, root: Path) -> list[tuple[str, str, int]]:
        """(commit, path, size) of blobs git did not diff because they are over BIG_FILE_BYTES."""
        sizes = blob_sizes(root, list(self.binary))
        return [(*self.binary[oid], size) for oid, size in sizes.items() if size > BIG_FILE_BYTES]


def blob_sizes(root: Path, oids: list[str]) -> dict[str, int]:
    if not oids:
        return {}
    try:
        out = gitcmd.run(
            root, ["cat-file", "--batch-check"], timeout=60, check=False, input="".join(f"{o}\n" for o in oids).encode()
        )
    except gitcmd.GitError:
        return {}
    sizes = {}
    for line in out.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            sizes[parts[0]] = int(parts[2])
    return sizes


def patches(
    root: Path,
    scan: PatchScan,
    deadline: float,
    skip: Callable[[str], bool],
    prefilter: Callable[[bytes], bool] | None = None,
) -> Iterator[FilePatch]:
    """Every file change of every commit on every ref, newest first, bounded in bytes, commits and time.

    Output is cut into commits and files as bytes; a file section that does not
    match `prefilter` (checked on the raw section) is skipped without being split
    into lines, which is what makes a scan of a long history cheap.
    """
    args = gitcmd.argv(
        root,
        [
            "-c", f"core.bigFileThreshold={BIG_FILE_BYTES}", "log",
            "--exclude=refs/notes/*", "--exclude=refs/stash", "--exclude=refs/replace/*", "--all", "HEAD",
            "-p", "-U0", "--full-index", "--no-color", "--no-renames", "--no-ext-diff", "--no-textconv",
            "--format=" + _START + "%H",
        ],
    )  # fmt: skip
    proc = sandbox.popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=gitcmd.git_env())
    assert proc.stdout is not None
    start = b"\n" + _START.encode()
    buffer = bytearray()
    sha = ""
    try:
        while True:
            block = proc.stdout.read(BLOCK)
            scan.bytes += len(block)
            if scan.bytes > MAX_PATCH_BYTES:
                scan.truncated = f"stopped after {MAX_PATCH_BYTES // 1_000_000} MB of patches ({scan.commits} commits)"
                return
            if time.monotonic() > deadline:
                scan.truncated = f"ran out of time after {scan.commits} commits"
                return
            if not buffer and block.startswith(start[1:]):
                buffer += b"\n"  # every commit marker is then preceded by a newline
            buffer += block
            # Whole commits, or (for a commit with a huge patch) whole file sections of the current one.
            # Only the new block (and the bytes before it) can hold a new marker: one huge commit stays linear.
            cut = len(buffer) if not block else buffer.rfind(start, max(0, len(buffer) - len(block) - len(start)))
            if cut <= 0 and len(buffer) > MAX_PENDING:
                cut = buffer.rfind(b"\ndiff --git ")
            if cut <= 0:
                continue
            chunk = bytes(buffer[:cut])
            del buffer[:cut]
            records = chunk.split(start)
            if records[0].strip():  # the rest of the current commit, cut at a file boundary
                yield from _file_patches(sha, records[0], scan, skip, prefilter)
            for record in records[1:]:
                head, _, body = record.partition(b"\n")
                sha = head.decode("ascii", "replace").strip()
                scan.commits += 1
                if scan.commits > MAX_PATCH_COMMITS:
                    scan.truncated = f"stopped after {MAX_PATCH_COMMITS} commits"
                    return
                if prefilter is not None and b"Binary files " not in body and not prefilter(body):
                    continue  # nothing in the whole commit can match: skip splitting it into files
                yield from _file_patches(sha, body, scan, skip, prefilter)
            if not block:
                # git stops early on an object it cannot read (a partial clone): never pass that off as all.
                if proc.wait(timeout=10) != 0:
                    scan.truncated = f"git log failed after {scan.commits} commits (an unreadable object?)"
                return
    finally:
        sandbox.kill(proc)


def _file_patches(
    sha: str,
    record: bytes,
    scan: PatchScan,
    skip: Callable[[str], bool],
    prefilter: Callable[[bytes], bool] | None,
) -> Iterator[FilePatch]:
    for section in record.split(b"diff --git ")[1:]:
        header, sep, hunks = section.partition(b"\n@@")
        if not sep:
            _note_binary(sha, header, scan)  # binary, too large, mode-only or empty change
            continue
        if prefilter is not None and not prefilter(section):
            continue
        path = ""
        for line in header.split(b"\n"):
            if line.startswith((b"+++ ", b"--- ")) and line[4:].strip() != b"/dev/null":
                path = _unquote(line[4:].strip().decode("utf-8", "replace"))[2:]
        if not path or skip(path):
            continue
        for piece in _pieces(hunks):
            lines = piece.split(b"\n")
            added = b"\n".join(ln[1:] for ln in lines if ln[:1] == b"+")
            removed = b"\n".join(ln[1:] for ln in lines if ln[:1] == b"-")
            yield FilePatch(sha, path, added.decode("utf-8", "replace"), removed.decode("utf-8", "replace"))


def _pieces(hunks: bytes) -> Iterator[bytes]:
    """`hunks` in pieces of about PIECE_BYTES, cut after a newline (a single longer line is one piece)."""
    pos = 0
    while pos < len(hunks):
        end = pos + PIECE_BYTES
        if end < len(hunks):
            nl = hunks.rfind(b"\n", pos, end)
            end = nl + 1 if nl >= pos else (hunks.find(b"\n", end) + 1 or len(hunks))
        yield hunks[pos:end]
        pos = end


def _note_binary(sha: str, header: bytes, scan: PatchScan) -> None:
    if b"\nBinary files " not in header:
        return
    lines = header.split(b"\n")
    first = lines[0].decode("utf-8", "replace")
    half = (len(first) - 5) // 2  # "a/P b/P" (no renames: both names are the same)
    path = first[2 : 2 + half] if first.startswith("a/") else _unquote(first)
    for line in lines:
        if line.startswith(b"index "):
            new = line[6:].split(b" ")[0].partition(b"..")[2].decode("ascii", "replace")
            if new and set(new) != {"0"}:
                scan.binary.setdefault(new, (sha, path))
