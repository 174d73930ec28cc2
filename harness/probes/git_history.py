"""The git history probe: one bounded, streaming `git log` pass over every ref.

Gives commits (with per-file line counts and created/deleted paths), refs and
remotes, and splits the project's own work from history inherited from a
course starter it was forked from. Memoised per run: every history check shares it.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness import redact
from harness.context import Context
from harness.model import Evidence
from harness.probes import gitcmd

MAX_COMMITS = 50_000
MAX_LOG_BYTES = 200_000_000
LOG_TIMEOUT_S = 60.0

_SEP = "\x1f"
_START = "\x1e"
# sha, parents, author name, author email, author date, committer date, subject
_FORMAT = _START + _SEP.join(["%H", "%P", "%an", "%ae", "%aI", "%cI", "%s"])


@dataclass(frozen=True)
class FileChange:
    path: str
    added: int | None  # None for binary files
    removed: int | None


@dataclass
class Commit:
    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    authored: dt.datetime
    committed: dt.datetime
    subject: str
    files: list[FileChange] = field(default_factory=list)
    created: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def short(self) -> str:
        return self.sha[:10]

    @property
    def author(self) -> str:
        return f"{self.author_name} <{self.author_email}>"


@dataclass
class History:
    root: Path
    head: str | None
    commits: list[Commit]  # newest first (committer date order)
    refs: dict[str, str]  # full ref name -> commit sha
    remotes: dict[str, str]  # remote name -> URL (credentials masked)
    truncated: str = ""  # why the log was cut short, if it was
    by_sha: dict[str, Commit] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.by_sha = {c.sha: c for c in self.commits}

    @property
    def local_branches(self) -> dict[str, str]:
        return {r.removeprefix("refs/heads/"): s for r, s in self.refs.items() if r.startswith("refs/heads/")}

    def remote_branches(self, remote: str | None = None) -> dict[str, str]:
        """`origin/feature` -> sha, optionally of one remote only; symbolic HEADs left out."""
        out = {}
        for ref, sha in self.refs.items():
            if not ref.startswith("refs/remotes/") or ref.endswith("/HEAD"):
                continue
            name = ref.removeprefix("refs/remotes/")
            if remote is None or name.startswith(remote + "/"):
                out[name] = sha
        return out

    @property
    def tags(self) -> dict[str, str]:
        return {r.removeprefix("refs/tags/"): s for r, s in self.refs.items() if r.startswith("refs/tags/")}

    def ancestors(self, starts: list[str]) -> set[str]:
        """Every commit reachable from `starts` within the loaded history (iterative walk)."""
        seen: set[str] = set()
        stack = [s for s in starts if s in self.by_sha]
        while stack:
            sha = stack.pop()
            if sha in seen:
                continue
            seen.add(sha)
            stack.extend(p for p in self.by_sha[sha].parents if p in self.by_sha and p not in seen)
        return seen

    def descendants(self, starts: list[str]) -> set[str]:
        """Every loaded commit that has one of `starts` as an ancestor (or is one)."""
        children: dict[str, list[str]] = {}
        for c in self.commits:
            for p in c.parents:
                children.setdefault(p, []).append(c.sha)
        seen: set[str] = set()
        stack = list(starts)
        while stack:
            sha = stack.pop()
            if sha in seen:
                continue
            seen.add(sha)
            stack.extend(k for k in children.get(sha, ()) if k not in seen)
        return seen


class HistoryError(Exception):
    """The history cannot be read (reported by checks as could-not-check)."""


def _unquote(path: str) -> str:
    # git C-quotes unusual paths even with core.quotePath=false (tabs, quotes, newlines).
    if len(path) >= 2 and path[0] == '"' and path[-1] == '"':
        raw = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        return raw.encode("latin-1", "replace").decode("utf-8", "replace")
    return path


def _date(raw: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError:
        return dt.datetime.fromtimestamp(0, dt.UTC)


def parse_log(lines: Iterator[str]) -> Iterator[Commit]:
    """Parse `git log --format=_FORMAT --numstat --summary` output, one commit at a time."""
    current: Commit | None = None
    for line in lines:
        if line.startswith(_START):
            if current is not None:
                yield current
            parts = line[1:].rstrip("\n").split(_SEP)
            if len(parts) < 7:
                current = None
                continue
            sha, parents, name, email, adate, cdate = parts[:6]
            current = Commit(
                sha=sha,
                parents=tuple(parents.split()),
                author_name=name,
                author_email=email,
                authored=_date(adate),
                committed=_date(cdate),
                subject=_SEP.join(parts[6:]),
            )
            continue
        if current is None or not line.strip():
            continue
        text = line.rstrip("\n")
        if text.startswith(" create mode ") or text.startswith(" delete mode "):
            # " create mode 100644 path/to/file"
            bits = text.split(" ", 4)
            if len(bits) == 5:
                (current.created if bits[1] == "create" else current.deleted).add(_unquote(bits[4]))
            continue
        cols = text.split("\t", 2)
        if len(cols) == 3:
            added = int(cols[0]) if cols[0].isdigit() else None
            removed = int(cols[1]) if cols[1].isdigit() else None
            current.files.append(FileChange(_unquote(cols[2]), added, removed))
    if current is not None:
        yield current


def _refs(root: Path) -> dict[str, str]:
    raw = gitcmd.run(root, ["for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)"], timeout=30)
    refs = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        name, _, rest = line.partition("\0")
        obj, _, peeled = rest.partition("\0")
        refs[name] = peeled or obj  # annotated tags point at the tagged commit
    return refs


def _remotes(root: Path) -> dict[str, str]:
    raw = gitcmd.run(root, ["config", "--get-regexp", r"^remote\..*\.url$"], timeout=10, check=False)
    out = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        key, _, url = line.partition(" ")
        out[key.removeprefix("remote.").removesuffix(".url")] = redact.text(url)
    return out


def load(root: Path, deadline: float | None = None) -> History:
    """Read the whole history of a git repository, bounded in commits, bytes and time."""
    head = gitcmd.head(root)
    if head is None:
        return History(root, None, [], {}, {})
    refs, remotes = _refs(root), _remotes(root)
    timeout = LOG_TIMEOUT_S if deadline is None else max(1.0, min(LOG_TIMEOUT_S, deadline - time.monotonic()))
    args = [
        "git", "-C", str(root), "-c", "core.quotePath=false", "log",
        "--exclude=refs/notes/*", "--exclude=refs/stash", "--all", "HEAD",
        "--no-color", "--no-renames", "--no-ext-diff", "--no-textconv",
        f"--max-count={MAX_COMMITS}", f"--format={_FORMAT}", "--numstat", "--summary",
    ]  # fmt: skip
    commits: list[Commit] = []
    truncated = ""
    read = 0
    started = time.monotonic()
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=gitcmd.git_env()
    )
    assert proc.stdout is not None

    def lines() -> Iterator[str]:
        nonlocal read, truncated
        for raw in proc.stdout:  # type: ignore[union-attr]
            read += len(raw)
            if read > MAX_LOG_BYTES:
                truncated = f"history longer than {MAX_LOG_BYTES // 1_000_000} MB of log output"
                return
            if time.monotonic() - started > timeout:
                truncated = f"reading the history took longer than {timeout:g} s"
                return
            yield raw.decode("utf-8", "replace")

    try:
        commits.extend(parse_log(lines()))
    finally:
        proc.kill()
        proc.wait(timeout=10)
    if not truncated and proc.returncode not in (0, -9) and not commits:
        raise HistoryError(f"git log failed with exit code {proc.returncode}")
    if not truncated and len(commits) >= MAX_COMMITS:
        truncated = f"more than {MAX_COMMITS} commits: only the newest were read"
    return History(root, head, commits, refs, remotes, truncated)


def get(ctx: Context) -> History:
    """The run's shared history; raises HistoryError when the folder is not a git repository."""

    def factory() -> History:
        top = gitcmd.toplevel(ctx.repo)
        if top is None or top.resolve() != ctx.repo.resolve():
            raise HistoryError("not a git repository: there is no history to read")
        return load(ctx.repo, ctx.deadline)

    return ctx.memo("git_history", factory)


