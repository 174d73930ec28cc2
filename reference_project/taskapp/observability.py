"""Structured JSON logs with request ids, and the Prometheus metrics the service exposes."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

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


def configure_logging(level: int = logging.INFO) -> None:
    # A record per request: skip what the JSON line never shows (the logging HOWTO's "Optimization" settings),
    # chiefly the caller's file and line, found by walking the stack each time.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
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
