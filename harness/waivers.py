"""Waivers: a check's findings waived for a stated reason, by a named approver, until a date.

A waived finding keeps its outcome, is shown as waived, and stops counting
against the grade. Expired or malformed waivers do not apply and are reported.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import fsutil
from harness.model import Finding, Waiver

WAIVERS_NAME = "harness-waivers.toml"
MAX_WAIVER_BYTES = 1_000_000


@dataclass
class WaiverStatus:
    entry: dict[str, Any]
    status: str  # applied | unused | expired | malformed
    reason: str
    waiver: Waiver | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "reason": self.reason}
        out.update({k: v for k, v in self.entry.items() if isinstance(v, str | int | float | bool)})
        return out


def read_file(path: Path) -> list[dict[str, Any]]:
    """Entries of `[[waiver]]` tables; a file that cannot be read is one malformed entry."""
    try:
        if path.stat().st_size > MAX_WAIVER_BYTES:
            return [{"source": str(path), "_error": "waiver file too large"}]
        data = tomllib.loads(fsutil.read_text_bounded(path, MAX_WAIVER_BYTES))  # a FIFO never blocks
    except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        return [{"source": str(path), "_error": f"cannot read waiver file: {exc}".splitlines()[0]}]
    entries = data.get("waiver", [])
    if not isinstance(entries, list):
        return [{"source": str(path), "_error": "`waiver` must be an array of tables ([[waiver]])"}]
    return [
        dict(e, source=str(path)) if isinstance(e, dict) else {"source": str(path), "_error": "not a table"}
        for e in entries
    ]


def evaluate(entries: list[dict[str, Any]], known_checks: set[str], today: dt.date) -> list[WaiverStatus]:
    out = []
    for entry in entries:
        if "_error" in entry:
            out.append(WaiverStatus(entry, "malformed", entry["_error"]))
            continue
        missing = [k for k in ("check", "justification", "approver", "expires") if not str(entry.get(k, "")).strip()]
        if missing:
            out.append(WaiverStatus(entry, "malformed", f"missing {', '.join(missing)}"))
            continue
        unknown = sorted(set(entry) - {"check", "justification", "approver", "expires", "source"})
        if unknown:
            out.append(WaiverStatus(entry, "malformed", f"unknown key {unknown[0]}"))
            continue
        if entry["check"] not in known_checks:
            out.append(WaiverStatus(entry, "malformed", f"no check with id {entry['check']}"))
            continue
        raw_date = entry["expires"]
        try:
            expires = raw_date if isinstance(raw_date, dt.date) else dt.date.fromisoformat(str(raw_date))
        except ValueError:
            out.append(WaiverStatus(entry, "malformed", f"expires is not a date (YYYY-MM-DD): {raw_date!r}"))
            continue
        entry = dict(entry, expires=expires.isoformat())
        if expires < today:
            out.append(WaiverStatus(entry, "expired", f"expired on {expires.isoformat()}"))
            continue
        waiver = Waiver(
            check_id=entry["check"],
            justification=str(entry["justification"]),
            approver=str(entry["approver"]),
            expires=expires.isoformat(),
            source=str(entry.get("source", "")),
        )
        out.append(WaiverStatus(entry, "unused", "no finding of this check needed it", waiver))
    return out


def apply(findings: list[Finding], statuses: list[WaiverStatus]) -> None:
    """Attach valid waivers to the failing or warning findings of their checks."""
    active = {s.waiver.check_id: s for s in statuses if s.waiver is not None}
    for f in findings:
        status = active.get(f.check_id)
        if status is None or f.outcome.value not in ("fail", "warn", "could_not_check"):
            continue
        f.waiver = status.waiver
        status.status, status.reason = "applied", "waives the findings of its check"
