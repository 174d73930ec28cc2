"""The evidence model shared by probes, checks, grading and reports.

Findings are plain data: every report renders them and `harness report` rebuilds
them from saved JSON, so everything here round-trips through `to_dict`/`from_dict`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

EXCERPT_LIMIT = 4000  # characters of any excerpt kept in a report


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    NOT_APPLICABLE = "not_applicable"
    COULD_NOT_CHECK = "could_not_check"
    MANUAL = "manual"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Outcome.PASS: "pass",
    Outcome.FAIL: "fail",
    Outcome.WARN: "warn",
    Outcome.NOT_APPLICABLE: "not applicable",
    Outcome.COULD_NOT_CHECK: "could not check",
    Outcome.MANUAL: "manual",
}

# Worst first: the outcome of a check is the worst of its findings' outcomes.
# Could-not-check ranks just below fail so that missing data can never be
# hidden behind a pass, yet a real failure is never masked by missing data.
SEVERITY_ORDER = [
    Outcome.FAIL,
    Outcome.COULD_NOT_CHECK,
    Outcome.WARN,
    Outcome.MANUAL,
    Outcome.PASS,
    Outcome.NOT_APPLICABLE,
]


def worst(outcomes: list[Outcome]) -> Outcome:
    """The worst outcome; an empty list is could-not-check (no data is no verdict)."""
    if not outcomes:
        return Outcome.COULD_NOT_CHECK
    return min(outcomes, key=SEVERITY_ORDER.index)


def clip(text: str | None, limit: int = EXCERPT_LIMIT) -> str | None:
    if text is None:
        return None
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [{len(text) - limit} more characters cut]"


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


@dataclass
class Evidence:
    """One piece of evidence. `kind` says which of the optional fields matter.

    kinds: file, commit, command, http, certificate, metric, timing, note.
    """

    kind: str
    summary: str
    path: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    commit: str | None = None
    url: str | None = None
    command: list[str] | None = None
    excerpt: str | None = None
    timestamp: str | None = None
    sha256: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.excerpt = clip(self.excerpt)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "summary": self.summary}
        for name in (
            "path",
            "start_line",
            "end_line",
            "commit",
            "url",
            "command",
            "excerpt",
            "timestamp",
            "sha256",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.data:
            out["data"] = self.data
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Evidence:
        return cls(**{k: v for k, v in raw.items() if k in _EVIDENCE_FIELDS})


_EVIDENCE_FIELDS = set(Evidence.__dataclass_fields__)


@dataclass
class Waiver:
    check_id: str
    justification: str
    approver: str
    expires: str  # ISO date
    source: str = ""  # where the waiver was declared
    accepted_by: str = ""  # who accepted it: the operator, and through which setting

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "justification": self.justification,
            "approver": self.approver,
            "expires": self.expires,
            "source": self.source,
            "accepted_by": self.accepted_by,
        }


@dataclass
class Finding:
    """What a check concluded about one thing, with why, evidence and how to fix it."""

    check_id: str
    outcome: Outcome
    reason: str
    evidence: list[Evidence] = field(default_factory=list)
    remediation: str | None = None
    subject: str | None = None  # what the finding is about (a file, a URL, a rule)
    waiver: Waiver | None = None

    @property
    def counts_against(self) -> bool:
        """Waived findings keep their outcome but stop counting against the grade."""
        return self.waiver is None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "check_id": self.check_id,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
            "remediation": self.remediation,
        }
        if self.subject is not None:
            out["subject"] = self.subject
        out["waived"] = self.waiver is not None
        if self.waiver is not None:
            out["waiver"] = self.waiver.to_dict()
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Finding:
        waiver = raw.get("waiver")
        return cls(
            check_id=raw["check_id"],
            outcome=Outcome(raw["outcome"]),
            reason=raw["reason"],
            evidence=[Evidence.from_dict(e) for e in raw.get("evidence", [])],
            remediation=raw.get("remediation"),
            subject=raw.get("subject"),
            waiver=Waiver(**waiver) if waiver else None,
        )
