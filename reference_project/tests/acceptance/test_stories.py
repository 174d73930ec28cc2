"""Acceptance tests, one or more per user story in docs/user-stories.md; each names its story id (US-n).

They drive the service through HTTP as a user or operator would, with the in-memory store standing in for
PostgreSQL; the lab runs the same journeys against the deployed service.
"""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient

from taskapp import create_app
from taskapp.settings import Settings
from taskapp.store import MemoryStore


def test_us1_add_a_task(client: FlaskClient) -> None:
    """US-1: Given the task list, when I add a task with a title, then it is listed as open."""
    resp = client.post("/api/tasks", json={"title": "Write the runbook"})
    assert resp.status_code == 201
    task = resp.get_json()
    assert task["title"] == "Write the runbook" and task["done"] is False
    assert [t["title"] for t in client.get("/api/tasks").get_json()["tasks"]] == ["Write the runbook"]


def test_us1_a_task_needs_a_title(client: FlaskClient) -> None:
    """US-1: Given the task list, when I add a task without a title, then I am told why and nothing is added."""
    resp = client.post("/api/tasks", json={"title": ""})
    assert resp.status_code == 400 and "title" in resp.get_json()["error"]
    assert client.get("/api/tasks").get_json()["tasks"] == []


def test_us1_add_a_task_from_the_page(client: FlaskClient) -> None:
    """US-1: Given the page, when I submit the form, then I return to the page and see the task."""
    resp = client.post("/tasks", data={"title": "Book the room"})
    assert resp.status_code == 303
    assert "Book the room" in client.get("/").get_data(as_text=True)


def test_us2_see_my_tasks_newest_first(client: FlaskClient) -> None:
    """US-2: Given several tasks, when I open the list, then I see every task, newest first."""
    for title in ("first", "second", "third"):
        client.post("/api/tasks", json={"title": title})
    titles = [t["title"] for t in client.get("/api/tasks").get_json()["tasks"]]
    assert titles == ["third", "second", "first"]
    page = client.get("/").get_data(as_text=True)
    assert page.index("third") < page.index("first")


def test_us2_page_through_a_long_list(client: FlaskClient) -> None:
    """US-2: Given more tasks than fit on a page, when I follow each page's next link, then I see every task
    exactly once, newest first, and the last page says there is no next."""
    titles = [f"task {i}" for i in range(7)]
    for title in titles:
        client.post("/api/tasks", json={"title": title})
    seen, pages, url = [], 0, "/api/tasks?limit=3"
    while url:
        body = client.get(url).get_json()
        assert len(body["tasks"]) <= 3
        seen += [t["title"] for t in body["tasks"]]
        pages, url = pages + 1, body["next"]
    assert seen == titles[::-1] and pages == 3
    assert client.get("/api/tasks").get_json()["next"] is None  # 7 tasks fit on the default page


def test_us3_complete_a_task(client: FlaskClient) -> None:
    """US-3: Given an open task, when I mark it complete, then it shows as done with the time it was done."""
    task_id = client.post("/api/tasks", json={"title": "Ship it"}).get_json()["id"]
    done = client.post(f"/api/tasks/{task_id}/complete").get_json()
    assert done["done"] is True and done["completed_at"]
    assert client.get(f"/api/tasks/{task_id}").get_json()["done"] is True


def test_us3_completing_an_unknown_task_is_a_404(client: FlaskClient) -> None:
    """US-3: Given no such task, when I try to complete it, then I am told it does not exist."""
    assert client.post("/api/tasks/12345/complete").status_code == 404


def test_us4_tasks_survive_a_redeploy(store: MemoryStore) -> None:
    """US-4: Given a saved task, when the service is replaced by a new instance, then the task is still there."""
    old = create_app(store=store, settings=Settings(instance_id="old")).test_client()
    old.post("/api/tasks", json={"title": "keep me"})
    new = create_app(store=store, settings=Settings(instance_id="new")).test_client()
    resp = new.get("/api/tasks")
    assert resp.headers["X-Instance-Id"] == "new"
    assert [t["title"] for t in resp.get_json()["tasks"]] == ["keep me"]


def test_us5_health_and_readiness(client: FlaskClient, store: MemoryStore) -> None:
    """US-5: Given a running instance, when its database fails, then it stays live but reports not ready."""
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["database"]["status"] == "ok"
    store.healthy = False
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503


def test_us6_see_which_version_is_running(client: FlaskClient) -> None:
    """US-6: Given a deployed build, when I ask for its version, then I see its commit, build and instance."""
    body = client.get("/version").get_json()
    assert body["commit"] == "abc123" and body["image_digest"] == "sha256:feed"
    assert body["build_time"] and body["instance_id"] == "i-1"


def test_us7_metrics_for_requests_errors_and_tasks(client: FlaskClient) -> None:
    """US-7: Given traffic, when Prometheus scrapes the instance, then it sees requests, errors, latency, tasks."""
    client.post("/api/tasks", json={"title": "measured"})
    client.post("/api/tasks", json={})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'status="400"' in text and 'status="201"' in text
    assert "http_request_duration_seconds_count" in text
    assert "tasks_created_total 1.0" in text
    assert "process_cpu_seconds_total" in text


def test_us8_due_dates_when_the_feature_is_on(due_client: FlaskClient) -> None:
    """US-8: Given due dates are switched on, when I add a task due yesterday, then it is shown as overdue."""
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    task = due_client.post("/api/tasks", json={"title": "late", "due_date": yesterday}).get_json()
    assert task["due_date"] == yesterday and task["overdue"] is True
    assert 'type="date"' in due_client.get("/").get_data(as_text=True)


def test_us8_due_dates_hidden_when_the_feature_is_off(client: FlaskClient) -> None:
    """US-8: Given due dates are switched off, when I add a task with a due date, then the date is not used."""
    task = client.post("/api/tasks", json={"title": "t", "due_date": "2000-01-01"}).get_json()
    assert "due_date" not in task
    assert 'type="date"' not in client.get("/").get_data(as_text=True)


def test_us9_filter_overdue_tasks(due_client: FlaskClient) -> None:
    """US-9: Given open tasks, some overdue, when I filter for overdue ones, then I see only those."""
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    due_client.post("/api/tasks", json={"title": "late", "due_date": yesterday})
    due_client.post("/api/tasks", json={"title": "fine", "due_date": tomorrow})
    tasks = due_client.get("/api/tasks?overdue=true").get_json()["tasks"]
    assert [t["title"] for t in tasks] == ["late"]