# -- own work versus inherited history ---------------------------------------------


@dataclass
class Ownership:
    """Which commits are the project's own, and which were inherited from a starter."""

    own: list[Commit]  # newest first
    inherited: set[str]
    method: str  # how the inherited part was found, in one sentence
    boundary: Commit | None  # the newest inherited commit (the fork point)
    owner: str  # the project owner's identity (name <email>)
    remote: str = ""  # the upstream remote's name (configured)
    upstream_refs: list[str] = field(default_factory=list)


def _identity(c: Commit) -> tuple[str, str]:
    return c.author_name.strip().lower(), c.author_email.strip().lower()


def owner_of(history: History) -> tuple[set[str], set[str], str]:
    """The project owner: the author of the newest non-merge commit on HEAD's first-parent line.

    A vote over a window of recent commits would let a long starter history
    outvote a young fork; the tip of the branch under test is always the owner's.
    Returns (names, emails, display).
    """
    sha: str | None = history.head
    seen = 0
    while sha in history.by_sha and seen < MAX_COMMITS:
        c = history.by_sha[sha]
        if not c.is_merge:
            name, email = _identity(c)
            return {name}, {email}, c.author
        sha = c.parents[0] if c.parents else None
        seen += 1
    return set(), set(), ""


def ownership(history: History, upstream_remote: str) -> Ownership:
    """Split own work from inherited history.

    With an upstream remote, everything reachable from its refs is inherited.
    Without one, the leading commits by other authors before the owner's first
    commit (and their ancestors) are taken as the starter's history.
    """
    names, emails, owner = owner_of(history)
    upstream = history.remote_branches(upstream_remote) if upstream_remote else {}
    upstream_refs: list[str] = []
    if upstream:
        inherited = history.ancestors(list(upstream.values()))
        method = f"commits reachable from the '{upstream_remote}' remote ({len(upstream)} refs) are inherited"
        upstream_refs = sorted(upstream)
    else:
        by_owner = [c.sha for c in history.commits if _identity(c)[0] in names or _identity(c)[1] in emails]
        if not by_owner:
            inherited = set()
        else:
            # Inherited: what lies before the owner's first commits, topologically (dates can lie),
            # plus unrelated starter commits older than any of the owner's.
            after = history.descendants(by_owner)
            first = min(history.by_sha[s].committed for s in by_owner)
            inherited = history.ancestors(by_owner) - after
            inherited |= {c.sha for c in history.commits if c.committed < first and c.sha not in after}
        method = (
            f"no '{upstream_remote}' remote: commits by other authors before the owner's first commit are inherited"
        )
    own = [c for c in history.commits if c.sha not in inherited]
    boundary = None
    if inherited:
        boundary = max((history.by_sha[s] for s in inherited if s in history.by_sha), key=lambda c: c.committed)
    return Ownership(own, inherited, method, boundary, owner, upstream_remote, upstream_refs)


