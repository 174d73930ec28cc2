"""PostgreSQL persistence: a small connection pool, numbered SQL migrations, and the TaskStore on top."""

from __future__ import annotations

import datetime as dt
import queue
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg
import psycopg.sql
from psycopg import pq

from taskapp.store import NotFound, PageQuery, Task

# Any constant works; every instance must use the same one so migrations run once at a time.
MIGRATION_LOCK_ID = 0x7A5C
MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 5000


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for each numbered file, in order."""
    found = []
    for entry in resources.files("taskapp.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(conn: psycopg.Connection[Any]) -> list[str]:
    """Apply pending migrations under an advisory lock, each in its own transaction; returns the names applied."""
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in migrations():
            if version in done:
                continue
            with conn.transaction():
                conn.execute(sql.encode())
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
            applied.append(name)
    return applied


class Pool:
    """A bounded pool: connections are reused, and a broken one is dropped instead of returned."""

    def __init__(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        # SimpleQueue is written in C: Queue and LifoQueue take a Python-level lock and condition on every
        # get and put, four times a request. Idle connections come back in turn (FIFO); any is as good.
        self._idle: queue.SimpleQueue[psycopg.Connection[Any]] = queue.SimpleQueue()
        self._slots: queue.SimpleQueue[None] = queue.SimpleQueue()  # a token per connection allowed
        for _ in range(size):
            self._slots.put(None)

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self._dsn,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            # UTC, so timestamps read as values and those rendered into JSON by the server agree.
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c TimeZone=UTC",
        )

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        self._slots.get(timeout=CONNECT_TIMEOUT_S)
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            try:
                yield conn
            except psycopg.OperationalError:
                conn.close()
                raise
            if conn.closed or conn.broken:
                conn.close()
            else:
                self._idle.put(conn)
        finally:
            self._slots.put(None)


# Queries are composed with psycopg.sql, never string formatting: the column list is identifiers, never data.
COLUMNS = psycopg.sql.SQL(", ").join(
    psycopg.sql.Identifier(name) for name in ("id", "title", "done", "created_at", "completed_at", "due_date")
)
LIST = psycopg.sql.SQL("SELECT {} FROM tasks ORDER BY id DESC LIMIT %s").format(COLUMNS)
GET = psycopg.sql.SQL("SELECT {} FROM tasks WHERE id = %s").format(COLUMNS)
CREATE = psycopg.sql.SQL("INSERT INTO tasks (title, due_date) VALUES (%s, %s) RETURNING {}").format(COLUMNS)
COMPLETE = psycopg.sql.SQL(
    "UPDATE tasks SET done = TRUE, completed_at = COALESCE(completed_at, now()) WHERE id = %s RETURNING {}"
).format(COLUMNS)

# The list page is rendered to JSON by PostgreSQL (json_agg over rows, which it writes compactly): the app
# passes the text through instead of building a Task and a dict per row, which cost more than the query.
# One row more than the page is read to know whether a next page exists; its id is never shown.
_FIELDS = "id, title, done, created_at, completed_at"
_DUE_FIELDS = ", due_date, (NOT done AND due_date IS NOT NULL AND due_date < %(today)s) AS overdue"
_PAGE = """
WITH candidates AS (
    SELECT id, title, done, created_at, completed_at, due_date FROM tasks
    WHERE id < %(before)s AND (NOT %(overdue_only)s OR (NOT done AND due_date < %(today)s))
    ORDER BY id DESC LIMIT %(limit)s + 1
), page AS (
    SELECT * FROM candidates ORDER BY id DESC LIMIT %(limit)s
)
SELECT (SELECT coalesce(json_agg(r ORDER BY r.id DESC), '[]')::text FROM (SELECT {fields} FROM page) AS r),
       CASE WHEN (SELECT count(*) FROM candidates) > %(limit)s THEN (SELECT min(id) FROM page) END,
       (SELECT version FROM tasks_version)
