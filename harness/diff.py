"""What changed between two saved runs: criteria newly met or not met, findings new, resolved or changed.

Findings are matched by a fingerprint that survives rewording and unrelated edits: the check id,
the finding's subject and where its evidence points (file paths and URLs, without line numbers or
commits, which move with every commit). Two findings of one check with the same fingerprint are
told apart by their order. Rendering is in `harness.reports.diff_render`.
"""

from __future__ import annotations

from typing import Any

from harness.grading import GRADE_ORDER, MET, NOT_MET, OUT_OF_SCOPE
from harness.reports import view

DIFF_SCHEMA = "harness-diff/1"


def fingerprint(finding: dict[str, Any]) -> str:
    places = sorted(
        {str(ev.get("path") or ev.get("url")) for ev in finding.get("evidence", []) if ev.get("path") or ev.get("url")}
    )
    return "|".join([str(finding.get("check_id", "?")), str(finding.get("subject") or ""), ",".join(places)])


def fingerprinted(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """fingerprint -> finding; a repeated fingerprint gets "#2", "#3" in document order."""
    out: dict[str, dict[str, Any]] = {}
    for _check, f in view.iter_findings(doc):
        base = key = fingerprint(f)
        n = 1
        while key in out:
            n += 1
            key = f"{base}#{n}"
        out[key] = f
    return out


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    run = doc.get("run", {})
    return {
        "started": run.get("started"),
        "target": run.get("target", {}).get("name"),
        "grade": doc.get("grade", {}).get("value"),
        "complete": run.get("complete"),
    }


def _brief(key: str, f: dict[str, Any]) -> dict[str, Any]:
    return {
        "fingerprint": key,
        "check_id": f.get("check_id"),
        "outcome": f.get("outcome"),
        "reason": f.get("reason"),
        "locations": view.locations(f),
    }


def _grade_rank(value: Any) -> int:
    return GRADE_ORDER.index(value) if value in GRADE_ORDER else -1


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The diff document (JSON-able). `regressed`: a criterion met before is not met now, or the grade fell."""
    before = {c["id"]: c for c in old.get("criteria", [])}
    after = {c["id"]: c for c in new.get("criteria", [])}
    newly_met, newly_not_met, changed, unchanged, lost = [], [], [], [], []
    for cid in list(after) + [c for c in before if c not in after]:
        was = before.get(cid, {}).get("status", "absent")
        now = after.get(cid, {}).get("status", "absent")
        if was == now:
            unchanged.append(cid)
            continue
        entry = {"id": cid, "old": was, "new": now}
        if now == MET:
            newly_met.append(entry)
        elif now == NOT_MET:
            newly_not_met.append(entry)
        else:
            changed.append(entry)
        if was == MET and now != OUT_OF_SCOPE:  # leaving the scope is not a regression: it was not checked
            lost.append(cid)
    old_f, new_f = fingerprinted(old), fingerprinted(new)
    findings_changed = [
        {
            "fingerprint": key,
            "check_id": f.get("check_id"),
            "old_outcome": old_f[key].get("outcome"),
            "new_outcome": f.get("outcome"),
            "old_reason": old_f[key].get("reason"),
            "new_reason": f.get("reason"),
        }
        for key, f in new_f.items()
        if key in old_f
        and (f.get("outcome"), f.get("reason"), bool(f.get("waived")))
        != (old_f[key].get("outcome"), old_f[key].get("reason"), bool(old_f[key].get("waived")))
    ]
    grade_fell = _grade_rank(new.get("grade", {}).get("value")) < _grade_rank(old.get("grade", {}).get("value"))
    return {
        "schema": DIFF_SCHEMA,
        "old": _summary(old),
        "new": _summary(new),
        "regressed": bool(lost or newly_not_met or grade_fell),
        "no_longer_met": lost,
        "criteria": {
            "newly_met": newly_met,
            "newly_not_met": newly_not_met,
            "changed": changed,
            "unchanged": unchanged,
        },
        "findings": {
            "new": [_brief(k, f) for k, f in new_f.items() if k not in old_f],
            "resolved": [_brief(k, f) for k, f in old_f.items() if k not in new_f],
            "changed": findings_changed,
        },
    }
