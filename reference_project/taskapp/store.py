"""The task model, the storage interface, and the in-memory store used only by unit tests."""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass
from typing import Any, Protocol


class NotFound(Exception):
    """No task with that id."""


@dataclass(frozen=True)
class Task:
    id: int
    title: str
    done: bool
    created_at: dt.datetime
    completed_at: dt.datetime | None = None
    due_date: dt.date | None = None

    def to_dict(self, with_due_dates: bool, today: dt.date | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "done": self.done,
            "created_at": self.created_at.isoformat(),
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
        }
        if with_due_dates:
            out["due_date"] = self.due_date.isoformat() if self.due_date else None
            out["overdue"] = self.is_overdue(today or dt.date.today())
        return out

    def is_overdue(self, today: dt.date) -> bool:
        return not self.done and self.due_date is not None and self.due_date < today


@dataclass(frozen=True)
class PageQuery:
    """One page of the task list, newest first: tasks older than `before` (a task id), at most `limit`."""

    limit: int
    before: int | None = None
    due_dates: bool = False
    overdue_only: bool = False
    today: dt.date = dt.date.min


class TaskStore(Protocol):
    def list(self, limit: int = 200) -> list[Task]: ...
    def page_json(self, query: PageQuery) -> tuple[str, int | None]:
        """The page as a JSON array of `Task.to_dict` objects, and the cursor of the next page (None at the end)."""
        ...

    def get(self, task_id: int) -> Task: ...
    def create(self, title: str, due_date: dt.date | None = None) -> Task: ...
    def complete(self, task_id: int) -> Task: ...
    def ping(self) -> None: ...


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MemoryStore:
    """A fake TaskStore with the same behaviour as PostgresStore, for fast tests without a database."""

    def __init__(self) -> None:
        self._tasks: dict[int, Task] = {}
        self._next = 1
        self._lock = threading.Lock()
        self.healthy = True  # tests flip this to exercise readiness failures

    def list(self, limit: int = 200) -> list[Task]:
        with self._lock:
            return sorted(self._tasks.values(), key=lambda t: t.id, reverse=True)[:limit]

    def page_json(self, query: PageQuery) -> tuple[str, int | None]:
        with self._lock:
            tasks = sorted(self._tasks.values(), key=lambda t: t.id, reverse=True)
        tasks = [
            t
            for t in tasks
            if (query.before is None or t.id < query.before) and (not query.overdue_only or t.is_overdue(query.today))
        ]
        page = tasks[: query.limit]
        cursor = page[-1].id if len(tasks) > query.limit else None
        return json.dumps([t.to_dict(query.due_dates, query.today) for t in page]), cursor

    def get(self, task_id: int) -> Task:
        with self._lock:
            if task_id not in self._tasks:
                raise NotFound(task_id)
            return self._tasks[task_id]

    def create(self, title: str, due_date: dt.date | None = None) -> Task:
        with self._lock:
            task = Task(id=self._next, title=title, done=False, created_at=now(), due_date=due_date)
            self._tasks[task.id] = task
            self._next += 1
            return task

    def complete(self, task_id: int) -> Task:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise NotFound(task_id)
            if not task.done:
                task = Task(task.id, task.title, True, task.created_at, now(), task.due_date)
                self._tasks[task_id] = task
            return task

    def ping(self) -> None:
        if not self.healthy:
            raise ConnectionError("memory store marked unhealthy")
