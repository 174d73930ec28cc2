"""A small task tracker: an HTML page and a JSON API, with health, readiness, version and metrics endpoints."""

from __future__ import annotations

import functools
import logging

from flask import Flask, g, request

from taskapp.edge import REQUEST_ID_KEY, ROUTE_KEY, Edge
from taskapp.observability import Metrics
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
    def matched() -> None:
        # The route template, not the path, keeps label cardinality bounded.
        environ = request.environ
        environ[ROUTE_KEY] = request.url_rule.rule if request.url_rule else "unmatched"
        g.request_id = environ.get(REQUEST_ID_KEY)

    from taskapp.web import bp, task_page_bytes

    app.register_blueprint(bp)
    reads = {"/api/tasks": functools.partial(task_page_bytes, due_dates=settings.feature_due_dates, tasks=store)}
    app.wsgi_app = Edge(app.wsgi_app, metrics, settings.instance_id, reads)  # type: ignore[method-assign]
    return app
