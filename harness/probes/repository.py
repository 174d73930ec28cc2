"""The repository probe: the files at the commit under test, with bounded reads.

For a git repository the tree is HEAD's (`git ls-tree`), and contents come from
the object store (`git cat-file --batch`), so uncommitted edits never count.
A folder that is not a git repository is walked on disk instead (no symlinks
followed), and history-based checks report that they could not check.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness import fsutil, sandbox
from harness.context import Context
from harness.probes import gitcmd

TEXT_SNIFF = 8000
PREFETCH_BATCH = 2000  # blobs per `git cat-file --batch` call...
PREFETCH_BATCH_BYTES = 8_000_000  # ...and about this many bytes, so the output held at once stays small
PREFETCH_TIMEOUT_S = 60.0
SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache", ".pytest_cache"}
# Folders of code the candidate did not write: installed packages, downloaded providers, build output and
# tool state (a committed Jenkins home). Content checks looking for the project's own work skip them;
# a committed secret there is still committed, so the secret scan does not.
VENDORED_DIRS = frozenset(
    {
        "node_modules", "bower_components", "vendor", "third_party", "dist", "build", ".venv", "venv",
        "site-packages", "__pycache__", ".tox", ".terraform", ".aws-sam", "jenkins_home",
    }
)  # fmt: skip
# Generated bundles by their name: minified files, and the content-hashed assets bundlers write (Vite's
# index-a3308394.js, webpack's main.3f2a1b9c.js), wherever the build output was committed.
BUILT_FILE = re.compile(r"\.min\.(?:js|css)$|[.-][0-9a-f]{8,}\.(?:js|css|mjs)$|\.(?:js|css)\.map$")
VENV_MARKER = "pyvenv.cfg"  # a virtualenv under any name (env/, myenv/) holds one at its root


def stream_blobs(root: Path, oids: list[str]) -> Generator[tuple[str, bytes | None], None, None]:
    """(blob id, bytes or None if not a blob) in order, as one `git cat-file --batch` writes them; it stops
    early if git does (the caller reads what is left another way).

    The ids come from a temporary file, so git never waits for the reader to take its input.
    """
    if not oids:
        return
    with tempfile.TemporaryFile() as ids:
        ids.write("".join(f"{oid}\n" for oid in oids).encode())
        ids.seek(0)
        try:
            proc = sandbox.popen(
                gitcmd.argv(root, ["cat-file", "--batch"]),
                stdin=ids,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=gitcmd.git_env(),
            )
        except OSError:
            return
    assert proc.stdout is not None
    try:
        for oid in oids:
            header = proc.stdout.readline().split()  # "<oid> <type> <size>", or "<oid> missing"
            if header[-1:] == [b"missing"]:
                yield oid, None
                continue
            if len(header) < 3 or header[0] != oid.encode() or not header[2].isdigit():
                return
            size = int(header[2])
            data = proc.stdout.read(size)
            proc.stdout.read(1)  # the newline after the content
            if len(data) != size:
                return
            yield oid, data if header[1] == b"blob" else None
    finally:
        sandbox.kill(proc)


@dataclass(frozen=True, slots=True)
class RepoFile:
    path: str  # POSIX path relative to the repository root
    size: int
    mode: str = "100644"  # git mode: 100644/100755 file, 120000 symlink, 160000 submodule
    oid: str = ""  # blob id (git) or "" (plain folder)
    # String operations, not PurePosixPath, worked out once per file: checks ask these of every file, 500k times a
    # run. Slots: with them a file takes less memory than without (a 27,900-file tree holds one per file).
    name: str = field(init=False, repr=False, compare=False)
    suffix: str = field(init=False, repr=False, compare=False)  # lower-cased, with PurePath.suffix's rules

    def __post_init__(self) -> None:
        name = self.path.rpartition("/")[2]
        dot = name.rfind(".")  # no suffix for ".gitignore" or "name."
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "suffix", sys.intern(name[dot:].lower()) if 0 < dot < len(name) - 1 else "")

    @property
    def folders(self) -> tuple[str, ...]:
        """The folders holding the file, outermost first: PurePosixPath(path).parts[:-1] for a normalised path."""
        return tuple(self.path.split("/")[:-1])

    @property
    def parent(self) -> str:
        """str(PurePosixPath(path).parent): "." at the top."""
        return self.path.rpartition("/")[0] or "."

    @property
    def is_regular(self) -> bool:
        return self.mode in ("100644", "100755", "100664")


class RepositoryError(Exception):
    """The repository cannot be read at all (reported as could-not-check)."""


@dataclass
class RepoSnapshot:
    root: Path
    is_git: bool
    head: str | None
    files: list[RepoFile]
    max_file_bytes: int
    problems: list[str] = field(default_factory=list)  # files that could not be listed or read
    truncated: bool = False  # more files than max_files
    _by_path: dict[str, RepoFile] = field(default_factory=dict, repr=False)
    _cache: dict[str, bytes | None] = field(default_factory=dict, repr=False)
    _cache_bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _batch: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _prefetched: bool = field(default=False, repr=False)
    _venvs: tuple[str, ...] = field(default=(), repr=False)

    CACHE_BUDGET = 64_000_000

    def __post_init__(self) -> None:
        self._by_path = {f.path: f for f in self.files}
        self._venvs = tuple(f.path[: -len(VENV_MARKER)] for f in self.files if f.name == VENV_MARKER and "/" in f.path)

    def vendored(self, path: str) -> bool:
        """Whether the file lies in a folder of third-party or generated code (see VENDORED_DIRS)."""
        return is_vendored(path) or path.startswith(self._venvs)

    @property
    def own_files(self) -> list[RepoFile]:
        """The files outside vendored folders: the candidate's own code and configuration."""
        return [f for f in self.files if not self.vendored(f.path)]

    # -- queries -----------------------------------------------------------
    def get(self, path: str) -> RepoFile | None:
        return self._by_path.get(path)

    def exists(self, path: str) -> bool:
        return path in self._by_path

    def glob(self, *patterns: str) -> list[RepoFile]:
        """Files whose path or name matches any fnmatch pattern ("*.py", "docs/*.md")."""
        out = []
        for f in self.files:
            for pat in patterns:
                target = f.path if "/" in pat else f.name
                if fnmatch.fnmatchcase(target, pat) or fnmatch.fnmatchcase(target.lower(), pat.lower()):
                    out.append(f)
                    break
        return out

    def where(self, predicate: Callable[[RepoFile], bool]) -> list[RepoFile]:
        return [f for f in self.files if predicate(f)]

    # -- reads -------------------------------------------------------------
    def read_bytes(self, path: str, limit: int | None = None) -> bytes | None:
        """The file's bytes, or None when it is absent, too large, not a file or unreadable."""
        entry = self._by_path.get(path)
        limit = limit or self.max_file_bytes
        if entry is None or not entry.is_regular or entry.size > limit:
            return None
        if self.is_git and not self._prefetched:
            # Nearly every file is read by some check (the secret scan reads them all): one batch, not thousands.
            self._prefetched = True
            self._prefetch()
        with self._lock:
            if path in self._cache:
                return self._cache[path]
            data = self._read_git(entry) if self.is_git else self._read_disk(entry, limit)
            if data is not None and self._cache_bytes + len(data) <= self.CACHE_BUDGET:
                self._cache[path] = data
                self._cache_bytes += len(data)
            return data

    def read_text(self, path: str, limit: int | None = None) -> str | None:
        """Decoded text, or None for binary, absent, too large or unreadable files."""
        data = self.read_bytes(path, limit)
        if data is None or b"\x00" in data[:TEXT_SNIFF]:
            return None
        return data.decode("utf-8", "replace")

    def texts(self, files: list[RepoFile]) -> Iterator[tuple[RepoFile, str]]:
        """(file, decoded text) of the files that are text, read as `blobs` reads them."""
        for f, data in self.blobs(files):
            if data is not None and b"\x00" not in data[:TEXT_SNIFF]:
                yield f, data.decode("utf-8", "replace")

    def blobs(self, files: list[RepoFile], limit: int | None = None) -> Iterator[tuple[RepoFile, bytes | None]]:
        """(file, read_bytes(file)) for each file, but what the cache lacks is streamed from one `git cat-file`.

        A tree larger than the cache (a committed virtualenv) would otherwise cost one round trip per file;
        streamed, git inflates the next blobs while the caller scans this one, and memory holds one blob
        (plus any not yet handed over whose bytes another path shares).
        """
        limit = limit or self.max_file_bytes
        if not self.is_git:
            for f in files:
                yield f, self.read_bytes(f.path, limit)
            return
        if not self._prefetched:
            self._prefetched = True
            self._prefetch()
        streamed = [self._fetchable(f, limit) for f in files]
        uses: dict[str, int] = {}  # blob id -> how many of the streamed files hold it
        for f, s in zip(files, streamed, strict=True):
            if s:
                uses[f.oid] = uses.get(f.oid, 0) + 1
        stream = self._stream(list(uses))
        held: dict[str, bytes | None] = {}
        try:
            for f, s in zip(files, streamed, strict=True):
                while s and f.oid not in held:
                    got = next(stream, None)
                    if got is None:
                        break  # git stopped: what is left is read one file at a time (which reports problems)
                    held[got[0]] = got[1]
                if s and f.oid in held:
                    uses[f.oid] -= 1
                    yield f, held[f.oid] if uses[f.oid] else held.pop(f.oid)
                else:
                    yield f, self.read_bytes(f.path, limit)
        finally:
            stream.close()

    def _fetchable(self, f: RepoFile, limit: int) -> bool:
        return bool(f.oid) and f.is_regular and f.size <= limit and f.path not in self._cache

    def _stream(self, oids: list[str]) -> Generator[tuple[str, bytes | None], None, None]:
        return stream_blobs(self.root, oids)

    def _prefetch(self) -> None:
        """Read the tree's blobs with a few `git cat-file --batch` calls instead of one round trip per file.

        Fills the cache up to its budget; anything not fetched here is read on demand as before.
        """
        with self._lock:
            room = self.CACHE_BUDGET - self._cache_bytes
            wanted: dict[str, tuple[int, list[str]]] = {}  # oid -> (size, paths with that content)
            for f in self.files:
                if f.path in self._cache or not f.oid or not f.is_regular or f.size > self.max_file_bytes:
                    continue
                if f.oid not in wanted:
                    if f.size > room:
                        continue
                    room -= f.size
                    wanted[f.oid] = (f.size, [])
                wanted[f.oid][1].append(f.path)
            batch: list[str] = []
            batch_bytes = 0
            for oid, (size, _paths) in wanted.items():
                batch.append(oid)
                batch_bytes += size
                if len(batch) >= PREFETCH_BATCH or batch_bytes >= PREFETCH_BATCH_BYTES:
                    if not self._fetch(batch, wanted, self._cache):
                        return  # on any trouble the per-file path reads (and reports) what is left
                    batch, batch_bytes = [], 0
            if batch:
                self._fetch(batch, wanted, self._cache)

    def _fetch(self, oids: list[str], wanted: dict[str, tuple[int, list[str]]], into: dict[str, bytes | None]) -> bool:
        """Read blobs `oids` into `into` (path -> bytes; the cache itself when prefetching)."""
        try:
            proc = sandbox.run(
                gitcmd.argv(self.root, ["cat-file", "--batch"]),
                input="".join(f"{oid}\n" for oid in oids).encode(),
                timeout=PREFETCH_TIMEOUT_S,
                env=gitcmd.git_env(),
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        out, pos = proc.stdout, 0
        for oid in oids:
            end = out.find(b"\n", pos)
            if end < 0:
                return False
            header = out[pos:end].split()  # "<oid> <type> <size>", or "<oid> missing" with nothing after it
            pos = end + 1
            if header[-1:] == [b"missing"]:
                continue
            if len(header) < 3 or header[0] != oid.encode() or not header[2].isdigit():
                return False
            size = int(header[2])
            data = out[pos : pos + size]
            pos += size + 1  # the content, then a newline
            if header[1] != b"blob" or len(data) != size:
                continue
            for path in wanted[oid][1]:
                into[path] = data
            if into is self._cache:
                self._cache_bytes += size
        return True

    def _read_disk(self, entry: RepoFile, limit: int) -> bytes | None:
        try:
            return fsutil.read_bounded(self.root / entry.path, limit)
        except OSError as exc:
            self.problems.append(f"{entry.path}: {exc.strerror or exc}")
            return None

    def _read_git(self, entry: RepoFile) -> bytes | None:
        try:
            if self._batch is None or self._batch.poll() is not None:
                self._batch = subprocess.Popen(
                    gitcmd.argv(self.root, ["cat-file", "--batch"]),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=gitcmd.git_env(),
                )
            assert self._batch.stdin and self._batch.stdout
            self._batch.stdin.write(entry.oid.encode() + b"\n")
            self._batch.stdin.flush()
            header = self._batch.stdout.readline().split()
            if len(header) < 3 or header[1] != b"blob":
                return None
            size = int(header[2])
            data = self._batch.stdout.read(size)
            self._batch.stdout.read(1)  # trailing newline
            return data
        except (OSError, ValueError) as exc:
            self.problems.append(f"{entry.path}: cannot read from git: {exc}")
            self.close()
            return None

    def close(self) -> None:
        if self._batch is not None:
            try:
                self._batch.kill()
                self._batch.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._batch = None


def _list_git(root: Path, max_files: int) -> tuple[list[RepoFile], bool]:
    raw = gitcmd.run(root, ["ls-tree", "-r", "-l", "-z", "--full-tree", "HEAD"], timeout=60)
    files: list[RepoFile] = []
    for record in raw.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        parts = meta.split()
        if len(parts) < 4:
            continue
        mode, _type, oid, size = parts[0].decode(), parts[1], parts[2].decode(), parts[3]
        files.append(
            RepoFile(
                path=path.decode("utf-8", "replace"),
                size=int(size) if size.isdigit() else 0,
                mode=mode,
                oid=oid,
            )
        )
        if len(files) >= max_files:
            return files, True
    return files, False


def _list_disk(root: Path, max_files: int, problems: list[str]) -> tuple[list[RepoFile], bool]:
    files: list[RepoFile] = []

    def on_error(exc: OSError) -> None:
        problems.append(f"{exc.filename}: {exc.strerror}")

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            try:
                st = full.lstat()
            except OSError as exc:
                problems.append(f"{rel}: {exc.strerror}")
                continue
            if not stat.S_ISREG(st.st_mode) and not stat.S_ISLNK(st.st_mode):
                problems.append(f"{rel}: not a regular file (FIFO, socket or device): not read")
                continue
            mode = "120000" if stat.S_ISLNK(st.st_mode) else ("100755" if st.st_mode & 0o111 else "100644")
            files.append(RepoFile(path=rel, size=st.st_size, mode=mode))
            if len(files) >= max_files:
                return files, True
    return files, False


@functools.lru_cache(maxsize=65536)  # asked of every file by many checks
def is_vendored(path: str) -> bool:
    """Whether a folder on the path is one of VENDORED_DIRS or the file a generated bundle (RepoSnapshot.vendored
    also knows virtualenvs)."""
    return any(part in VENDORED_DIRS for part in path.split("/")[:-1]) or bool(BUILT_FILE.search(path))


def snapshot(root: Path, max_file_bytes: int = 2_000_000, max_files: int = 50_000) -> RepoSnapshot:
    if not root.is_dir():
        raise RepositoryError(f"not a folder: {root}")
    top = gitcmd.toplevel(root)
    if top is not None and top.resolve() == root.resolve():
        head = gitcmd.head(root)
        if head is None:
            return RepoSnapshot(root, True, None, [], max_file_bytes)
        try:
            files, truncated = _list_git(root, max_files)
        except gitcmd.GitError as exc:
            raise RepositoryError(str(exc)) from None
        return RepoSnapshot(root, True, head, files, max_file_bytes, truncated=truncated)
    problems: list[str] = []
    files, truncated = _list_disk(root, max_files, problems)
    return RepoSnapshot(root, False, None, files, max_file_bytes, problems=problems, truncated=truncated)


def get(ctx: Context) -> RepoSnapshot:
    """The run's shared snapshot of the project under test."""
    cfg = ctx.config.repository
    return ctx.memo("repository", lambda: snapshot(ctx.repo, cfg.max_file_bytes, cfg.max_files))
