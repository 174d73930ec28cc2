"""The HEAD secret scan spread over worker processes, results in the order the texts were given.

A committed virtualenv or Jenkins home is hundreds of megabytes of text; scanned in the verifying
process it costs seconds of one thread that every other check's thread waits on (the GIL). The
workers run harness's own scanner only (no project code): they receive (path, bytes, formats)
and return the hits. Small trees are scanned in process: starting workers would cost more.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from harness import redact
from harness.probes.secret_scan import Hit, scan_text

Item = tuple[str, bytes, bool]  # path, content, token formats only
POOL_MIN_BYTES = 24_000_000  # below this much text the scan stays in process
BATCH_BYTES = 2_000_000  # texts per task: large enough to amortise pickling, small enough to stop on time
MAX_WORKERS = 4


def scan_batch(batch: list[Item]) -> list[list[Hit]]:
    """Each text's hits (the worker's task; also the in-process path)."""
    return [scan_text(path, data.decode("utf-8", "replace"), formats) for path, data, formats in batch]


def _batches(items: Iterable[Item]) -> Iterator[list[Item]]:
    batch: list[Item] = []
    size = 0
    for item in items:
        batch.append(item)
        size += len(item[1])
        if size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def scan_all(items: Iterable[Item], total_bytes: int, check: Callable[[], None]) -> Iterator[list[Hit]]:
    """Each item's hits, in order. `check` is called between batches (it raises when time is up)."""
    workers = min(MAX_WORKERS, os.cpu_count() or 1)
    if total_bytes < POOL_MIN_BYTES or workers < 2:
        for batch in _batches(items):
            check()
            yield from scan_batch(batch)
        return
    # spawn, not fork: the verifying process runs threads, and a forked child could inherit a held lock
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    pending: deque[tuple[list[Item], Future[list[list[Hit]]]]] = deque()
    try:
        for batch in _batches(items):
            check()
            pending.append((batch, _submit(pool, batch)))
            if len(pending) > 2 * workers:  # bounded: memory holds a few batches, not the tree
                yield from _result(*pending.popleft(), check)
        while pending:
            yield from _result(*pending.popleft(), check)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _submit(pool: ProcessPoolExecutor, batch: list[Item]) -> Future[list[list[Hit]]]:
    try:
        return pool.submit(scan_batch, batch)
    except (BrokenProcessPool, RuntimeError, OSError):  # no worker can start or one died: scanned here
        done: Future[list[list[Hit]]] = Future()
        done.set_result(scan_batch(batch))
        return done


def _result(batch: list[Item], future: Future[list[list[Hit]]], check: Callable[[], None]) -> list[list[Hit]]:
    while True:
        check()
        try:
            hits = future.result(timeout=0.5)
            break
        except TimeoutError:
            continue
        except (BrokenProcessPool, OSError):
            return scan_batch(batch)  # a worker died (memory, a signal): this batch is scanned here
    for found in hits:
        for h in found:
            if h.severity == "fail":
                redact.register(h.value)  # the worker registered it in its own process only
    return hits
