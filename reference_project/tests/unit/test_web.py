"""Request handling, with the store replaced by test doubles (the in-memory fake, or a Mock for failures)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from unittest import mock

import pytest
from flask.testing import FlaskClient

from taskapp import create_app
from taskapp.settings import Settings
from taskapp.store import MemoryStore
from taskapp.web import PAGE_DEFAULT, PAGE_MAX, Invalid, parse_new_task


def test_parse_rejects_blank_and_overlong_titles() -> None:
    with pytest.raises(Invalid):
        parse_new_task({"title": "  "}, due_dates=False)
    with pytest.raises(Invalid):
        parse_new_task({"title": "x" * 201}, due_dates=False)
    assert parse_new_task({"title": " ok "}, due_dates=False) == ("ok", None)


def test_due_date_is_ignored_when_the_toggle_is_off_and_validated_when_on() -> None:
    assert parse_new_task({"title": "t", "due_date": "nonsense"}, due_dates=False)[1] is None
    with pytest.raises(Invalid):
        parse_new_task({"title": "t", "due_date": "nonsense"}, due_dates=True)
    assert str(parse_new_task({"title": "t", "due_date": "2030-01-31"}, due_dates=True)[1]) == "2030-01-31"


def test_readiness_fails_with_503_when_the_database_does_not_answer(settings: Settings) -> None:
    broken = mock.Mock(wraps=MemoryStore())
    broken.ping.side_effect = ConnectionError("connection refused")
    client = create_app(store=broken, settings=settings).test_client()
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["checks"]["database"]["status"] == "fail"
    assert "refused" not in resp.get_data(as_text=True)  # the reason is logged, not shown to callers
    broken.ping.assert_called_once()


def test_readiness_is_503_while_draining_and_the_instance_keeps_serving(tmp_path: Path, store: MemoryStore) -> None:
    drain = tmp_path / "draining"
    client = create_app(store=store, settings=Settings(drain_file=str(drain), instance_id="i-3")).test_client()
    assert client.get("/readyz").status_code == 200
    drain.touch()  # a blue/green redeploy drains the old colour: the proxy's health checks take it out
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["status"] == "draining"
    assert client.get("/api/tasks").status_code == 200  # requests already routed here are still served


def test_liveness_does_not_touch_the_database(settings: Settings) -> None:
    store = mock.Mock()
    resp = create_app(store=store, settings=settings).test_client().get("/healthz")
    assert resp.status_code == 200
    store.ping.assert_not_called()


def test_liveness_is_answered_before_the_framework_with_the_usual_headers_and_count(settings: Settings) -> None:
    app = create_app(store=mock.Mock(), settings=settings)
    with mock.patch.object(app, "full_dispatch_request", side_effect=AssertionError("Flask dispatched /healthz")):
        resp = app.test_client().get("/healthz", headers={"X-Request-Id": "probe-1"})
        head = app.test_client().head("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    assert resp.headers["X-Request-Id"] == "probe-1" and resp.headers["X-Instance-Id"] == "i-1"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert head.status_code == 200 and head.get_data() == b""
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert 'http_requests_total{method="HEAD",route="/healthz",status="200"} 1.0' in text


def test_request_id_is_honoured_when_well_formed_and_replaced_otherwise(client: FlaskClient) -> None:
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-Id": "bad id!"}).headers["X-Request-Id"]
    assert generated != "bad id!" and len(generated) == 32


def test_every_response_names_the_instance(client: FlaskClient) -> None:
    assert client.get("/api/tasks").headers["X-Instance-Id"] == "i-1"


def test_metrics_count_requests_by_route_and_status_and_business_events(client: FlaskClient) -> None:
    client.post("/api/tasks", json={"title": "a"})
    client.get("/api/tasks/999")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="POST",route="/api/tasks",status="201"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/api/tasks/<int:task_id>",status="404"} 1.0' in text
    assert "tasks_created_total 1.0" in text
    assert "http_request_duration_seconds_bucket" in text
    assert "process_resident_memory_bytes" in text


def test_a_store_failure_is_a_500_not_a_crash(settings: Settings) -> None:
    store = mock.Mock()
    store.page_json.side_effect = RuntimeError("boom")
    app = create_app(store=store, settings=settings)
    resp = app.test_client().get("/api/tasks")
    assert resp.status_code == 500
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'route="/api/tasks",status="500"' in text


def test_settings_read_the_toggle_and_build_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURE_DUE_DATES", "true")
    monkeypatch.setenv("GIT_SHA", "deadbeef")
    s = Settings.from_env()
    assert s.feature_due_dates and s.commit == "deadbeef"
    monkeypatch.setenv("FEATURE_DUE_DATES", "off")
    assert not Settings.from_env().feature_due_dates


def test_instance_ids_differ_between_starts() -> None:
    with mock.patch("taskapp.settings.time.time", side_effect=[1.0, 2.0]):
        assert Settings().instance_id != Settings().instance_id


def test_alert_webhook_turns_firing_alerts_into_tasks(client: FlaskClient, store: MemoryStore) -> None:
    payload = {
        "alerts": [
            {"status": "firing", "labels": {"alertname": "InstanceDown"}, "annotations": {"summary": "app down"}},
            {"status": "resolved", "labels": {"alertname": "Old"}},
        ]
    }
    resp = client.post("/internal/alerts", json=payload)
    assert resp.status_code == 200 and len(resp.get_json()["created"]) == 1
    assert [t.title for t in store.list()] == ["Alert InstanceDown: app down"]
    assert client.post("/internal/alerts", json={"nope": 1}).status_code == 400


def test_the_task_list_is_a_bounded_page_with_a_cursor(client: FlaskClient) -> None:
    for i in range(PAGE_DEFAULT + 1):
        client.post("/api/tasks", json={"title": f"t{i}"})
    first = client.get("/api/tasks").get_json()
    assert len(first["tasks"]) == PAGE_DEFAULT and first["next"]
    rest = client.get(first["next"]).get_json()
    assert [t["title"] for t in rest["tasks"]] == ["t0"] and rest["next"] is None


@pytest.mark.parametrize("query", ["limit=0", f"limit={PAGE_MAX + 1}", "limit=ten", "before=-1", "before=1.5"])
def test_a_bad_page_request_is_a_400_naming_the_parameter(client: FlaskClient, query: str) -> None:
    resp = client.get(f"/api/tasks?{query}")
    assert resp.status_code == 400 and query.split("=")[0] in resp.get_json()["error"]


def test_each_request_but_probes_and_scrapes_logs_one_line_with_its_route_and_id(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="taskapp"):
        client.get("/healthz")
        client.get("/metrics")
        client.get("/api/tasks/7", headers={"X-Request-Id": "r-7"})
    lines = [r for r in caplog.records if r.getMessage() == "request"]
    assert len(lines) == 1
    fields = {name: getattr(lines[0], name) for name in ("route", "status", "request_id", "path")}
    assert fields == {"route": "/api/tasks/<int:task_id>", "status": 404, "request_id": "r-7", "path": "/api/tasks/7"}


def test_a_readiness_probe_is_logged_only_when_it_fails(
    tmp_path: Path, store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    drain = tmp_path / "draining"
    client = create_app(store=store, settings=Settings(drain_file=str(drain), instance_id="i-3")).test_client()
    with caplog.at_level("INFO", logger="taskapp"):
        assert client.get("/readyz").status_code == 200  # Caddy's check, each second on each instance
        drain.touch()
        assert client.get("/readyz").status_code == 503
    lines = [r for r in caplog.records if r.getMessage() == "request"]
    assert [(r.route, r.status) for r in lines] == [("/readyz", 503)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("query", ["", "?limit=2", "?limit=2&before=4", "?limit=2&limit=9", "?overdue=true&limit=1"])
def test_the_task_list_is_served_before_the_framework_exactly_as_the_flask_route_serves_it(
    store: MemoryStore, query: str
) -> None:
    app = create_app(store=store, settings=Settings(feature_due_dates=True, instance_id="i-3"))
    for i in range(5):
        store.create(f"t{i}", dt.date(2000, 1, 1) if i % 2 else None)
    with mock.patch.object(app, "full_dispatch_request", side_effect=AssertionError("Flask dispatched the list")):
        fast = app.test_client().get("/api/tasks" + query, base_url="http://localhost/prefix/")
    app.wsgi_app.reads = {}  # type: ignore[attr-defined]
    flask = app.test_client().get("/api/tasks" + query, base_url="http://localhost/prefix/")
    assert fast.status_code == flask.status_code == 200
    assert fast.get_data() == flask.get_data() and fast.headers["Content-Type"] == flask.headers["Content-Type"]
    assert fast.headers["X-Instance-Id"] == "i-3" and fast.headers["Content-Security-Policy"]
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="GET",route="/api/tasks",status="200"} 2.0' in text


@pytest.mark.parametrize("query", ["limit=", "limit=0", "before=x"])
def test_a_list_request_the_fast_path_cannot_answer_gets_flasks_answer(client: FlaskClient, query: str) -> None:
    resp = client.get(f"/api/tasks?{query}")
    assert resp.status_code == 400 and resp.get_json()["error"].startswith(query.split("=")[0])
