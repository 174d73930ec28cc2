"""Read-only views over a run document shared by the renderers (no rendering here).

Every renderer takes only the run document, so these helpers tolerate optional
fields being absent: a document written by an older minor version still renders.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# Criterion statuses, worst first: reports lead with what needs attention.
STATUS_ORDER = ["not_met", "undetermined", "assessor", "met", "out_of_scope"]
STATUS_LABEL = {
    "not_met": "not met",
    "undetermined": "could not check",
    "assessor": "awaiting assessor",
    "met": "met",
    "out_of_scope": "out of scope",
}
# Finding outcomes, worst first (mirrors harness.model.SEVERITY_ORDER).
OUTCOME_ORDER = ["fail", "could_not_check", "warn", "manual", "pass", "not_applicable"]
OUTCOME_LABEL = {
    "fail": "fail",
    "warn": "warn",
    "could_not_check": "could not check",
    "manual": "manual",
    "pass": "pass",
    "not_applicable": "not applicable",
}


def status_rank(status: str) -> int:
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)


def outcome_rank(outcome: str) -> int:
    return OUTCOME_ORDER.index(outcome) if outcome in OUTCOME_ORDER else len(OUTCOME_ORDER)


def status_label(status: str) -> str:
    return STATUS_LABEL.get(status, status.replace("_", " "))


def is_partial(crit: dict[str, Any]) -> bool:
    """Met on the checks that ran only: some mapped checks were left out of the run (schema 1.1)."""
    return crit.get("status") == "met" and bool(crit.get("partial"))


def criterion_label(crit: dict[str, Any]) -> str:
    return "met on the checks that ran" if is_partial(crit) else status_label(str(crit.get("status", "")))


def partial_note(crit: dict[str, Any]) -> str:
    """One line naming the mapped checks that did not run, for a partially met criterion."""
    return "met on the checks that ran only; not run: " + ", ".join(crit.get("checks_not_run", []))


def outcome_label(outcome: str) -> str:
    return OUTCOME_LABEL.get(outcome, outcome.replace("_", " "))


def theme_names(doc: dict[str, Any]) -> dict[str, str]:
    return {t["id"]: t["name"] for t in doc.get("catalogue", {}).get("themes", [])}


def checks_by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in doc.get("checks", [])}


def criteria_by_check(doc: dict[str, Any]) -> dict[str, list[str]]:
    """check id -> ids of the criteria it evidences (the catalogue mapping, as saved)."""
    out: dict[str, list[str]] = {}
    for crit in doc.get("criteria", []):
        for cid in crit.get("checks", []):
            out.setdefault(cid, []).append(crit["id"])
    return out


def themes_in_order(doc: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(theme id, criteria) pairs: themes with the worst criterion first, criteria worst first.

    Ties keep catalogue order, so the report reads like the specification.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for tid in theme_names(doc):
        groups[tid] = []
    for crit in doc.get("criteria", []):
        groups.setdefault(crit.get("theme", "?"), []).append(crit)
    pairs = [(tid, sorted(crits, key=lambda c: status_rank(c["status"]))) for tid, crits in groups.items() if crits]
    return sorted(pairs, key=lambda p: status_rank(p[1][0]["status"]))


def criterion_findings(crit: dict[str, Any], checks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every finding of the criterion's mapped checks (and its evidence-only checks), worst first."""
    mapped = list(crit.get("checks", [])) + list(crit.get("evidence_only", []))
    found = [f for cid in mapped for f in checks.get(cid, {}).get("findings", [])]
    return sorted(found, key=lambda f: outcome_rank(f.get("outcome", "")))


