"""The app's log handler: request lines reach stdout in batches (one write for many), warnings at once."""

from __future__ import annotations

import logging
import os
import select
import time

from taskapp.observability import BatchingHandler, JsonFormatter


def readable(fd: int, timeout_s: float) -> bytes:
    ready, _, _ = select.select([fd], [], [], timeout_s)
    return os.read(fd, 1 << 20) if ready else b""


def test_info_lines_are_written_together_after_the_interval_and_warnings_at_once() -> None:
    read_fd, write_fd = os.pipe()
    stream = open(write_fd, "w", encoding="utf-8", buffering=1 << 16)  # noqa: SIM115 - closed below
    handler = BatchingHandler(interval_s=0.2, stream=stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("taskapp.test-batching")
    log.propagate, log.handlers[:] = False, [handler]
    log.setLevel(logging.INFO)
    try:
        started = time.monotonic()
        for i in range(50):
            log.info("request", extra={"request_id": f"r-{i}"})
        assert readable(read_fd, 0.05) == b""  # nothing written per line
        batch = readable(read_fd, 5)
        assert time.monotonic() - started >= 0.15
        assert batch.count(b"\n") == 50 and b'"request_id":"r-49"' in batch  # all of them in one write
        log.warning("readiness: database unavailable")
        assert b"database unavailable" in readable(read_fd, 0.05)
    finally:
        log.handlers[:] = []
        stream.close()
        os.close(read_fd)
