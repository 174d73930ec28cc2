"""Fix first: the few actions that would move the grade most, computed from the run document.

No rendering here (the terminal report renders the list). An action is one finding that holds
back one or more criteria; a finding holding back several criteria is one action. Live checks
that could not run because nothing was configured are not actions: they collapse to the
settings that would let them run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.reports import view

# A live finding saying it had nothing to talk to ("live.urls is not set", "no base URL configured").
_UNCONFIGURED = re.compile(r"\b(?:is not set|are not set|not configured|no [\w ]+ configured|neither \S+ nor)\b")
# A configuration key (underscores, never the hyphens of a check id) or a flag named in such a reason.
_KEY = re.compile(r"(?<![\w.-])(live\.[a-z_]+(?:\.[a-z_]+)*)(?![\w-])|(?<![\w-])(--[a-z][a-z-]+)")
# Weight of one criterion held back: a Pass criterion blocks the grade itself.
LEVEL_WEIGHT = {"pass": 2.0, "distinction": 1.0}


@dataclass
class Action:
    check_id: str
    outcome: str
    reason: str
    remediation: str
    locations: list[str]
    criteria: list[str] = field(default_factory=list)
    weight: float = 0.0


@dataclass
class FixFirst:
    actions: list[Action]  # best first
    unconfigured_checks: list[str]  # live checks that did not run for want of a setting
    settings: list[str]  # the settings and flags those checks name
    total: int = 0  # actions in all, before the limit


def is_unconfigured(finding: dict[str, Any]) -> bool:
    return (
        str(finding.get("check_id", "")).startswith("live.")
        and finding.get("outcome") == "could_not_check"
        and bool(_UNCONFIGURED.search(str(finding.get("reason", ""))))
    )


def compute(doc: dict[str, Any], limit: int = 4) -> FixFirst:
    """Rank the findings holding back criteria (not met or could not check) by what fixing each would unblock.

    A criterion's weight is shared among the findings holding it back: fixing one of four moves it less
    than fixing its only blocker. Failures rank before could-not-check at equal weight.
    """
    checks = view.checks_by_id(doc)
    actions: dict[tuple[str, str, str, str], Action] = {}
    unconfigured: dict[str, None] = {}
    settings: dict[str, None] = {}
    for crit in doc.get("criteria", []):
        if crit.get("status") not in ("not_met", "undetermined"):
            continue
        held = [f for f in view.held_back_findings(crit, checks) if not (f.get("waived") or f.get("waiver"))]
        blocking = [f for f in held if not is_unconfigured(f)]
        for f in held:
            if is_unconfigured(f):
                unconfigured[str(f.get("check_id"))] = None
                for m in _KEY.finditer(str(f.get("reason", ""))):
                    settings[m.group(1) or m.group(2)] = None
        for f in blocking:
            key = (str(f.get("check_id")), str(f.get("subject")), str(f.get("outcome")), str(f.get("reason")))
            check = checks.get(key[0], {})
            action = actions.get(key)
            if action is None:
                action = actions[key] = Action(
                    check_id=key[0],
                    outcome=key[2],
                    reason=view.first_line(f.get("reason"), 1000),
                    remediation=view.first_line(f.get("remediation") or check.get("remediation"), 1000),
                    locations=view.locations(f),
                )
            if crit["id"] not in action.criteria:
                action.criteria.append(str(crit["id"]))
                action.weight += LEVEL_WEIGHT.get(str(crit.get("level")), 1.0) / len(blocking)
    ranked = sorted(actions.values(), key=lambda a: (-a.weight, view.outcome_rank(a.outcome), a.check_id, a.reason))
    return FixFirst(ranked[:limit], list(unconfigured), list(settings), total=len(ranked))
