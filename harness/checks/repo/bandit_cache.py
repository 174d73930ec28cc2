"""bandit's results per file content, kept in the operator's cache (`XDG_CACHE_HOME/harness/bandit.sqlite3`).

An entry is keyed by a SHA-256 of the file's exact bytes (as read from the commit, not the blob id the
project's object store claims), bandit's version and the arguments harness runs bandit with, so a
commit touching one file re-scans one file. One SQLite database, not a file per
blob: creating thousands of small files costs seconds on some disks. Each write is one transaction;
the database is bounded (least recently used entries dropped past MAX_BYTES). An entry is used only
if it parses, names its own key and has the shape the check reads; anything else is a miss and the
file is scanned again, so a damaged cache costs time, never turns a finding into a pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TypedDict

SCHEMA = "bandit-file-v1"
MAX_BYTES = 100_000_000  # all entries together; the least recently used go first
MAX_ENTRY_BYTES = 2_000_000  # a file with more results than this is not cached
BUSY_TIMEOUT_S = 2.0  # another run holding the database: wait this long, then do without
CHUNK = 500  # keys per query (SQLite limits the number of parameters)
LEVELS = {"UNDEFINED", "LOW", "MEDIUM", "HIGH"}  # bandit's severity and confidence ranks


class Entry(TypedDict):
    """bandit's results and errors for one file, without its name (the same bytes may sit at several paths)."""

    results: list[dict[str, object]]
    errors: list[dict[str, object]]


def fingerprint(args: Iterable[str]) -> str:
    """What besides the file's bytes decides bandit's output: its version and harness's arguments."""
    try:
        version = importlib.metadata.version("bandit")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return hashlib.sha256("\0".join([SCHEMA, version, *args]).encode()).hexdigest()


def _key(fp: str, digest: str) -> str:
    return hashlib.sha256(f"{fp}\0{digest}".encode()).hexdigest()


def path() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "harness" / "bandit.sqlite3"


def _connect() -> sqlite3.Connection:
    where = path()
    where.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(where), timeout=BUSY_TIMEOUT_S)
    con.execute(
        "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
        "size INTEGER NOT NULL, used REAL NOT NULL)"
    )
    return con


def read(digests: Iterable[str], fp: str) -> dict[str, Entry]:
    """The valid cached entries of these contents (digest -> entry); {} when the cache cannot be read."""
    keys = {_key(fp, d): d for d in digests}
    found: dict[str, Entry] = {}
    if not keys or not path().is_file():
        return found
    try:
        con = _connect()
    except (sqlite3.Error, OSError):
        return found
    try:
        wanted = list(keys)
        for i in range(0, len(wanted), CHUNK):
            part = wanted[i : i + CHUNK]
            rows = con.execute(f"SELECT key, value FROM entries WHERE key IN ({','.join('?' * len(part))})", part)
            for key, value in rows:
                entry = _valid(key, value)
                if entry is not None:
                    found[keys[key]] = entry
        with con:  # mark them used, so pruning drops what no recent run needed
            used = [(time.time(), _key(fp, d)) for d in found]
            con.executemany("UPDATE entries SET used = ? WHERE key = ?", used)
    except sqlite3.Error:
        pass  # locked or damaged: whatever was read and validated is still good
    finally:
        con.close()
    return found


def write(entries: dict[str, Entry], fp: str) -> None:
    """Store fresh entries (digest -> entry) and prune; a cache that cannot be written only costs time."""
    rows = []
    for digest, entry in entries.items():
        key = _key(fp, digest)
        value = json.dumps({"key": key, "results": entry["results"], "errors": entry["errors"]})
        if len(value) <= MAX_ENTRY_BYTES:
            rows.append((key, value, len(value), time.time()))
    if not rows:
        return
    for attempt in range(2):
        try:
            con = _connect()
            try:
                with con:
                    con.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", rows)
                    _prune(con)
            finally:
                con.close()
            return
        except sqlite3.DatabaseError as exc:
            if attempt or isinstance(exc, sqlite3.OperationalError):
                return  # busy (another run writes) or still failing: do without
            with contextlib.suppress(OSError):
                path().unlink()  # not a database (damaged): start afresh once
        except OSError:
            return


def _prune(con: sqlite3.Connection) -> None:
    total = con.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
    if total <= MAX_BYTES:
        return
    excess, doomed = total - MAX_BYTES * 3 // 4, []  # prune to 3/4 so that it does not run on every write
    for key, size in con.execute("SELECT key, size FROM entries ORDER BY used"):
        if excess <= 0:
            break
        doomed.append((key,))
        excess -= size
    con.executemany("DELETE FROM entries WHERE key = ?", doomed)


def _valid(key: str, value: object) -> Entry | None:
    """The entry if it is well formed and stored under its own key, else None (a miss)."""
    if not isinstance(value, str) or len(value) > MAX_ENTRY_BYTES:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    results, errors = data.get("results"), data.get("errors")
    if not isinstance(results, list) or not isinstance(errors, list):
        return None
    if not all(isinstance(e, dict) for e in errors) or not all(_valid_result(r) for r in results):
        return None
    return {"results": results, "errors": errors}


def _valid_result(r: object) -> bool:
    if not isinstance(r, dict):
        return False
    line = r.get("line_number")
    return (
        r.get("issue_severity") in LEVELS
        and r.get("issue_confidence") in LEVELS
        and isinstance(line, int)
        and not isinstance(line, bool)
        and line >= 0
    )