def get_ownership(ctx: Context) -> Ownership:
    remote = ctx.config.repository.upstream_remote
    return ctx.memo(f"git_ownership:{remote}", lambda: ownership(get(ctx), remote))


# -- helpers shared by the history checks ------------------------------------------


def commit_evidence(c: Commit, summary: str | None = None, **data: object) -> Evidence:
    return Evidence(
        kind="commit",
        summary=summary or f"{c.short} {c.subject}",
        commit=c.sha,
        timestamp=c.committed.isoformat(),
        data={"author": c.author_name, **data} if data or c.author_name else {},
    )


def history_or_reason(ctx: Context) -> tuple[History | None, str]:
    """The history, or why there is none (for a could-not-check finding)."""
    try:
        history = get(ctx)
    except HistoryError as exc:
        return None, str(exc)
    except gitcmd.GitError as exc:
        return None, f"cannot read the git history: {exc}"
    except OSError as exc:
        return None, f"cannot run git: {exc}"
    if history.head is None or not history.commits:
        return None, "the repository has no commits yet"
    return history, ""


# -- patches, for content scans of history (secrets) --------------------------------

MAX_PATCH_BYTES = 150_000_000
MAX_PATCH_COMMITS = 20_000
MAX_FILE_PATCH_CHARS = 1_000_000  # per file and commit: enough for any hand-written change


