"""Migrations: numbered, ordered, and applied once under a lock (the connection is a Mock)."""

from __future__ import annotations

from unittest import mock

from taskapp.pgstore import MIGRATION_LOCK_ID, migrate, migrations


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [v for v, _, _ in migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_migrate_takes_the_lock_and_skips_applied_versions() -> None:
    conn = mock.MagicMock()
    executed: list[tuple[object, ...]] = []

    def execute(sql: object, params: tuple[object, ...] | None = None) -> mock.MagicMock:
        executed.append((sql, params))
        result = mock.MagicMock()
        result.__iter__.return_value = iter([(1,)])  # version 1 is already applied
        return result

    conn.execute.side_effect = execute
    applied = migrate(conn)
    assert executed[0] == ("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
    assert applied == [name for v, name, _ in migrations() if v > 1]