def held_back_findings(crit: dict[str, Any], checks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings behind `held_back_by`, resolved to the full finding (with evidence) when saved.

    A reference to a check that never ran has no finding; the reference itself is returned.
    """
    out = []
    for ref in crit.get("held_back_by", []):
        candidates = checks.get(ref.get("check_id", ""), {}).get("findings", [])
        match = next(
            (
                f
                for f in candidates
                if f.get("reason") == ref.get("reason")
                and f.get("outcome") == ref.get("outcome")
                and f.get("subject") == ref.get("subject")
            ),
            None,
        )
        out.append(match or dict(ref, evidence=[]))
    return out


def waived_findings(crit: dict[str, Any], checks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in criterion_findings(crit, checks) if f.get("waived") or f.get("waiver")]


def location(ev: dict[str, Any]) -> str | None:
    """Where a piece of evidence points: path:start-end, a URL, or a commit; None if nowhere."""
    path = ev.get("path")
    if path:
        start, end = ev.get("start_line"), ev.get("end_line")
        if start and end and end != start:
            return f"{path}:{start}-{end}"
        return f"{path}:{start}" if start else str(path)
    if ev.get("url"):
        return str(ev["url"])
    if ev.get("commit"):
        return f"commit {str(ev['commit'])[:12]}"
    return None


def locations(finding: dict[str, Any]) -> list[str]:
    return [loc for ev in finding.get("evidence", []) if (loc := location(ev))]


def iter_findings(doc: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(check, finding) pairs in document order."""
    for check in doc.get("checks", []):
        for f in check.get("findings", []):
            yield check, f


# Controls, lone surrogates and bidirectional overrides/isolates (which can make text read
# differently from what it is, "Trojan Source").
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Control characters shown as escapes, so saved output cannot drive the reader's terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def utf8_safe(text: str) -> str:
    """Lone surrogates (undecodable bytes kept by surrogateescape) cannot be written as UTF-8: replace them."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def deep_printable(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {k: deep_printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_printable(v) for v in value]
    return value


def first_line(text: str | None, limit: int = 200) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def provenance_lines(doc: dict[str, Any]) -> list[str]:
    """Where the settings came from, what the project gave that was not taken, unaccepted waiver claims.

    Keys and sources only, never values (a value may be a secret's variable or a URL).
    """
    settings = doc.get("run", {}).get("settings")
    if not isinstance(settings, dict):
        return []  # a 1.0 document
    by_source: dict[str, list[str]] = {}
    for key, source in settings.get("sources", {}).items():
        by_source.setdefault(str(source), []).append(str(key))
    opt_ins = [
        f
        for f, on in (
            ("--trust-project", settings.get("trust_project")),
            ("--accept-waivers", settings.get("accept_waivers")),
        )
        if on
    ]
    lines = ["settings: " + "; ".join(f"{src}: {', '.join(keys)}" for src, keys in by_source.items())]
    if opt_ins:
        lines.append("operator opted in: " + ", ".join(opt_ins))
    ignored = settings.get("ignored_from_project", [])
    if ignored:
        shown = [f"{i.get('key')} ({str(i.get('reason', '')).split(':')[0]})" for i in ignored]
        lines.append("ignored from the project: " + ", ".join(shown))
    claims = [w for w in doc.get("waivers", []) if w.get("origin") == "project" and not w.get("accepted")]
    if claims:
        lines.append(
            f"waivers claimed by the project and not accepted: {len(claims)} (they waive nothing; "
            "the operator accepts them with --accept-waivers)"
        )
    return lines


def checkout_lines(doc: dict[str, Any]) -> list[str]:
    """One line per caveat about the checkout verified (shallow, uncommitted changes), for the summaries."""
    target = doc.get("run", {}).get("target", {})
    out: list[str] = []
    if target.get("shallow"):
        out.append(
            "shallow checkout: git history is incomplete, so history checks cannot judge it; "
            "fetch the full history (actions/checkout with `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`)"
        )
    count = target.get("changed_files") or 0
    if count:
        named = [str(p) for p in target.get("changed_sample", [])]
        more = f" and {count - len(named)} more" if count > len(named) else ""
        sample = ", ".join(named)
        out.append(
            f"uncommitted changes: {count} tracked file(s) differ from commit {str(target.get('commit', ''))[:12]} "
            f"({sample}{more}); harness judged the commit, not the working tree: commit them and run again"
        )
    return out
