"""Routes: the HTML page, the JSON API, and the operational endpoints."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request, url_for
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from taskapp.observability import Metrics
from taskapp.settings import Settings
from taskapp.store import NotFound, PageQuery, Task, TaskStore

bp = Blueprint("tasks", __name__)
log = logging.getLogger("taskapp.web")
MAX_TITLE = 200
PAGE_DEFAULT = 50  # a bounded page: the list grows without bound, a response must not
PAGE_MAX = 200


class Invalid(ValueError):
    """A request the user can fix: answered with 400 and the reason."""


def store() -> TaskStore:
    return current_app.config["STORE"]  # type: ignore[no-any-return]


def settings() -> Settings:
    return current_app.config["SETTINGS"]  # type: ignore[no-any-return]


def metrics() -> Metrics:
    return current_app.config["METRICS"]  # type: ignore[no-any-return]


def parse_new_task(data: dict[str, Any], due_dates: bool) -> tuple[str, dt.date | None]:
    title = str(data.get("title") or "").strip()
    if not title:
        raise Invalid("title is required")
    if len(title) > MAX_TITLE:
        raise Invalid(f"title is longer than {MAX_TITLE} characters")
    due: dt.date | None = None
    raw_due = data.get("due_date")
    if due_dates and raw_due:
        try:
            due = dt.date.fromisoformat(str(raw_due))
        except ValueError:
            raise Invalid("due_date must be a date like 2030-01-31") from None
    return title, due


def create_task(data: dict[str, Any]) -> Task:
    title, due = parse_new_task(data, settings().feature_due_dates)
    task = store().create(title, due)
    metrics().tasks_created.inc()
    log.info("task created", extra={"request_id": g.get("request_id"), "task_id": task.id})
    return task


def complete_task(task_id: int) -> Task:
    before = store().get(task_id)
    task = store().complete(task_id)
    if not before.done:
        metrics().tasks_completed.inc()
        if task.completed_at:
            metrics().task_age_at_completion.observe((task.completed_at - task.created_at).total_seconds())
    return task


@bp.errorhandler(Invalid)
def invalid(exc: Invalid) -> tuple[Response, int]:
    return jsonify(error=str(exc)), 400


@bp.errorhandler(NotFound)
def not_found(_exc: NotFound) -> tuple[Response, int]:
    return jsonify(error="no such task"), 404


# --- the page -------------------------------------------------------------------------------------------------------


@bp.get("/")
def index() -> str:
    due_dates = settings().feature_due_dates
    return render_template(
        "index.html", tasks=store().list(), due_dates=due_dates, today=dt.date.today(), version=settings().commit[:12]
    )


@bp.post("/tasks")
def create_from_form() -> Any:
    create_task(request.form.to_dict())
    return redirect(url_for("tasks.index"), code=303)


@bp.post("/tasks/<int:task_id>/complete")
def complete_from_form(task_id: int) -> Any:
    complete_task(task_id)
    return redirect(url_for("tasks.index"), code=303)


# --- the JSON API ---------------------------------------------------------------------------------------------------


def whole_number_arg(args: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> int | None:
    raw = args.get(name)
    if raw is None:
        return default
    if not raw.isdecimal() or not low <= int(raw) <= high:
        raise Invalid(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def task_page(args: Mapping[str, str], url: str, due_dates: bool, tasks: TaskStore) -> str:
    """One page of tasks as JSON text, newest first; `next` is the URL of the following page, or null after the
    last. Framework-free, so taskapp.edge can serve the list (most of the service's traffic) without Flask."""
    limit = whole_number_arg(args, "limit", PAGE_DEFAULT, 1, PAGE_MAX) or PAGE_DEFAULT
    overdue = due_dates and args.get("overdue") == "true"
    query = PageQuery(
        limit=limit,
        before=whole_number_arg(args, "before", None, 1, 2**63 - 1),
        due_dates=due_dates,
        overdue_only=overdue,
        today=dt.date.today(),
    )
    page, cursor = tasks.page_json(query)
    next_url = None
    if cursor is not None:
        # Built by hand, not with url_for: its rule lookup and query encoding cost more than the rest of the
        # view, and every value here is a whole number or a fixed word.
        next_url = f"{url}?before={cursor}&limit={limit}" + ("&overdue=true" if overdue else "")
    # The store hands back the tasks as JSON text already; only the envelope is built here.
    return f'{{"tasks":{page},"next":{json.dumps(next_url)}}}'


def task_page_bytes(environ: dict[str, Any], due_dates: bool, tasks: TaskStore) -> bytes:
    """task_page from a raw WSGI environ, for taskapp.edge: the query string read as request.args reads it
    (the first of repeated names wins, blank values kept), the URL as request.script_root + request.path."""
    args: dict[str, str] = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        args.setdefault(name, value)
    url = environ.get("SCRIPT_NAME", "").rstrip("/") + environ.get("PATH_INFO", "")
    return task_page(args, url, due_dates, tasks).encode()


@bp.get("/api/tasks")
def api_list() -> Response:
    body = task_page(request.args, request.script_root + request.path, settings().feature_due_dates, store())
    return Response(body, mimetype="application/json")


@bp.post("/api/tasks")
def api_create() -> tuple[Response, int]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid('send a JSON object like {"title": "..."}')
    task = create_task(data)
    return jsonify(task.to_dict(settings().feature_due_dates)), 201


@bp.get("/api/tasks/<int:task_id>")
def api_get(task_id: int) -> Response:
    return jsonify(store().get(task_id).to_dict(settings().feature_due_dates))


@bp.post("/api/tasks/<int:task_id>/complete")
def api_complete(task_id: int) -> Response:
    return jsonify(complete_task(task_id).to_dict(settings().feature_due_dates))


# --- alerts ---------------------------------------------------------------------------------------------------------


@bp.post("/internal/alerts")
def alert_webhook() -> tuple[Response, int]:
    """Alertmanager's webhook: each firing alert becomes a task, so alerts land in the team's work queue.
    Reachable only on the internal network (Caddy answers 404 for /internal/ from outside)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        raise Invalid("expected an Alertmanager webhook payload")
    created = []
    for alert in data["alerts"][:20]:  # bounded: one noisy group must not flood the list
        if not isinstance(alert, dict) or alert.get("status") != "firing":
            continue
        labels = alert.get("labels") or {}
        summary = (alert.get("annotations") or {}).get("summary", "")
        title = f"Alert {labels.get('alertname', 'unknown')}: {summary}".strip(": ")[:MAX_TITLE]
        created.append(store().create(title).id)
        metrics().alerts_received.inc()
        metrics().tasks_created.inc()
    return jsonify(created=created), 200


# --- operations -----------------------------------------------------------------------------------------------------


# Liveness (/healthz) is answered before Flask, in taskapp.edge: it needs no framework.


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: every dependency this instance needs answers, and the instance is not draining."""
    drain_file = settings().drain_file
    if drain_file and os.path.exists(drain_file):
        return jsonify(status="draining", checks={}), 503
    started = time.perf_counter()
    try:
        store().ping()
        db: dict[str, Any] = {"status": "ok"}
    except Exception as exc:  # any failure means not ready; the reason goes to the log, not the caller
        metrics().db_errors.inc()
        log.warning("readiness: database unavailable", extra={"request_id": g.get("request_id"), "error": repr(exc)})
        db = {"status": "fail"}
    db["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    ok = db["status"] == "ok"
    return jsonify(status="ok" if ok else "fail", checks={"database": db}), 200 if ok else 503


@bp.get("/version")
def version() -> Response:
    s = settings()
    commit = s.commit
    if s.version_file:
        # An in-place "deploy" (the harness's in-place lab variant) rewrites this file in a running container.
        try:
            with open(s.version_file, encoding="utf-8") as fh:
                commit = fh.read().strip() or commit
        except OSError:
            pass
    return jsonify(
        commit=commit,
        build_time=s.build_time,
        image_digest=s.image_digest,
        instance_id=s.instance_id,
        features={"due_dates": s.feature_due_dates},
    )


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    if not settings().metrics_route:
        return Response("not found\n", status=404, mimetype="text/plain")
    return Response(generate_latest(metrics().registry), mimetype=CONTENT_TYPE_LATEST)