"""
PAGE = {
    due: psycopg.sql.SQL(_PAGE).format(fields=psycopg.sql.SQL(_FIELDS + (_DUE_FIELDS if due else "")))
    for due in (False, True)
}
NO_CURSOR = 2**63 - 1  # above every BIGSERIAL id
# Read in the same statement (so the same snapshot) as a page above; a change to tasks bumps it (migration 003).
VERSION = b"SELECT version FROM tasks_version"
VERSION_STATEMENT = b"taskapp_tasks_version"  # a name psycopg's own prepared statements (_pg3_N) never take
PAGES_KEPT = 64  # distinct page queries remembered per instance; the first page is nearly all of the reads


def tasks_version(conn: psycopg.Connection[Any]) -> int:
    """The tasks counter, read on nearly every request: through libpq directly, as a statement prepared once per
    connection. A cursor, its adaptation and psycopg's prepare bookkeeping cost twice the Python CPU (about 0.1
    against 0.045 ms a read, measured in the app's container)."""
    pgconn = conn.pgconn
    result = pgconn.exec_prepared(VERSION_STATEMENT, [])
    if result.status != pq.ExecStatus.TUPLES_OK and result.error_field(pq.DiagnosticField.SQLSTATE) == b"26000":
        prepared = pgconn.prepare(VERSION_STATEMENT, VERSION)  # 26000: not prepared on this connection yet
        if prepared.status == pq.ExecStatus.COMMAND_OK:
            result = pgconn.exec_prepared(VERSION_STATEMENT, [])
        else:
            result = prepared
    if result.status != pq.ExecStatus.TUPLES_OK or result.ntuples != 1:
        message = (result.error_message or b"no row").decode("utf-8", "replace").strip()
        # OperationalError: the pool drops the connection, and the request falls back to the framework's route.
        raise psycopg.OperationalError(f"reading the tasks version failed: {message}")
    value = result.get_value(0, 0)
    if value is None:
        raise psycopg.OperationalError("the tasks version is NULL")
    return int(value)


def _task(row: tuple[Any, ...]) -> Task:
    return Task(id=row[0], title=row[1], done=row[2], created_at=row[3], completed_at=row[4], due_date=row[5])


class PostgresStore:
    def __init__(self, dsn: str, pool_size: int = 8) -> None:
        self.pool = Pool(dsn, pool_size)
        # query -> (tasks_version, page JSON, cursor). Rendering a page cost PostgreSQL more CPU than the rest of
        # the request; reading the counter costs a fraction, and tells whether any task changed since.
        self._pages: dict[PageQuery, tuple[int, str, int | None]] = {}

    def migrate(self) -> list[str]:
        with self.pool.connection() as conn:
            return migrate(conn)

    def list(self, limit: int = 200) -> list[Task]:
        with self.pool.connection() as conn:
            rows = conn.execute(LIST, (limit,)).fetchall()
        return [_task(r) for r in rows]

    def page_json(self, query: PageQuery) -> tuple[str, int | None]:
        params = {
            "before": NO_CURSOR if query.before is None else query.before,
            "limit": query.limit,
            "overdue_only": query.overdue_only,
            "today": query.today,
        }
        kept = self._pages.get(query)
        with self.pool.connection() as conn:
            if kept is not None and tasks_version(conn) == kept[0]:
                return kept[1], kept[2]
            row = conn.execute(PAGE[query.due_dates], params).fetchone()
        if row is None:  # an aggregate always returns one row
            raise RuntimeError("the database returned no row for the task page")
        if len(self._pages) >= PAGES_KEPT:
            self._pages.clear()  # bounded: old cursors and dates are not worth an eviction policy
        self._pages[query] = (row[2], row[0], row[1])
        return row[0], row[1]

    def get(self, task_id: int) -> Task:
        with self.pool.connection() as conn:
            row = conn.execute(GET, (task_id,)).fetchone()
        if row is None:
            raise NotFound(task_id)
        return _task(row)

    def create(self, title: str, due_date: dt.date | None = None) -> Task:
        with self.pool.connection() as conn:
            row = conn.execute(CREATE, (title, due_date)).fetchone()
        if row is None:  # INSERT ... RETURNING always returns the row; an assert would vanish under -O
            raise RuntimeError("the database returned no row for the new task")
        return _task(row)

    def complete(self, task_id: int) -> Task:
        with self.pool.connection() as conn:
            row = conn.execute(COMPLETE, (task_id,)).fetchone()
        if row is None:
            raise NotFound(task_id)
        return _task(row)

    def ping(self) -> None:
        with self.pool.connection() as conn:
            conn.execute("SELECT 1")
