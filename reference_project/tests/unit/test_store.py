"""The in-memory store: the test double must behave like the real store, or tests built on it lie."""

from __future__ import annotations

import datetime as dt

import pytest

from taskapp.store import MemoryStore, NotFound, Task


def test_create_assigns_increasing_ids_and_lists_newest_first() -> None:
    s = MemoryStore()
    a, b = s.create("a"), s.create("b")
    assert b.id == a.id + 1
    assert [t.title for t in s.list()] == ["b", "a"]


def test_complete_is_idempotent_and_keeps_the_first_completion_time() -> None:
    s = MemoryStore()
    task = s.create("x")
    first = s.complete(task.id)
    again = s.complete(task.id)
    assert first.done and again.completed_at == first.completed_at


def test_unknown_task_raises_not_found() -> None:
    with pytest.raises(NotFound):
        MemoryStore().complete(42)
    with pytest.raises(NotFound):
        MemoryStore().get(42)


def test_overdue_only_for_open_tasks_past_their_due_date() -> None:
    now = dt.datetime.now(dt.UTC)
    today = dt.date(2030, 1, 10)
    assert Task(1, "t", False, now, due_date=dt.date(2030, 1, 9)).is_overdue(today)
    assert not Task(1, "t", True, now, now, due_date=dt.date(2030, 1, 9)).is_overdue(today)
    assert not Task(1, "t", False, now, due_date=dt.date(2030, 1, 10)).is_overdue(today)
    assert not Task(1, "t", False, now).is_overdue(today)


def test_list_respects_the_limit() -> None:
    s = MemoryStore()
    for i in range(5):
        s.create(str(i))
    assert len(s.list(limit=3)) == 3
