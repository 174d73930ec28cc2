"""Markdown: the grade, a criterion table and the top fixes, for a CI job's step summary or a pull-request comment.

GitHub renders it (`$GITHUB_STEP_SUMMARY`, PR comments) and so does GitLab. Data strings are
escaped so a project's text cannot add markup, links or HTML to the summary.
"""

from __future__ import annotations

import re
from typing import Any

from harness.reports import view

FILENAME = "harness-summary.md"
TOP_FIXES = 10
CELL_LIMIT = 160
STATUS_MARK = {"not_met": "❌", "undetermined": "❔", "assessor": "🧑‍🏫", "met": "✅", "out_of_scope": "➖"}
_SPECIAL = re.compile(r"([\\`*\[\]|<>~])")  # enough to stop emphasis, links, tables and HTML


def _md(text: Any, limit: int = CELL_LIMIT) -> str:
    """One line of inert text: markdown and HTML characters escaped, control characters shown as escapes."""
    line = view.first_line(view.printable(str(text if text is not None else "")), limit)
    return _SPECIAL.sub(r"\\\1", line)


def _grade_lines(doc: dict[str, Any]) -> list[str]:
    grade, run = doc["grade"], doc["run"]
    value = str(grade.get("value", "?")).upper()
    flags = [" (provisional: the assessor decides the rest)" if grade.get("provisional") else ""]
    if not run.get("complete", False):
        flags.append(f" **INCOMPLETE RUN** (interrupted by {_md(run.get('interrupted_by') or 'a stop')})")
    reached = "reached" if run.get("gate_reached") else "**NOT reached**"
    target = run.get("target", {})
    return [
        f"## harness: AM1 grade **{value}**{''.join(flags)}",
        "",
        f"{_md(grade.get('summary', ''), 1000)}",
        "",
        f"Gate `{_md(run.get('gate', '?'))}`: {reached} · scope {_md(run.get('scope', '?'))} · "
        f"project {_md(target.get('name', '?'))}"
        + (f" at `{_md(target['commit'])[:12]}`" if target.get("commit") else ""),
    ]


def _criteria_table(doc: dict[str, Any]) -> list[str]:
    checks = view.checks_by_id(doc)
    names = view.theme_names(doc)
    rows = ["| | criterion | level | status | why |", "| --- | --- | --- | --- | --- |"]
    for tid, crits in view.themes_in_order(doc):
        for crit in crits:
            status = crit["status"]
            held = view.held_back_findings(crit, checks)
            why = "; ".join(f"{_md(f.get('check_id'))}: {_md(f.get('reason'), 100)}" for f in held[:2])
            rows.append(
                f"| {STATUS_MARK.get(status, '')} | **{_md(crit['id'])}** {_md(crit.get('text'), 90)} "
                f"({_md(names.get(tid, tid))}) | {_md(crit.get('level', ''))} | {view.status_label(status)} | "
                f"{why or _md(crit.get('reason', ''), 100)} |"
            )
    return rows


def _fixes(doc: dict[str, Any]) -> list[str]:
    """Each failing, could-not-check or warning finding's fix, worst first, once per check and remedy."""
    seen: set[str] = set()
    out: list[str] = []
    found = sorted(
        ((c, f) for c, f in view.iter_findings(doc) if f.get("outcome") in ("fail", "could_not_check", "warn")),
        key=lambda cf: view.outcome_rank(cf[1].get("outcome", "")),
    )
    for check, f in found:
        fix = f.get("remediation") or check.get("remediation")
        key = f"{f.get('check_id')}|{fix}"
        if f.get("waived") or not fix or key in seen:
            continue
        seen.add(key)
        where = view.locations(f)
        at = f" (at `{_md(where[0], 80)}`)" if where else ""
        out.append(
            f"{len(out) + 1}. **{_md(f.get('check_id'))}** ({view.outcome_label(f.get('outcome', ''))}): "
            f"{_md(f.get('reason'), 200)}{at}. Fix: {_md(fix, 300)}"
        )
        if len(out) >= TOP_FIXES:
            break
    return out


def render(doc: dict[str, Any]) -> str:
    lines = [*_grade_lines(doc), *(f"> ⚠️ {_md(n, 500)}" for n in view.checkout_lines(doc))]
    lines += ["", "### Criteria", "", *_criteria_table(doc)]
    fixes = _fixes(doc)
    if fixes:
        lines += ["", f"### Top fixes ({len(fixes)})", "", *fixes]
    notes = [n for n in view.provenance_lines(doc) if n.strip() != "settings:"]
    if notes:
        lines += [
            "",
            "<details><summary>settings</summary>",
            "",
            *(f"- {_md(n, 500)}" for n in notes),
            "",
            "</details>",
        ]
    lines += [
        "",
        f"<sub>harness {_md(doc.get('tool', {}).get('version', ''))}, catalogue "
        f"{_md(doc.get('catalogue', {}).get('version', ''))}</sub>",
    ]
    return view.utf8_safe("\n".join(lines) + "\n")
