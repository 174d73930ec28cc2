"""Self-contained HTML report, Lighthouse-style: grade banner, then each theme's criteria, worst first.

Rendered on the server with html.escape, so it reads with JavaScript disabled;
the small inline script only adds expand/collapse buttons and opens everything
for printing, and never writes data as markup. No external assets, no links out
(target URLs appear as text), and a Content-Security-Policy forbidding any fetch.
The run document is embedded as JSON with `<`, `>` and `&` escaped, so nothing in
it can close the script block.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from harness.reports import view
from harness.reports.html_parts import CSS, JS, commit_line, contents, ksb_backing, submission_note
from harness.reports.html_parts import esc as _e

FILENAME = "harness-report.html"
OPEN_STATUSES = {"not_met", "undetermined"}  # expanded; the rest start collapsed
SYMBOL = {"not_met": "✘", "undetermined": "?", "assessor": "…", "met": "✔", "out_of_scope": "–"}
OUTCOME_SYMBOL = {
    "fail": "✘",
    "could_not_check": "?",
    "warn": "!",
    "manual": "…",
    "pass": "✔",
    "not_applicable": "–",
}


def embed_json(doc: dict[str, Any]) -> str:
    """JSON safe inside <script>: no `<`, `>` or `&` survive, so `</script>` and `<!--` cannot appear."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _kv(pairs: list[tuple[str, str]]) -> str:
    """A definition list of already-escaped values."""
    if not pairs:
        return ""
    return '<dl class="kv">' + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def _evidence(ev: dict[str, Any]) -> str:
    pairs: list[tuple[str, str]] = []
    where = view.location(ev) if ev.get("path") else None
    if where:
        pairs.append(("file", f"<code>{_e(where)}</code>"))
    if ev.get("url"):
        pairs.append(("URL", f"<code>{_e(ev['url'])}</code>"))  # text, never a link: the report makes no requests
    if ev.get("commit"):
        pairs.append(("commit", f"<code>{_e(ev['commit'])}</code>"))
    if ev.get("command"):
        cmd = ev["command"]
        shown = shlex.join(str(c) for c in cmd) if isinstance(cmd, list) else str(cmd)
        pairs.append(("command", f"<code>{_e(shown)}</code>"))
    if ev.get("timestamp"):
        pairs.append(("time", _e(ev["timestamp"])))
    if ev.get("sha256"):
        pairs.append(("sha256", f"<code>{_e(ev['sha256'])}</code>"))
    for key, value in (ev.get("data") or {}).items():
        shown = "—" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        pairs.append((str(key), _e(view.first_line(shown, 300))))
    label = "output excerpt" if ev.get("command") else "response excerpt" if ev.get("url") else "excerpt"
    text = str(ev.get("excerpt") or "").strip("\n")
    excerpt = f'<div class="small muted">{label}</div><pre>{_e(text)}</pre>' if text else ""
    return (
        f'<div class="evidence"><div><span class="muted small">{_e(ev.get("kind", "note"))}</span> '
        f"{_e(ev.get('summary', ''))}</div>{_kv(pairs)}{excerpt}</div>"
    )


def _waiver(w: dict[str, Any]) -> str:
    return (
        f'<div class="waiver"><strong>WAIVED</strong> — {_e(w.get("justification"))}'
        f'<div class="small muted">approved by {_e(w.get("approver"))}, expires {_e(w.get("expires"))}'
        f"{', declared in ' + _e(w.get('source')) if w.get('source') else ''}"
        f"{', accepted by ' + _e(w.get('accepted_by')) if w.get('accepted_by') else ''}</div></div>"
    )


def _finding(f: dict[str, Any], show_fix: bool = True) -> str:
    outcome = str(f.get("outcome", ""))
    parts = [
        f'<div class="finding"><span class="outcome o-{_e(outcome)}">{OUTCOME_SYMBOL.get(outcome, "")} '
        f"{_e(view.outcome_label(outcome))}</span>{_e(f.get('reason'))}"
    ]
    if f.get("subject"):
        parts.append(f' <span class="muted small">({_e(f["subject"])})</span>')
    parts += [_evidence(ev) for ev in f.get("evidence", [])]
    if show_fix and f.get("remediation") and outcome not in ("pass", "not_applicable"):
        parts.append(f'<div class="fix"><strong>How to fix:</strong> {_e(f["remediation"])}</div>')
    if f.get("waiver"):
        parts.append(_waiver(f["waiver"]))
    parts.append("</div>")
    return "".join(parts)


