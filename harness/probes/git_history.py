"""The git history probe: one bounded, streaming `git log` pass over every ref.

Gives commits (with per-file line counts and created/deleted paths), refs and
remotes; `git_ownership` splits the project's own work from history inherited
from a course starter. Memoised per run: every history check shares it.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from harness import redact, sandbox
from harness.context import Context, DeadlineExceeded
from harness.model import Evidence
from harness.probes import gitcmd, history_patches, secret_scan
from harness.probes.gitcmd import unquote_path as _unquote

MAX_COMMITS = 50_000
MAX_LOG_BYTES = 200_000_000
LOG_TIMEOUT_S = 60.0
LOG_BLOCK = 1 << 16  # a pipe holds 64 KiB: a larger read1 buys nothing but a fresh, page-faulted buffer each call
PATCH_READERS = frozenset({"repo.secrets"})  # checks whose history scan takes its patches from this pass

_SEP = "\x1f"
_START = "\x1e"
# sha, parents, author name, author email, author date, committer date, subject
_FORMAT = _START + _SEP.join(["%H", "%P", "%an", "%ae", "%aI", "%cI", "%s"])
# The same with the author as .mailmap shows it, read only when the project has one (it costs a little per commit).
_MAILMAP_FORMAT = _START + _SEP.join(["%H", "%P", "%an", "%ae", "%aI", "%cI", "%aN", "%aE", "%s"])


class FileChange(NamedTuple):  # a tuple: built 20,000 times for 10,000 commits, a frozen dataclass costs 4x
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
    display_name: str = ""  # the author as the project's .mailmap shows it (display only)
    display_email: str = ""

    @property
    def mailmapped(self) -> bool:
        return bool(self.display_name) and (self.display_name, self.display_email) != (
            self.author_name,
            self.author_email,
        )

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
    shallow: bool = False  # a shallow clone: the history below its grafts was never fetched
    by_sha: dict[str, Commit] = field(default_factory=dict, repr=False)
    patches: history_patches.Collector | None = field(default=None, repr=False)  # the secret scan's, when wanted

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


def _date(raw: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError:
        return dt.datetime.fromtimestamp(0, dt.UTC)


def parse_log(lines: Iterator[str], mailmap: bool = False) -> Iterator[Commit]:
    """Parse `git log --format=_FORMAT --numstat --summary` output, one commit at a time.

    With `mailmap`, the output is in `_MAILMAP_FORMAT`.
    """
    record: list[str] = []
    for line in lines:
        if line.startswith(_START):
            if record and (commit := parse_commit(record, mailmap)) is not None:
                yield commit
            record = [line]
        elif record:
            record.append(line)
    if record and (commit := parse_commit(record, mailmap)) is not None:
        yield commit


def parse_commit(lines: list[str], mailmap: bool = False) -> Commit | None:
    """One commit of that output: its format line (starting with the marker), then its numstat and summary
    lines; None when the format line is not whole. A list per commit, not a generator per line: 10,000
    commits are some 60,000 lines."""
    fields = 9 if mailmap else 7
    parts = lines[0][1:].split(_SEP)  # lines come without their line break
    if len(parts) < fields:
        return None
    sha, parents, name, email, adate, cdate = parts[:6]
    shown_name, shown_email = (parts[6], parts[7]) if mailmap else ("", "")
    current = Commit(
        sha=sha,
        parents=tuple(parents.split()),
        author_name=name,
        author_email=email,
        authored=_date(adate),
        committed=_date(cdate),
        subject=_SEP.join(parts[fields - 1 :]),
        display_name=shown_name,
        display_email=shown_email,
    )
    files = current.files
    for text in lines[1:]:
        if not text or text.isspace():
            continue
        if text[0] == " " and text.startswith((" create mode ", " delete mode ")):
            # " create mode 100644 path/to/file"
            bits = text.split(" ", 4)
            if len(bits) == 5:
                (current.created if bits[1] == "create" else current.deleted).add(_unquote(bits[4]))
            continue
        cols = text.split("\t", 2)
        if len(cols) == 3:
            added, removed, path = cols
            plus = int(added) if added.isdigit() else None
            minus = int(removed) if removed.isdigit() else None
            files.append(FileChange(_unquote(path), plus, minus))
    return current


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


def _is_shallow(root: Path) -> bool:
    """A shallow clone: git keeps its boundary commits in `.git/shallow` (asked of git for a linked worktree)."""
    dot = root / ".git"
    if dot.is_dir():
        return (dot / "shallow").is_file()
    return gitcmd.run(root, ["rev-parse", "--is-shallow-repository"], timeout=10, check=False).strip() == b"true"


def load(root: Path, deadline: float | None = None, collector: history_patches.Collector | None = None) -> History:
    """Read the whole history of a git repository, bounded in commits, bytes and time.

    With a `collector`, the same `git log` also carries every commit's patch (`-p`), handed to it, so the
    secret history scan does not diff the whole history a second time (past the scan's own limits the
    patches are only skipped). When git could not count a blob's lines (one too large to diff) or failed,
    the history is read again without patches, as before; a pass cut short leaves the scan to its own.
    """
    head = gitcmd.head(root)
    if head is None:
        return History(root, None, [], {}, {})
    shallow = _is_shallow(root)
    mailmap = (root / ".mailmap").is_file()
    timeout = LOG_TIMEOUT_S if deadline is None else max(1.0, min(LOG_TIMEOUT_S, deadline - time.monotonic()))
    started = time.monotonic()
    if collector is not None:
        shared = _log(root, mailmap, timeout, collector)
        if shared is not None:
            return History(root, head, *shared, shallow=shallow)
        timeout = max(1.0, timeout - (time.monotonic() - started))
    plain = _log(root, mailmap, timeout, None)
    assert plain is not None
    return History(root, head, *plain, shallow=shallow)


def _log(
    root: Path, mailmap: bool, timeout: float, collector: history_patches.Collector | None
) -> tuple[list[Commit], dict[str, str], dict[str, str], str] | None:
    """(commits, refs, remotes, why truncated); None when the pass with patches must give way to a plain one."""
    refs, remotes = _refs(root), _remotes(root)
    patch_config, patch_args = (
        (collector.git_config(), history_patches.SHARED_ARGS) if collector is not None else ([], [])
    )
    args = [
        *gitcmd.argv(root, [*patch_config, "log"]),
        "--exclude=refs/notes/*", "--exclude=refs/stash", "--exclude=refs/replace/*", "--all", "HEAD",
        "--no-color", "--no-renames", "--no-ext-diff", "--no-textconv", *patch_args,
        f"--max-count={MAX_COMMITS}", f"--format={_MAILMAP_FORMAT if mailmap else _FORMAT}", "--numstat", "--summary",
    ]  # fmt: skip
    commits: list[Commit] = []
    truncated = ""
    read = 0
    started = time.monotonic()
    proc = sandbox.popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=gitcmd.git_env())
    assert proc.stdout is not None

    def blocks() -> Iterator[bytes]:
        # Bounded blocks of the output; b"" at its end. The history's own bytes are counted by the reader.
        nonlocal truncated
        while True:
            if read > MAX_LOG_BYTES:
                truncated = f"history longer than {MAX_LOG_BYTES // 1_000_000} MB of log output"
                return
            if time.monotonic() - started > timeout:
                truncated = f"reading the history took longer than {timeout:g} s"
                return
            block = proc.stdout.read1(LOG_BLOCK)  # type: ignore[union-attr]
            yield block
            if not block:
                return

    def lines() -> Iterator[str]:
        # Read and decoded a block at a time (per line, the checks cost more than the parsing);
        # a block is cut after its last newline, so no line or character is split.
        nonlocal read
        rest = b""
        for block in blocks():
            read += len(block)
            if not block:
                if rest:
                    yield rest.decode("utf-8", "replace")
                return
            cut = block.rfind(b"\n") + 1
            if not cut:
                rest += block
                continue
            yield from (rest + block[:cut]).decode("utf-8", "replace").split("\n")[:-1]
            rest = block[cut:]

    try:
        if collector is None:
            commits.extend(parse_log(lines(), mailmap))
        else:  # split_commits hands over one commit's own lines at a time: parsed whole, not as a line stream
            for part in history_patches.split_commits(blocks(), collector):
                read += len(part)
                if (commit := parse_commit(part.decode("utf-8", "replace").split("\n"), mailmap)) is not None:
                    commits.append(commit)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    if sandbox.stopped():  # git was killed at a check's deadline: a partial history must not be memoised
        raise DeadlineExceeded("git log was stopped at the check's deadline")
    if collector is not None and (truncated or proc.returncode not in (0, -9)):
        collector.give_up()  # the scan makes its own pass, with its own time
        if not truncated:
            return None  # git failed: the plain pass says why
    if not truncated and proc.returncode not in (0, -9) and not commits:
        raise HistoryError(f"git log failed with exit code {proc.returncode}")
    if not truncated and len(commits) >= MAX_COMMITS:
        truncated = f"more than {MAX_COMMITS} commits: only the newest were read"
    if collector is not None and collector.usable and collector.scan.unread(root):
        return None  # git counted no lines of a blob too large to diff: read the history plainly
    return commits, refs, remotes, truncated


def get(ctx: Context) -> History:
    """The run's shared history; raises HistoryError when the folder is not a git repository."""

    def factory() -> History:
        top = gitcmd.toplevel(ctx.repo)
        if top is None or top.resolve() != ctx.repo.resolve():
            raise HistoryError("not a git repository: there is no history to read")
        if not PATCH_READERS & ctx.shared.selected:
            return load(ctx.repo, ctx.deadline)
        collector = history_patches.Collector(secret_scan.prefilter_bytes)
        history = load(ctx.repo, ctx.deadline, collector)
        history.patches = collector
        return history

    return ctx.memo("git_history", factory)


# -- helpers shared by the history checks ------------------------------------------


def commit_evidence(c: Commit, summary: str | None = None, **data: object) -> Evidence:
    return Evidence(
        kind="commit",
        summary=summary or f"{c.short} {c.subject}",
        commit=c.sha,
        timestamp=c.committed.isoformat(),
        data={"author": c.display_name or c.author_name, **data} if data or c.author_name else {},
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
    if history.shallow:
        return None, (
            f"{SHALLOW}: only {len(history.commits)} commit(s) of the history were fetched, "
            "so nothing can be said about the history"
        )
    return history, ""


SHALLOW = "shallow clone"
SHALLOW_REMEDIATION = (
    "Verify a full clone: run `git fetch --unshallow` first, or set `fetch-depth: 0` on actions/checkout "
    "(CI checkouts fetch one commit by default)."
)


def remediation_for(why: str) -> str | None:
    """The advice for a could-not-check from `history_or_reason`, when it is not the check's own."""
    return SHALLOW_REMEDIATION if why.startswith(SHALLOW) else None
