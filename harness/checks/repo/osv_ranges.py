"""OSV affected ranges, evaluated as the OSV schema's `IsVulnerable` pseudocode says.

A range is a timeline of events sorted by version: `introduced` opens it, `fixed` closes it
(that version is safe), `last_affected` closes it after that version, and `limit` events bound
the whole range (a version at or above every limit is outside it). SEMVER ranges compare by
SemVer 2.0 precedence; ECOSYSTEM ranges by the ecosystem's own order (PEP 440 for PyPI,
SemVer for npm). A version that cannot be ordered is not claimed to be affected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import semver
from packaging.version import InvalidVersion, Version

Key = Callable[[str], Any]
KINDS = ("introduced", "fixed", "last_affected", "limit")


def _pep440(v: str) -> Any:
    return Version(v)


def _semver(v: str) -> Any:
    return semver.Version.parse(v.removeprefix("v"))


def order(range_type: str, ecosystem: str) -> Key:
    """How versions of one range compare: raises ValueError on a version it cannot order."""
    if range_type == "SEMVER" or ecosystem == "npm":
        return _semver
    return _pep440


@dataclass
class OsvRange:
    type: str  # SEMVER or ECOSYSTEM
    ecosystem: str
    events: list[tuple[str, str]] = field(default_factory=list)  # (kind, version) as listed

    @classmethod
    def parse(cls, rng: dict[str, Any], ecosystem: str) -> OsvRange | None:
        if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
            return None  # GIT ranges need the package's commit graph
        out = cls(str(rng["type"]), ecosystem)
        for ev in rng.get("events") or []:
            if isinstance(ev, dict):
                out.events += [(k, str(ev[k])) for k in KINDS if k in ev]
        return out if any(k == "introduced" for k, _ in out.events) else None

    def fixes(self) -> list[str]:
        return [v for k, v in self.events if k == "fixed"]

    def affects(self, version: str) -> bool:
        key = order(self.type, self.ecosystem)
        try:
            v = key(version)
            limits = [x for k, x in self.events if k == "limit"]
            if limits and not any("*" in x or v < key(x) for x in limits):
                return False
            # "0" sorts before every version; limit events only bound the range (checked above).
            timeline = [(k, None if (k, x) == ("introduced", "0") else key(x)) for k, x in self.events if k != "limit"]
        except (InvalidVersion, ValueError, TypeError):
            return False
        timeline.sort(key=_sort_key)
        vulnerable = False
        for kind, at in timeline:
            if kind == "introduced" and (at is None or v >= at):
                vulnerable = True
            elif (kind == "fixed" and v >= at) or (kind == "last_affected" and v > at):
                vulnerable = False
        return vulnerable


class _Zero:
    """Sorts before every version (OSV's introduced "0")."""

    def __lt__(self, other: object) -> bool:
        return not isinstance(other, _Zero)

    def __gt__(self, other: object) -> bool:
        return False


def _sort_key(event: tuple[str, Any]) -> Any:
    kind, at = event
    return _Key(_Zero() if at is None else at, kind)


@dataclass
class _Key:
    at: Any
    kind: str

    def __lt__(self, other: _Key) -> bool:
        if isinstance(self.at, _Zero) or isinstance(other.at, _Zero):
            return bool(self.at < other.at)
        if self.at != other.at:
            return bool(self.at < other.at)
        # At one version, an opening event comes before the one that closes it.
        return self.kind == "introduced" and other.kind != "introduced"
