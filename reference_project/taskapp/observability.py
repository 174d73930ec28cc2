"""Structured JSON logs with request ids, and the Prometheus metrics the service exposes."""

from __future__ import annotations

import json
import logging
import multiprocessing.util
import os
import re
import sys
import threading
import time
import uuid
from typing import Any, TextIO

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector, ProcessCollector

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Only plain fields a log reader needs: never headers, bodies or connection strings.
LOG_FIELDS = ("request_id", "method", "route", "path", "status", "duration_ms", "instance_id", "task_id", "error")


def request_id(incoming: str | None) -> str:
    """Honour a well-formed X-Request-Id from the caller (to follow one request across services), else make one."""
    if incoming and REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in LOG_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, separators=(",", ":"))


class BatchingHandler(logging.StreamHandler[TextIO]):
    """Log lines to stdout in batches, at most `interval_s` late; warnings and errors at once.

    Docker's log pipe costs a wake-up of its shim and of dockerd for each write: at 800 requests a second, a write
    per request line cost them about 0.1 ms of CPU a line, lines arriving together about a tenth of that. Lines
    still buffered are written at exit: logging.shutdown at interpreter exit, and multiprocessing's exit
    finalizers in a server worker process, which ends without the interpreter's atexit."""

    def __init__(self, interval_s: float = 0.1, stream: TextIO | None = None) -> None:
        if stream is None:
            stream = open(sys.stdout.fileno(), "w", encoding="utf-8", buffering=1 << 16, closefd=False)  # noqa: SIM115
        super().__init__(stream)
        self.interval_s = interval_s
        self._pending = threading.Event()
        self._flusher_pid = 0  # the process whose flusher thread runs: a forked child starts its own

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
            with self.lock:  # type: ignore[union-attr]
                self.stream.write(line)
            if record.levelno >= logging.WARNING:
                self.flush()
            elif not self._pending.is_set():  # set() takes a lock and notifies: once a batch, not once a line
                self._start_flusher()
                self._pending.set()
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if not self.stream.closed:  # at exit, a stream someone else closed has nothing left to write
                self.stream.flush()

    def _start_flusher(self) -> None:
        if self._flusher_pid == os.getpid():
            return
        self._flusher_pid = os.getpid()
        multiprocessing.util.Finalize(self, self.flush, exitpriority=0)
        threading.Thread(target=self._flush_pending, name="log-flush", daemon=True).start()

    def _flush_pending(self) -> None:
        while True:
            self._pending.wait()
            time.sleep(self.interval_s)
            self._pending.clear()  # before the flush: a line written after it sets it again
            self.flush()


def configure_logging(level: int = logging.INFO) -> None:
    # A record per request: skip what the JSON line never shows (the logging HOWTO's "Optimization" settings),
    # chiefly the caller's file and line, found by walking the stack each time.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = BatchingHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class Metrics:
    """One registry per app, so tests can build many apps without duplicate-metric errors."""

    def __init__(self, commit: str, instance_id: str) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # CPU seconds, resident memory, open fds
        PlatformCollector(registry=self.registry)
        self.requests = Counter(
            "http_requests",
            "HTTP requests by route and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to serve a request",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        # Business metrics: throughput of the thing users come for, not just of HTTP.
        self.tasks_created = Counter("tasks_created", "Tasks created", registry=self.registry)
        self.tasks_completed = Counter("tasks_completed", "Tasks marked complete", registry=self.registry)
        self.task_age_at_completion = Histogram(
            "task_age_at_completion_seconds",
            "Time from creating a task to completing it",
            buckets=(60, 600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400),
            registry=self.registry,
        )
        self.alerts_received = Counter("alerts_received", "Firing alerts turned into tasks", registry=self.registry)
        self.db_errors = Counter("db_errors", "Database operations that failed", registry=self.registry)
        info = Gauge(
            "app_build_info", "Build of the running instance", ["commit", "instance_id"], registry=self.registry
        )
        info.labels(commit=commit, instance_id=instance_id).set(1)
