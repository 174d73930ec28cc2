"""A small task tracker: an HTML page and a JSON API, with health, readiness, version and metrics endpoints."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from taskapp.observability import Metrics, request_id
from taskapp.settings import Settings
from taskapp.store import TaskStore

log = logging.getLogger("taskapp")


def create_app(store: TaskStore | None = None, settings: Settings | None = None) -> Flask:
    """The WSGI app. Tests pass a MemoryStore; production builds a PostgresStore and migrates it."""
    settings = settings or Settings.from_env()
    if store is None:
        from taskapp.pgstore import PostgresStore

        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set")
        pg = PostgresStore(settings.database_url, settings.db_pool_size)
        applied = pg.migrate()
        log.info("migrations applied: %s", ", ".join(applied) or "none pending")
        store = pg

    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.config["STORE"] = store
    app.config["METRICS"] = metrics = Metrics(settings.commit, settings.instance_id)

    @app.before_request
    def start() -> None:
        g.request_id = request_id(request.headers.get("X-Request-Id"))
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        # The route template, not the path, keeps label cardinality bounded.
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(request.method, route).observe(elapsed)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers["X-Instance-Id"] = settings.instance_id
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
        if route not in ("/healthz", "/metrics"):
            log.info(
                "request",
                extra={
                    "request_id": g.get("request_id"),
                    "method": request.method,
                    "route": route,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                    "instance_id": settings.instance_id,
                },
            )
        return response

    from taskapp.web import bp

    app.register_blueprint(bp)
    return app
