"""Waivers: a check's findings waived for a stated reason, by a named approver, until a date.

A waived finding keeps its outcome, is shown as waived, and stops counting
against the grade. Expired or malformed waivers do not apply and are reported.
A waiver the project declares is a claim: it applies only once the operator
accepts it (--accept-waivers); the operator's own waivers are accepted as given.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import fsutil
from harness.model import Finding, Waiver

WAIVERS_NAME = "harness-waivers.toml"
MAX_WAIVER_BYTES = 1_000_000
FIELDS = ("check", "justification", "approver", "expires")
NOT_ACCEPTED = "claimed by the project, not accepted (the operator accepts the project's waivers with --accept-waivers)"


@dataclass
class Claim:
    """A waiver entry and who stands behind it."""

    entry: dict[str, Any]
    source: str = ""  # the file (or setting) it was declared in
    origin: str = "operator"  # operator | project
    accepted_by: str = "operator"  # who accepted it, e.g. "operator (--accept-waivers)"; "" when nobody did


@dataclass
class WaiverStatus:
    claim: Claim
    status: str  # applied | unused | expired | malformed
    reason: str
    waiver: Waiver | None = None

    def to_dict(self) -> dict[str, Any]:
        # Only the declared fields, so an entry cannot overwrite the status or who accepted it.
        out: dict[str, Any] = {
            k: v for k in FIELDS if isinstance(v := self.claim.entry.get(k), str | int | float | bool)
        }
        out.update(status=self.status, reason=self.reason, source=self.claim.source, origin=self.claim.origin)
        out.update(accepted=bool(self.claim.accepted_by), accepted_by=self.claim.accepted_by)
        return out


def read_file(path: Path) -> list[dict[str, Any]]:
    """Entries of `[[waiver]]` tables; a file that cannot be read is one malformed entry."""
    try:
        if path.stat().st_size > MAX_WAIVER_BYTES:
            return [{"_error": "waiver file too large"}]
        data = tomllib.loads(fsutil.read_text_bounded(path, MAX_WAIVER_BYTES))  # a FIFO never blocks
    except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        return [{"_error": f"cannot read waiver file: {exc}".splitlines()[0]}]
    entries = data.get("waiver", [])
    if not isinstance(entries, list):
        return [{"_error": "`waiver` must be an array of tables ([[waiver]])"}]
    return [e if isinstance(e, dict) else {"_error": "not a table"} for e in entries]


def _problem(entry: dict[str, Any], known_checks: set[str]) -> str | None:
    """Why an entry is malformed, or None. Every field is checked for its type before it is used."""
    if "_error" in entry:
        return str(entry["_error"])
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        return f"unknown key {unknown[0]}"
    for key in FIELDS:
        value = entry.get(key)
        if value is None:
            return f"missing {key}"
        if key == "expires" and isinstance(value, dt.date):
            continue  # a TOML date
        if not isinstance(value, str):
            return f"{key} must be a string, got {_toml_type(value)}"
        if not value.strip():
            return f"missing {key}"
    if entry["check"] not in known_checks:
        return f"no check with id {entry['check'][:100]}"
    return None


def _toml_type(value: Any) -> str:
    kinds = ((bool, "boolean"), (int, "integer"), (float, "number"), (list, "array"), (dict, "table"))
    return next((name for tp, name in kinds if isinstance(value, tp)), type(value).__name__)


def _expiry(raw: Any) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        return None


def evaluate(entries: Sequence[dict[str, Any] | Claim], known_checks: set[str], today: dt.date) -> list[WaiverStatus]:
    """Each entry's status; a plain dict is an entry the operator gave."""
    out = []
    for item in entries:
        claim = item if isinstance(item, Claim) else Claim(item)
        entry = claim.entry
        problem = _problem(entry, known_checks)
        if problem:
            out.append(WaiverStatus(claim, "malformed", problem))
            continue
        expires = _expiry(entry["expires"])
        if expires is None:
            out.append(WaiverStatus(claim, "malformed", f"expires is not a date (YYYY-MM-DD): {entry['expires']!r}"))
            continue
        claim = Claim(dict(entry, expires=expires.isoformat()), claim.source, claim.origin, claim.accepted_by)
        if expires < today:
            out.append(WaiverStatus(claim, "expired", f"expired on {expires.isoformat()}"))
            continue
        if not claim.accepted_by:
            out.append(WaiverStatus(claim, "unused", NOT_ACCEPTED))
            continue
        waiver = Waiver(
            check_id=entry["check"],
            justification=entry["justification"],
            approver=entry["approver"],
            expires=expires.isoformat(),
            source=claim.source,
            accepted_by=claim.accepted_by,
        )
        out.append(WaiverStatus(claim, "unused", "no finding of this check needed it", waiver))
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
