"""The WSGI layer around Flask: each request's id, metrics, security headers and JSON log line; the liveness
answer; and the task list, the service's main read, served without Flask. Done here on the raw environ because
Flask's per-request work (its request, response and header objects, context-local proxies) cost more CPU than
the task page itself; liveness needs no framework at all."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client.metrics import Counter, Histogram

from taskapp.observability import Metrics, request_id

log = logging.getLogger("taskapp")
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Read = Callable[[dict[str, Any]], bytes]  # a GET answered with JSON, from the environ alone

# Set by the app (a before_request hook) once Flask has matched the URL; "unmatched" when it never does.
ROUTE_KEY = "taskapp.route"
REQUEST_ID_KEY = "taskapp.request_id"
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'"),
)
# Probed every second or few (Caddy checks /readyz on each instance each second): a line for each answer would
# drown the rest and cost the log pipe CPU at idle, so these are logged only when they do not succeed.
UNLOGGED = frozenset({"/healthz", "/readyz", "/metrics"})
HEALTHZ = b'{"status":"ok"}\n'


class Edge:
    """WSGI middleware: `app.wsgi_app = Edge(app.wsgi_app, ...)` keeps Flask's own test client going through it."""

    def __init__(
        self, app: WsgiApp, metrics: Metrics, instance_id: str, reads: Mapping[str, Read] | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.instance_id = instance_id
        # GETs by exact path (the route template too) served without Flask: its request and response objects
        # cost as much CPU as the task page itself. Anything unusual (a bad parameter, a failing store) goes
        # to Flask instead, which answers it with its own error handling.
        self.reads = reads or {}
        # labels() takes a lock and builds a key each call; the children never change once made.
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        rid = request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[REQUEST_ID_KEY] = rid
        ours = [("X-Request-Id", rid), ("X-Instance-Id", self.instance_id)]
        method = environ.get("REQUEST_METHOD", "GET")
        if environ.get("PATH_INFO") == "/healthz" and method in ("GET", "HEAD"):
            # Liveness: the process serves requests. Deliberately ignores dependencies, so a database outage
            # does not make the orchestrator restart healthy instances.
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(HEALTHZ)))]
            start_response("200 OK", headers + ours + list(SECURITY_HEADERS))
            self._observe(method, "/healthz", "200", started)
            return [HEALTHZ] if method == "GET" else []
        status = ["500"]

        def start(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = line[:3]
            present = {name.lower() for name, _ in headers}
            headers.extend(ours)
            headers.extend(h for h in SECURITY_HEADERS if h[0].lower() not in present)
            return start_response(line, headers, exc_info)

        try:
            read = self.reads.get(environ.get("PATH_INFO", "")) if method == "GET" else None
            body = self._read(read, environ) if read else None
            if body is not None:
                environ[ROUTE_KEY] = environ["PATH_INFO"]
                start("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
                return [body]
            return self.app(environ, start)
        finally:  # Flask builds these responses whole, so the app's return is when the answer is ready
            route = environ.get(ROUTE_KEY, "unmatched")
            elapsed = self._observe(method, route, status[0], started)
            if route not in UNLOGGED or status[0][0] != "2":
                log.info(
                    "request",
                    extra={
                        "request_id": rid,
                        "method": method,
                        "route": route,
                        "path": environ.get("PATH_INFO", ""),
                        "status": int(status[0]),
                        "duration_ms": round(elapsed * 1000, 2),
                        "instance_id": self.instance_id,
                    },
                )

    @staticmethod
    def _read(read: Read, environ: dict[str, Any]) -> bytes | None:
        try:
            return read(environ)
        except Exception:  # Flask runs the route again and answers the error its usual way
            return None

    def _observe(self, method: str, route: str, status: str, started: float) -> float:
        elapsed = time.perf_counter() - started
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            m = self.metrics
            children = self._children[key] = (
                m.requests.labels(method, route, status),
                m.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(elapsed)
        return elapsed
