"""Terminal report: criteria grouped by theme, failures first, then the grade line."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from harness.engine import CheckResult, ProgressFn

STATUS_ORDER = ["not_met", "undetermined", "assessor", "met", "out_of_scope"]
STATUS_LABEL = {
    "not_met": "NOT MET",
    "undetermined": "COULD NOT CHECK",
    "assessor": "ASSESSOR",
    "met": "MET",
    "out_of_scope": "OUT OF SCOPE",
}


def render(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    checks = {c["id"]: c for c in doc["checks"]}
    themes = {t["id"]: t["name"] for t in doc["catalogue"].get("themes", [])}
    by_theme: dict[str, list[dict[str, Any]]] = {}
    for crit in doc["criteria"]:
        by_theme.setdefault(crit["theme"], []).append(crit)

    def theme_rank(tid: str) -> int:
        return min(STATUS_ORDER.index(c["status"]) for c in by_theme[tid])

    for tid in sorted(by_theme, key=theme_rank):
        lines.append(f"\n{themes.get(tid, tid)}")
        for crit in sorted(by_theme[tid], key=lambda c: STATUS_ORDER.index(c["status"])):
            lvl = " (Distinction)" if crit["level"] == "distinction" else ""
            lines.append(f"  [{STATUS_LABEL[crit['status']]:>15}] {crit['id']}{lvl}: {crit['text'][:100]}")
            for ref in crit.get("held_back_by", [])[:5]:
                lines.append(f"      {ref['outcome']:>15}  {ref['check_id']}: {ref['reason']}")
            if crit["status"] == "assessor":
                for cid in crit.get("checks", []):
                    for f in checks.get(cid, {}).get("findings", [])[:3]:
                        lines.append(f"      evidence  {cid}: {f['reason']}")
    grade = doc["grade"]
    run = doc["run"]
    lines.append("")
    lines.append(f"GRADE: {grade['value'].upper()}  {grade['summary']}")
    if not run.get("complete", True):
        lines.append(f"INCOMPLETE: interrupted by {run.get('interrupted_by') or 'a stop'}")
    lines.append(f"gate {run.get('gate')}: {'reached' if run.get('gate_reached') else 'NOT reached'}")
    return "\n".join(lines) + "\n"


def show(doc: dict[str, Any]) -> None:
    sys.stdout.write(render(doc))
    sys.stdout.flush()


@contextlib.contextmanager
def progress(enabled: bool) -> Iterator[ProgressFn | None]:
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    done = [0]

    def update(event: str, result: CheckResult | None) -> None:
        if event == "done" and result is not None:
            done[0] += 1
            sys.stderr.write(f"\r{done[0]} checks finished, last: {result.check.meta.id:40}")
            sys.stderr.flush()

    try:
        yield update
    finally:
        sys.stderr.write("\r" + " " * 80 + "\r")
