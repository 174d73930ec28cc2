"""The app server: `python server.py` runs the Flask app (taskapp.wsgi:app) under Granian over WSGI.

Granian parses HTTP and manages connections in Rust, so Python runs only the app. Under 50 keep-alive clients
gunicorn's gthread worker (its HTTP parser, selector loop and thread pool are Python) cost about 0.4 ms of CPU per
request before the app ran, as much as the whole /healthz answer costs now (bench/bench_taskapi.py).

One process with threads: the Prometheus client's counters and process metrics stay exact without multiprocess
mode, and the instance count (not the worker count) is what scales the service."""

from __future__ import annotations

import os

from granian import Granian
from granian.constants import Interfaces

# Overridable for running outside the container (tests, benches); the image uses the defaults.
host = os.environ.get("LISTEN_HOST", "0.0.0.0")  # nosec B104 - the container's own interface; only Caddy reaches it
port = int(os.environ.get("LISTEN_PORT", "8000"))
workers = 1
# Threads running the app: enough to overlap the database round trips of a page (the pool has 8 connections);
# more only add GIL hand-offs (8 cost 10-15 % more CPU per /api/tasks request than 4 under 50 clients).
threads = 4
graceful_timeout = 20  # in-flight requests finish on SIGTERM during a redeploy; then the worker is killed


def main() -> None:
    Granian(
        "taskapp.wsgi:app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        workers_kill_timeout=graceful_timeout,
        respawn_failed_workers=True,  # as gunicorn's arbiter did: a crashed worker is replaced, not the container
        log_access=False,  # the app logs each request as JSON, with its request id
    ).serve()


if __name__ == "__main__":
    main()