def _check_block(cid: str, check: dict[str, Any] | None, not_run: set[str], scope: str) -> str:
    if check is None:
        if cid in not_run:  # in scope but never ran (interrupted run, crash): it holds the criterion back
            return (
                f'<div class="check"><h4><span class="outcome o-could_not_check">? not run</span>'
                f"<code>{_e(cid)}</code> — did not run in this run, so it counts as could-not-check</h4></div>"
            )
        return (
            f'<div class="check"><h4><span class="outcome o-not_applicable">– not run</span>'
            f"<code>{_e(cid)}</code> — outside this run's scope ({_e(scope or '?')})</h4></div>"
        )
    outcome = str(check.get("outcome", ""))
    title = check.get("failure_title") if outcome in ("fail", "warn") else check.get("title")
    status = check.get("status", "finished")
    status_note = (
        f' <span class="o-could_not_check">[{_e(status.replace("_", " "))}]</span>' if status != "finished" else ""
    )
    findings = sorted(check.get("findings", []), key=lambda f: view.outcome_rank(f.get("outcome", "")))
    # One remediation repeated under every finding (e.g. each bandit hit) is said once, after them.
    fixes = [f.get("remediation") for f in findings if f.get("outcome") not in ("pass", "not_applicable")]
    shared = fixes[0] if len(fixes) > 1 and fixes[0] and all(x == fixes[0] for x in fixes) else None
    tail = (
        f'<div class="fix"><strong>How to fix:</strong> {_e(shared)} '
        f'<span class="muted small">(applies to each of the {len(fixes)} findings above)</span></div>'
        if shared
        else ""
    )
    return (
        f'<div class="check"><h4><span class="outcome o-{_e(outcome)}">{OUTCOME_SYMBOL.get(outcome, "")} '
        f"{_e(view.outcome_label(outcome))}</span><code>{_e(cid)}</code> — {_e(title)}{status_note}</h4>"
        f'<div class="small muted">{_e(check.get("proves"))} ({float(check.get("duration_s", 0) or 0):.2f} s)</div>'
        + "".join(_finding(f, show_fix=shared is None) for f in findings)
        + tail
        + "</div>"
    )


def _criterion(crit: dict[str, Any], checks: dict[str, dict[str, Any]], scope: str = "") -> str:
    status = crit["status"]
    level = " (Distinction)" if crit.get("level") == "distinction" else ""
    is_open = " open" if status in OPEN_STATUSES else ""
    head = (
        f'<details class="crit s-{_e(status)}" id="crit-{_e(crit["id"])}"{is_open}><summary>'
        f'<span class="badge b-{_e(status)}">{SYMBOL.get(status, "")} {_e(view.criterion_label(crit))}</span>'
        f"<span class='ctitle'>{_e(crit['id'])}{level}: {_e(view.first_line(crit.get('text'), 160))}</span></summary>"
    )
    meta = _kv(
        [
            ("KSBs", _e(", ".join(crit.get("ksbs", [])))),
            ("assessment", _e(crit.get("assessment"))),
            ("evidenced by", _e(", ".join(crit.get("evidenced_by", [])))),
            ("verdict", _e(crit.get("reason"))),
            *([("partial run", _e(view.partial_note(crit)))] if view.is_partial(crit) else []),
        ]
    )
    body = [head, f"<blockquote>{_e(crit.get('text'))}</blockquote>", meta]
    held = crit.get("held_back_by", [])
    if held:
        items = "".join(
            f'<li><span class="o-{_e(r.get("outcome"))}">{OUTCOME_SYMBOL.get(str(r.get("outcome")), "")} '
            f"{_e(view.outcome_label(str(r.get('outcome', ''))))}</span> "
            f"<code>{_e(r.get('check_id'))}</code>: {_e(r.get('reason'))}</li>"
            for r in held
        )
        body.append(f"<h3>Held back by</h3><ul>{items}</ul>")
    if crit.get("checks"):
        body.append("<h3>Pre-filled evidence</h3>" if status == "assessor" else "<h3>Findings</h3>")

        def rank(cid: str) -> int:  # worst check first; a check that did not run counts as could-not-check
            return view.outcome_rank(checks.get(cid, {}).get("outcome", "could_not_check"))

        not_run = {str(r.get("check_id")) for r in held if r.get("check_id") not in checks}
        body += [_check_block(cid, checks.get(cid), not_run, scope) for cid in sorted(crit["checks"], key=rank)]
    extra = [cid for cid in crit.get("evidence_only", []) if cid in checks]
    if extra:  # attached to the criterion, never graded (catalogue `evidence_only`)
        body.append("<h3>Evidence, not graded</h3>")
        body += [_check_block(cid, checks[cid], set(), scope) for cid in extra]
    questions = "".join(f"<li>{_e(q)}</li>" for q in crit.get("questions", []))
    body.append(
        '<div class="assessor"><h3>For the assessor</h3>'
        f"<p><strong>Look at:</strong> {_e(crit.get('look_at') or '—')}</p>"
        + (f"<p><strong>Questions:</strong></p><ol>{questions}</ol>" if questions else "")
        + "</div></details>"
    )
    return "".join(body)


