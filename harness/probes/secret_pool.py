"""The HEAD secret scan: every file read and classified, spread over worker processes on a large tree.

A committed virtualenv or Jenkins home is hundreds of megabytes. Read in the verifying process, each
of its tens of thousands of pipe reads gives up the GIL, and with the other checks' threads busy it
waits its turn to get it back (a stream that takes 2 s alone took minutes beside three busy threads);
scanned there, it costs seconds of the one thread every other check waits on. So on a large tree each
worker reads its share of the blobs from its own `git cat-file` and scans them; the verifying process
sends blob ids and receives findings. The workers run harness's own code only (git and the scanner,
never project code). Small trees are read and scanned in process: starting workers would cost more.
Results come back in the order of the files given, whichever way they were read.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from harness import redact
from harness.probes import repository
from harness.probes.secret_scan import Hit, scan_text

Result = list[Hit] | str  # the text's hits, or BINARY or UNREADABLE
BINARY, UNREADABLE = "binary", "unreadable"
_AGAIN = "again"  # the worker's git stopped before this blob: the verifying process reads it
Ref = tuple[str, str, bool]  # path, blob id, token formats only
File = tuple[repository.RepoFile, bool]  # a file, and whether token formats only count in it
POOL_MIN_BYTES = 24_000_000  # below this much content the scan stays in process
BATCH_BYTES = 4_000_000  # content per task: one `git cat-file` each, small enough to stop on time
MAX_WORKERS = 4


def classify(path: str, data: bytes | None, formats: bool) -> Result:
    """A file's hits, or why it holds no text to scan."""
    if data is None:
        return UNREADABLE
    if b"\x00" in data[: repository.TEXT_SNIFF]:
        return BINARY
    return scan_text(path, data.decode("utf-8", "replace"), formats)


def scan_refs(root: str, refs: list[Ref]) -> list[Result]:
    """The worker's task: read these blobs from one `git cat-file` and classify each."""
    stream = repository.stream_blobs(Path(root), list(dict.fromkeys(oid for _, oid, _ in refs if oid)))
    held: dict[str, bytes | None] = {}  # a batch's blobs (a few MB), kept for files sharing one
    out: list[Result] = []
    try:
        for path, oid, formats in refs:
            while oid and oid not in held:
                got = next(stream, None)
                if got is None:
                    break
                held[got[0]] = got[1]
            out.append(classify(path, held[oid], formats) if oid in held else _AGAIN)
    finally:
        stream.close()
    return out


def scan_files(
    repo: repository.RepoSnapshot, files: Iterable[File], total: int, limit: int, check: Callable[[], None]
) -> Iterator[tuple[repository.RepoFile, bool, Result]]:
    """(file, token formats only, result) for each of `files` (about `total` bytes), in order. `check` is
    called between batches (it raises when time is up)."""
    workers = min(MAX_WORKERS, os.cpu_count() or 1)
    if not repo.is_git or total < POOL_MIN_BYTES or workers < 2:
        listed = list(files)
        for n, (f, data) in enumerate(repo.blobs([f for f, _ in listed], limit)):
            if n % 500 == 0:
                check()
            yield f, listed[n][1], classify(f.path, data, listed[n][1])
        return
    # spawn, not fork: the verifying process runs threads, and a forked child could inherit a held lock
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    pending: deque[tuple[list[File], Future[list[Result]]]] = deque()
    try:
        for batch in _batches(files):
            check()
            pending.append((batch, _submit(pool, str(repo.root), batch)))
            if len(pending) > 2 * workers:  # bounded: a few batches in flight, not the tree
                yield from _results(repo, limit, *pending.popleft(), check)
        while pending:
            yield from _results(repo, limit, *pending.popleft(), check)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _batches(files: Iterable[File]) -> Iterator[list[File]]:
    batch: list[File] = []
    size = 0
    for item in files:
        batch.append(item)
        size += item[0].size
        if size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _submit(pool: ProcessPoolExecutor, root: str, batch: list[File]) -> Future[list[Result]]:
    refs = [(f.path, f.oid, formats) for f, formats in batch]
    try:
        return pool.submit(scan_refs, root, refs)
    except (BrokenProcessPool, RuntimeError, OSError):  # no worker can start or one died: read here
        done: Future[list[Result]] = Future()
        done.set_result([_AGAIN] * len(refs))
        return done


def _results(
    repo: repository.RepoSnapshot,
    limit: int,
    batch: list[File],
    future: Future[list[Result]],
    check: Callable[[], None],
) -> Iterator[tuple[repository.RepoFile, bool, Result]]:
    while True:
        check()
        try:
            results = future.result(timeout=0.5)
            break
        except TimeoutError:
            continue
        except (BrokenProcessPool, OSError):  # a worker died (memory, a signal): this batch is read here
            results = [_AGAIN] * len(batch)
            break
    for (f, formats), result in zip(batch, results, strict=True):
        if result == _AGAIN:  # read as the in-process scan reads it, which records why it could not
            yield f, formats, classify(f.path, repo.read_bytes(f.path, limit), formats)
            continue
        for h in result if isinstance(result, list) else ():
            if h.severity == "fail":
                redact.register(h.value)  # the worker registered it in its own process only
        yield f, formats, result
