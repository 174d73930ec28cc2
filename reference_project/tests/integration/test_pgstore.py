"""PostgresStore against a real PostgreSQL: the task page is rendered to JSON in SQL, so only the real database
can show it matches the Python model. Set TASKAPP_TEST_DATABASE_URL to a database the tests may create
databases in (harness's tests/test_reference_project.py starts a throwaway server); skipped otherwise."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from taskapp.pgstore import VERSION_STATEMENT, PostgresStore, tasks_version
from taskapp.store import PageQuery

ADMIN_DSN = os.environ.get("TASKAPP_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not ADMIN_DSN, reason="TASKAPP_TEST_DATABASE_URL is not set")
TODAY = dt.date(2030, 1, 10)


@pytest.fixture
def store() -> Iterator[PostgresStore]:
    """A fresh, migrated database per test."""
    name = f"taskapp_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    store = PostgresStore(psycopg.conninfo.make_conninfo(ADMIN_DSN, dbname=name), pool_size=2)
    store.migrate()
    yield store
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("DROP DATABASE {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))


def normalised(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Timestamps as values: both renderings are ISO 8601, PostgreSQL's without trailing zero digits."""
    stamp = ("created_at", "completed_at")
    return [{k: dt.datetime.fromisoformat(v) if k in stamp and v else v for k, v in t.items()} for t in tasks]


def test_the_sql_rendered_page_matches_the_python_model(store: PostgresStore) -> None:
    store.create("no date")
    late = store.create("late", TODAY - dt.timedelta(days=1))
    store.create('quotes " and \\ and ünicode', TODAY + dt.timedelta(days=1))
    store.complete(late.id)
    store.create("late and open", TODAY - dt.timedelta(days=3))
    for due_dates in (False, True):
        text, cursor = store.page_json(PageQuery(limit=10, due_dates=due_dates, today=TODAY))
        expected = [t.to_dict(due_dates, TODAY) for t in store.list()]
        assert normalised(json.loads(text)) == normalised(expected) and cursor is None


def test_pages_follow_the_cursor_newest_first_without_gaps(store: PostgresStore) -> None:
    ids = [store.create(f"t{i}").id for i in range(7)]
    seen, before, pages = [], None, 0
    while True:
        text, before = store.page_json(PageQuery(limit=3, before=before))
        seen += [t["id"] for t in json.loads(text)]
        pages += 1
        if before is None:
            break
    assert seen == ids[::-1] and pages == 3
    assert store.page_json(PageQuery(limit=7))[1] is None  # exactly a page: no next page


def test_the_overdue_filter_pages_over_overdue_tasks_only(store: PostgresStore) -> None:
    overdue = [store.create(f"late {i}", TODAY - dt.timedelta(days=1)).id for i in range(3)]
    store.create("not yet", TODAY + dt.timedelta(days=1))
    store.complete(store.create("done late", TODAY - dt.timedelta(days=1)).id)
    text, cursor = store.page_json(PageQuery(limit=2, due_dates=True, overdue_only=True, today=TODAY))
    first = json.loads(text)
    assert [t["id"] for t in first] == overdue[:0:-1] and all(t["overdue"] for t in first) and cursor == overdue[1]
    text, cursor = store.page_json(PageQuery(limit=2, before=cursor, due_dates=True, overdue_only=True, today=TODAY))
    assert [t["id"] for t in json.loads(text)] == overdue[:1] and cursor is None


def test_an_empty_list_is_an_empty_page(store: PostgresStore) -> None:
    assert store.page_json(PageQuery(limit=50)) == ("[]", None)


def test_a_page_is_rendered_again_only_after_a_change_to_tasks(store: PostgresStore) -> None:
    first = store.create("first")
    query = PageQuery(limit=10)
    titles = lambda: [t["title"] for t in json.loads(store.page_json(query)[0])]  # noqa: E731
    assert titles() == ["first"]
    with store.pool.connection() as conn:  # a change the counter does not see: the kept page is served
        conn.execute("ALTER TABLE tasks DISABLE TRIGGER tasks_changed")
        conn.execute("UPDATE tasks SET title = 'renamed' WHERE id = %s", (first.id,))
        conn.execute("ALTER TABLE tasks ENABLE TRIGGER tasks_changed")
    assert titles() == ["first"]
    store.create("second")  # every write through the store bumps the counter in its own transaction
    assert titles() == ["second", "renamed"]
    store.complete(first.id)
    assert [t["done"] for t in json.loads(store.page_json(query)[0])] == [False, True]
    with store.pool.connection() as conn:
        conn.execute("TRUNCATE tasks")
    assert store.page_json(query) == ("[]", None)


def test_the_tasks_version_is_read_through_a_statement_prepared_once_per_connection(store: PostgresStore) -> None:
    with store.pool.connection() as conn:
        before = tasks_version(conn)  # prepares it on this connection
    store.create("bumps the counter")
    for _ in range(4):  # the pool's two connections in turn, each prepared once
        with store.pool.connection() as conn:
            assert tasks_version(conn) > before
            prepared = conn.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE name = %s", (VERSION_STATEMENT.decode(),)
            )
            assert prepared.fetchone() == (1,)


def test_a_failed_version_read_drops_the_connection(store: PostgresStore) -> None:
    with pytest.raises(psycopg.OperationalError, match="tasks version"), store.pool.connection() as conn:
        conn.execute("ALTER TABLE tasks_version RENAME TO tasks_version_gone")
        try:
            tasks_version(conn)
        finally:
            conn.execute("ALTER TABLE tasks_version_gone RENAME TO tasks_version")
    assert conn.closed  # the pool closed it rather than hand it out again
