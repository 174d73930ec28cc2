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
from harness.probes.gitcmd import unquote_path as _unquote

MAX_PATCH_BYTES = 150_000_000
MAX_PATCH_COMMITS = 20_000
BIG_FILE_BYTES = 8_000_000  # larger blobs are not diffed (git calls them binary); listed as not read
_START = "\x1e"  # the commit marker (git_history's, so its combined pass cuts alike)
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
            records = _cut(buffer, block)
            if not records:
                continue
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


def _cut(buffer: bytearray, block: bytes) -> list[bytes]:
    """Add `block` (b"" at the end of the output) to `buffer` and take what can be cut off: whole commits,
    or (for a commit with a huge patch) whole file sections of the current one. Returns [the rest of the
    current commit, then whole commit records without their marker], or [] when nothing can be cut yet.
    """
    start = b"\n" + _START.encode()
    if not buffer and block.startswith(start[1:]):
        buffer += b"\n"  # every commit marker is then preceded by a newline
    buffer += block
    # Only the new block (and the bytes before it) can hold a new marker: one huge commit stays linear.
    cut = len(buffer) if not block else buffer.rfind(start, max(0, len(buffer) - len(block) - len(start)))
    if cut <= 0 and len(buffer) > MAX_PENDING:
        cut = buffer.rfind(b"\ndiff --git ")
    if cut <= 0:
        return []
    chunk = bytes(buffer[:cut])
    del buffer[:cut]
    return chunk.split(start)


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


# -- the history probe's pass, shared -----------------------------------------------

# What the history probe's `git log --numstat --summary` adds to carry the patches too (one pass, not two).
SHARED_ARGS = ["-p", "-U0", "--full-index"]
MAX_KEPT_BYTES = 32 << 20  # file sections kept for the scan; past this the scan makes its own pass


class Collector:
    """The secret history scan's share of the history probe's pass, fed each commit's patch in log order.

    It keeps only the file sections `prefilter` lets through, with the limits and statistics of
    `patches`, so `patches_for` yields what `patches` would. `full` says a limit of `patches` was
    reached (the rest of the log is not the scan's); `usable` is False when the shared pass cannot stand
    in for the scan's own (it kept too much, or the history pass was cut short or failed): the scan then
    runs `patches`.
    """

    def git_config(self) -> list[str]:
        return ["-c", f"core.bigFileThreshold={BIG_FILE_BYTES}"]  # as `patches` runs git

    def __init__(self, prefilter: Callable[[bytes], bool]) -> None:
        self.prefilter = prefilter
        self.scan = PatchScan()
        self.kept: list[tuple[str, bytes]] = []
        self.kept_bytes = 0
        self.full = False
        self.usable = True

    def commit(self) -> None:
        if self.full:
            return
        self.scan.commits += 1
        if self.scan.commits > MAX_PATCH_COMMITS:
            self.scan.truncated = f"stopped after {MAX_PATCH_COMMITS} commits"
            self.full = True

    def add(self, sha: str, patch: bytes, cold: bool = False) -> None:
        """One commit's patch (or a piece of it cut at a file boundary); `cold`: the prefilter ruled it out."""
        if self.full:
            return
        self.scan.bytes += len(patch)
        if self.scan.bytes > MAX_PATCH_BYTES:
            mb = MAX_PATCH_BYTES // 1_000_000
            self.scan.truncated = f"stopped after {mb} MB of patches ({self.scan.commits} commits)"
            self.full = True
            return
        if b"Binary files " not in patch and (cold or not self.prefilter(patch)):
            return  # nothing in the whole commit can match
        for section in patch.split(b"diff --git ")[1:]:
            header, sep, _ = section.partition(b"\n@@")
            if not sep:
                _note_binary(sha, header, self.scan)
            elif self.prefilter(section):
                self.kept.append((sha, section))
                self.kept_bytes += len(section)
        if self.kept_bytes > MAX_KEPT_BYTES:
            self.give_up()

    def cold(self, data: bytes) -> bool:
        """True only when the prefilter says no to `data` (a block of several commits)."""
        return not self.prefilter(data)  # one Aho-Corasick pass: stripping the block first cost more than it saved

    def give_up(self) -> None:
        self.usable, self.full, self.kept = False, True, []

    def patches_for(self, skip: Callable[[str], bool]) -> Iterator[FilePatch]:
        for sha, section in self.kept:
            yield from _file_patches(sha, b"diff --git " + section, self.scan, skip, None)


def split_commits(blocks: Iterator[bytes], collector: Collector) -> Iterator[bytes]:
    """From `git log --format=<_START>%H... --numstat --summary -p`, each commit's own lines (format,
    numstat, summary), each starting with the marker; its patch goes to `collector`.

    Cut like `patches`: whole commits, or a huge commit's patch at its file boundaries. Once the collector
    is full (a limit of the scan), the rest of the patches are cut off and dropped.
    """
    buffer = bytearray()
    sha = ""
    for block in blocks:
        records = _cut(buffer, block)
        if not records:
            continue
        # One prefilter over all of them first: in most projects most commits hold no keyword at all.
        cold = collector.cold(b"\n".join(records))
        if records[0].strip():  # the rest of the current commit's patch, cut at a file boundary
            collector.add(sha, records[0], cold)
        for record in records[1:]:
            at = record.find(b"\ndiff --git ")
            own, patch = (record, b"") if at < 0 else (record[:at], record[at + 1 :])
            sha = own.partition(b"\x1f")[0].decode("ascii", "replace").strip()
            collector.commit()
            yield _START.encode() + own
            if patch:
                collector.add(sha, patch, cold)