@dataclass(frozen=True)
class FilePatch:
    sha: str
    path: str
    added: str  # the added lines, joined
    removed: str  # the removed lines, joined


@dataclass
class PatchScan:
    """Statistics of one `patches` pass; `truncated` says why it stopped early, if it did."""

    commits: int = 0
    bytes: int = 0
    truncated: str = ""


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
    args = [
        "git", "-C", str(root), "-c", "core.quotePath=false", "log",
        "--exclude=refs/notes/*", "--exclude=refs/stash", "--all", "HEAD",
        "-p", "-U0", "--no-color", "--no-renames", "--no-ext-diff", "--no-textconv", "--format=" + _START + "%H",
    ]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=gitcmd.git_env()
    )
    assert proc.stdout is not None
    start = _START.encode()
    buffer = bytearray()  # appended in place: one commit of hundreds of MB must not be copied per read
    try:
        while True:
            block = proc.stdout.read(1 << 20)
            scan.bytes += len(block)
            if scan.bytes > MAX_PATCH_BYTES:
                scan.truncated = f"stopped after {MAX_PATCH_BYTES // 1_000_000} MB of patches ({scan.commits} commits)"
                return
            if time.monotonic() > deadline:
                scan.truncated = f"ran out of time after {scan.commits} commits"
                return
            buffer += block
            # Complete commits only: everything before the last commit marker (or all of it at the end).
            # Only the new block can hold a new marker: searching it alone keeps one huge commit linear.
            cut = len(buffer) if not block else buffer.rfind(b"\n" + start, max(0, len(buffer) - len(block) - 1))
            if cut <= 0:
                continue
            chunk = bytes(buffer[:cut])
            del buffer[:cut]
            for record in chunk.split(start):
                if not record.strip():
                    continue
                scan.commits += 1
                if scan.commits > MAX_PATCH_COMMITS:
                    scan.truncated = f"stopped after {MAX_PATCH_COMMITS} commits"
                    return
                if prefilter is not None and not prefilter(record):
                    continue  # nothing in the whole commit can match: skip splitting it into files
                yield from _file_patches(record, skip, prefilter)
            if not block:
                # git stops early on an object it cannot read (a partial clone): never pass that off as all.
                if proc.wait(timeout=10) != 0:
                    scan.truncated = f"git log failed after {scan.commits} commits (an unreadable object?)"
                return
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _file_patches(
    record: bytes, skip: Callable[[str], bool], prefilter: Callable[[bytes], bool] | None
) -> Iterator[FilePatch]:
    sha, _, body = record.partition(b"\n")
    for section in body.split(b"diff --git ")[1:]:
        if prefilter is not None and not prefilter(section):
            continue
        header, sep, hunks = section.partition(b"\n@@")
        if not sep:
            continue  # binary, mode-only or empty change
        path = ""
        for line in header.split(b"\n"):
            if line.startswith((b"+++ ", b"--- ")) and line[4:].strip() != b"/dev/null":
                path = _unquote(line[4:].strip().decode("utf-8", "replace"))[2:]
        if not path or skip(path):
            continue
        lines = hunks[:MAX_FILE_PATCH_CHARS].split(b"\n")
        added = b"\n".join(ln[1:] for ln in lines if ln[:1] == b"+")
        removed = b"\n".join(ln[1:] for ln in lines if ln[:1] == b"-")
        yield FilePatch(
            sha.decode().strip(), path, added.decode("utf-8", "replace"), removed.decode("utf-8", "replace")
        )