def _banner(doc: dict[str, Any]) -> str:
    grade, run = doc["grade"], doc["run"]
    value = str(grade.get("value", "?"))
    target = run.get("target", {})
    flags = ""
    if grade.get("provisional"):
        flags += '<span class="flag provisional">PROVISIONAL</span>'
    if not run.get("complete", False):
        flags += '<span class="flag incomplete">INCOMPLETE RUN</span>'
    incomplete = (
        '<p class="incomplete"><strong>Incomplete run:</strong> '
        f"interrupted by {_e(run.get('interrupted_by') or 'a stop')};"
        " checks that did not run count as could-not-check, and the gate is not reached.</p>"
        if not run.get("complete", False)
        else ""
    )
    provisional = (
        f'<p class="provisional">Provisional: {len(grade.get("awaiting_assessor", []))} criteria await the assessor'
        " and are decided at the assessment, not by this report."
        + (
            f" {len(grade['partial'])} criteria are met only on the checks that ran: {_e(', '.join(grade['partial']))}."
            if grade.get("partial")
            else ""
        )
        + "</p>"
        if grade.get("provisional")
        else ""
    )
    counts = {s: sum(1 for c in doc["criteria"] if c["status"] == s) for s in view.STATUS_ORDER}
    tally = "".join(
        f'<span class="b-{s}">{SYMBOL[s]} {n} {_e(view.status_label(s))}</span>' for s, n in counts.items() if n
    )
    gate = "reached" if run.get("gate_reached") else "NOT reached"
    urls = ", ".join(f"<code>{_e(u)}</code>" for u in target.get("urls", []))
    return (
        f'<section class="banner g-{_e(value)}"><div class="small muted">AM1 grade</div>'
        f'<div class="grade">{_e(value.upper())}{flags}</div><p>{_e(grade.get("summary"))}</p>'
        f"{submission_note(doc)}{incomplete}{provisional}<p class='tally'>{tally}</p>"
        + _kv(
            [
                ("gate", f"{_e(run.get('gate'))}: <strong>{gate}</strong>"),
                ("project", f"{_e(target.get('name'))} <code>{_e(target.get('repo'))}</code>"),
                *commit_line(doc),
                *([("URLs", urls)] if urls else []),
                ("run", f"{_e(run.get('started'))} → {_e(run.get('finished'))} ({_e(run.get('duration_s'))} s)"),
                *[("where from" if i == 0 else "", _e(line)) for i, line in enumerate(view.provenance_lines(doc))],
            ]
        )
        + "</section>"
    )


