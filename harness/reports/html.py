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
from html import escape
from typing import Any

from harness.reports import view

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

CSS = """
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#dadce0;--bg:#fff;--red:#b3261e;--amber:#8a5a00;--green:#1e6b34;
--blue:#174ea6;--grey:#6b6b6b}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);
margin:0 auto;max-width:1100px;padding:1rem 1.5rem 4rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:2px solid var(--line)}
h3{font-size:1rem;margin:1rem 0 .3rem}h4{font-size:.95rem;margin:.8rem 0 .2rem}
.banner{border:2px solid var(--line);border-radius:10px;padding:1rem 1.2rem;margin:1rem 0}
.banner.g-fail{border-color:var(--red)}.banner.g-undetermined{border-color:var(--amber)}
.banner.g-pass,.banner.g-distinction{border-color:var(--green)}
.grade{font-size:2rem;font-weight:700;letter-spacing:.05em}
.flag{display:inline-block;border:2px solid currentColor;border-radius:4px;padding:0 .4rem;margin-left:.5rem;
font-weight:700;font-size:.85rem;vertical-align:middle}
.incomplete{color:var(--amber)}.provisional{color:var(--blue)}
.muted{color:var(--muted)}.small{font-size:.85rem}
.tally span{margin-right:1rem;white-space:nowrap}
details.crit{border:1px solid var(--line);border-left-width:6px;border-radius:6px;margin:.5rem 0;padding:.3rem .8rem}
details.crit>summary{cursor:pointer;font-weight:600;list-style:none;display:flex;gap:.6rem;align-items:baseline}
details.crit>summary::-webkit-details-marker{display:none}
details.crit>summary::before{content:"▸";flex:0 0 auto;color:var(--muted)}
details.crit[open]>summary::before{content:"▾"}
.ctitle{flex:1 1 auto;min-width:0}
.s-not_met{border-left-color:var(--red)!important}.s-undetermined{border-left-color:var(--amber)!important}
.s-assessor{border-left-color:var(--blue)!important}.s-met{border-left-color:var(--green)!important}
.s-out_of_scope{border-left-color:var(--grey)!important}
details.s-undetermined{border-left-style:dashed}details.s-assessor{border-left-style:double}
details.s-out_of_scope{border-left-style:dotted}
.badge{flex:0 0 11.2rem;display:inline-block;font-weight:700;font-size:.8rem;text-transform:uppercase;
border:2px solid transparent;border-radius:4px;padding:0 .35rem;white-space:nowrap}
.badge.b-not_met{border-color:currentColor}.badge.b-undetermined{border-color:currentColor;border-style:dashed}
.b-not_met,.o-fail{color:var(--red)}.b-undetermined,.o-could_not_check{color:var(--amber)}
.b-assessor,.o-manual{color:var(--blue)}.b-met,.o-pass{color:var(--green)}
.b-out_of_scope,.o-not_applicable{color:var(--grey)}.o-warn{color:#8e24aa}
blockquote{margin:.4rem 0;padding:.2rem .8rem;border-left:3px solid var(--line);color:var(--muted)}
.check{margin:.8rem 0 0;padding-top:.2rem;border-top:1px solid var(--line)}
.check>h4{margin:.3rem 0 .1rem}
.finding{border-top:1px dotted var(--line);padding:.4rem 0;overflow-wrap:anywhere}
.outcome{font-weight:700;font-size:.8rem;text-transform:uppercase;margin-right:.4rem;white-space:nowrap}
.outcome.o-could_not_check{border:1px dashed currentColor;border-radius:3px;padding:0 .25rem}
.fix{margin:.3rem 0}
.waiver{border:1px dashed var(--blue);border-radius:4px;padding:.3rem .6rem;margin:.3rem 0}
.evidence{margin:.3rem 0 .3rem 1rem;padding-left:.6rem;border-left:2px solid var(--line)}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:4px;padding:.4rem .5rem;margin:.2rem 0;overflow:auto;
max-height:24rem;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8rem}
code{font-size:.85rem;overflow-wrap:anywhere}
dl.kv{display:grid;grid-template-columns:minmax(0,max-content) minmax(0,1fr);gap:.1rem .8rem;margin:.3rem 0}
dl.kv dt{color:var(--muted);overflow-wrap:anywhere}dl.kv dd{margin:0;min-width:0;overflow-wrap:anywhere}
table.glance{margin:.5rem 0 1rem}@media print,(min-width:900px){table.glance th{white-space:nowrap}}
table.glance td:first-child{white-space:nowrap;font-weight:600}
table.glance a{color:inherit}table.glance td a{margin-right:.5rem;white-space:nowrap}
table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{border-bottom:1px solid var(--line);
text-align:left;padding:.25rem .4rem;vertical-align:top}
.assessor{background:#f3f6fc;border-radius:4px;padding:.3rem .8rem;margin:.5rem 0}
.toolbar{margin:.5rem 0}.toolbar button{margin-right:.5rem}
@media print{
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{max-width:none;padding:0;font-size:10.5pt}
.toolbar{display:none}
a{color:inherit;text-decoration:none}
details.crit{break-inside:auto}
details::details-content{content-visibility:visible;display:block}
details>summary{list-style:none}
details.crit>summary::before,details.crit[open]>summary::before{content:none;display:none}
h2,h3,h4,summary,.check>h4+div,.evidence>div:first-child{break-after:avoid}
pre{max-height:none;overflow:visible}
.evidence,.waiver,.fix,.banner,tr{break-inside:avoid}
}
"""

# Progressive enhancement only: the report is complete without it. It never parses
# or inserts data; it toggles <details> and labels buttons with textContent.
JS = """
(function(){
  var all=function(){return document.querySelectorAll('details');};
  var bar=document.getElementById('toolbar');
  [['Expand all',true],['Collapse all',false]].forEach(function(p){
    var b=document.createElement('button');b.type='button';b.textContent=p[0];
    b.addEventListener('click',function(){all().forEach(function(d){d.open=p[1];});});
    bar.appendChild(b);
  });
  var before=[];
  window.addEventListener('beforeprint',function(){before=[];all().forEach(function(d){before.push(d.open);d.open=true;});});
  window.addEventListener('afterprint',function(){all().forEach(function(d,i){if(i<before.length){d.open=before[i];}});});
})();
"""


def _e(value: Any) -> str:
    # Control characters (terminal escapes in command output) are shown as \xNN, never passed through.
    return escape(view.printable("" if value is None else str(value)), quote=True)


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
        f"{incomplete}{provisional}<p class='tally'>{tally}</p>"
        + _kv(
            [
                ("gate", f"{_e(run.get('gate'))}: <strong>{gate}</strong>"),
                ("project", f"{_e(target.get('name'))} <code>{_e(target.get('repo'))}</code>"),
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
        "<h2>Waivers</h2><table><tr><th>status</th><th>check</th><th>justification</th><th>approver</th>"
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
        "<details><summary><h2 style='display:inline'>Checks run</h2></summary><table><tr><th>check</th>"
        f"<th>outcome</th><th>status</th><th>findings</th><th>seconds</th><th>what it shows</th></tr>{rows}"
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
        f"{_banner(doc)}{_glance(themes, names)}<div class='toolbar' id='toolbar'></div>"
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