def _glance(themes: list[tuple[str, list[dict[str, Any]]]], names: dict[str, str]) -> str:
    """Every criterion's status on one screen (and the first printed page): a theme per row, a status per column."""
    present = [s for s in view.STATUS_ORDER if any(c["status"] == s for _, crits in themes for c in crits)]
    head = "".join(f'<th class="b-{s}">{SYMBOL.get(s, "")} {_e(view.status_label(s))}</th>' for s in present)
    rows = "".join(
        f'<tr><td><a href="#theme-{_e(tid)}">{_e(names.get(tid, tid))}</a></td>'
        + "".join(
            "<td>"
            + "".join(f'<a href="#crit-{_e(c["id"])}">{_e(c["id"])}</a>' for c in crits if c["status"] == s)
            + "</td>"
            for s in present
        )
        + "</tr>"
        for tid, crits in themes
    )
    return f'<nav><table class="glance"><tr><th>theme</th>{head}</tr>{rows}</table></nav>'


def _waivers(doc: dict[str, Any]) -> str:
    rows = doc.get("waivers", [])
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{_e(w.get('status'))}</td><td><code>{_e(w.get('check'))}</code></td>"
        f"<td>{_e(w.get('justification'))}</td><td>{_e(w.get('approver'))}</td><td>{_e(w.get('expires'))}</td>"
        f"<td>{_e(w.get('origin', ''))}: {_e(w.get('accepted_by') or 'not accepted')}</td>"
        f"<td>{_e(w.get('reason'))}</td></tr>"
        for w in rows
    )
    return (
        "<h2 id='waivers'>Waivers</h2><table><tr><th>status</th><th>check</th><th>justification</th><th>approver</th>"
        f"<th>expires</th><th>declared by: accepted by</th><th>note</th></tr>{body}</table>"
    )


def _checks_table(doc: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(c['id'])}</code></td><td class='o-{_e(c.get('outcome'))}'>"
        f"{_e(view.outcome_label(str(c.get('outcome', ''))))}</td><td>{_e(c.get('status'))}</td>"
        f"<td>{len(c.get('findings', []))}</td><td>{float(c.get('duration_s', 0) or 0):.2f}</td>"
        f"<td>{_e(c.get('title'))}</td></tr>"
        for c in doc["checks"]
    )
    return (
        "<details id='checks-run'><summary><h2 style='display:inline'>Checks run</h2></summary><table>"
        "<tr><th>check</th><th>outcome</th><th>status</th><th>findings</th><th>seconds</th><th>what it shows</th></tr>"
        f"{rows}"
        "</table></details>"
    )


def render(doc: dict[str, Any]) -> str:
    checks = view.checks_by_id(doc)
    names = view.theme_names(doc)
    themes = view.themes_in_order(doc)
    sections = []
    for tid, crits in themes:
        sections.append(f'<section id="theme-{_e(tid)}"><h2>{_e(names.get(tid, tid))}</h2>')
        sections += [_criterion(c, checks, str(doc["run"].get("scope") or "")) for c in crits]
        sections.append("</section>")
    cat, tool, run = doc.get("catalogue", {}), doc.get("tool", {}), doc["run"]
    title = f"harness: {run.get('target', {}).get('name', '')} — {str(doc['grade'].get('value', '')).upper()}"
    page = (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'\">"
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{_e(cat.get('standard', 'ST0825'))} AM1 verification — {_e(run.get('target', {}).get('name'))}</h1>"
        f"{_banner(doc)}{_glance(themes, names)}{ksb_backing(doc)}{contents(themes, names, bool(doc.get('waivers')))}"
        "<div class='toolbar' id='toolbar'></div>"
        + "".join(sections)
        + _waivers(doc)
        + _checks_table(doc)
        + f"<footer class='small muted'><p>harness {_e(tool.get('version'))}, report schema "
        f"{_e(doc.get('schema_version'))}, catalogue {_e(cat.get('version'))}: {_e(cat.get('source'))}. "
        f"Host {_e(run.get('host'))}.</p></footer>"
        f'<script type="application/json" id="harness-run">{embed_json(doc)}</script>'
        f"<script>{JS}</script></body></html>\n"
    )
    return view.utf8_safe(page)
