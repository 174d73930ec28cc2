"""The assessor's sign-off sheet: a few printed A4 pages (the full evidence stays in the HTML report).

Header (candidate, project, remote, branch, commit, versions, run time), one row per criterion with
its status, key evidence and empty met / not met boxes, the 16 questions with room for notes, the AM1
grade as computed beside the assessor's decision, the AM2 grade as entered, the overall EPA grade by
the specification's table, and signature lines. Static HTML: no script, no external asset.
"""

from __future__ import annotations

from html import escape
from typing import Any

from harness import epa_grade, evidence_pack
from harness.reports import view

FILENAME = "harness-signoff.html"

CSS = """
@page{size:A4;margin:12mm 12mm 14mm;
@bottom-right{content:"page " counter(page) " of " counter(pages);font:8pt sans-serif}}
*{box-sizing:border-box}
body{font:8.5pt/1.3 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;margin:0 auto;max-width:190mm}
h1{font-size:13pt;margin:0 0 2mm}h2{break-after:avoid;font-size:10.5pt;margin:4mm 0 1.5mm;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #bbb;padding:.6mm 1.2mm;vertical-align:top;text-align:left}
th{background:#eee}tr{break-inside:avoid}code{font-size:8pt}
.hdr td{border:none;padding:.3mm 1.5mm .3mm 0}.hdr td:first-child{color:#555;white-space:nowrap;width:1%}
.box{display:inline-block;width:3.2mm;height:3.2mm;border:1px solid #333;vertical-align:middle;margin:0 .8mm 0 1.5mm}
.ev{color:#333;font-size:7.5pt;word-break:break-word}.st{font-weight:600}
.s-not_met{color:#b3261e}.s-undetermined{color:#8a5a00}.s-assessor{color:#174ea6}.s-met{color:#1e6b34}
table.cr{table-layout:fixed}.cr .crit{width:11%}.cr .st{width:11%}.cr .dec{width:16%}.notes{width:19%}
.dec{white-space:nowrap}.q td{height:8mm}
table.qs{table-layout:fixed}.qs .n{width:4%}.qs .crit{width:12%}.qs .notes{width:26%}
.grades td{height:8mm}.warn{color:#b3261e;font-weight:700}
.sign{break-inside:avoid}.sign td{border:none;padding-top:5mm;width:50%}
.line{border-bottom:1px solid #333;display:inline-block;width:60mm}
.muted{color:#555}
"""


# Beside the grades (page 1), so the decision and the signature are read together.
SIGNATURES = (
    "<table class='sign'><tr><td>Assessor: <span class='line'></span></td><td>Date: <span class='line'></span></td>"
    "</tr><tr><td>Signature: <span class='line'></span></td><td>Candidate: <span class='line'></span></td></tr></table>"
)


def _e(value: Any) -> str:
    return escape(view.printable("" if value is None else str(value)), quote=True)


def _header(doc: dict[str, Any], pack: dict[str, Any]) -> str:
    run, target = doc["run"], doc["run"].get("target", {})
    git = pack.get("target", {})
    rows = [
        ("candidate", run.get("candidate") or "…………………………………………"),
        ("project", f"{target.get('name', '')} ({target.get('repo', '')})"),
        ("remote", git.get("remote") or "none"),
        ("branch", git.get("branch") or "unknown"),
        ("commit", git.get("commit") or "unknown (not a git repository)"),
        (
            "versions",
            f"harness {doc.get('tool', {}).get('version', '')}, "
            f"catalogue {doc.get('catalogue', {}).get('version', '')}",
        ),
        (
            "run",
            f"{run.get('started', '')} → {run.get('finished', '')}, scope {run.get('scope', '')}"
            + ("" if run.get("complete", False) else " — INCOMPLETE RUN"),
        ),
    ]
    body = "".join(f"<tr><td>{_e(k)}</td><td><code>{_e(v)}</code></td></tr>" for k, v in rows)
    return f"<table class='hdr'>{body}</table>"


def _grades(doc: dict[str, Any], pack: dict[str, Any]) -> str:
    grade, run = doc["grade"], doc["run"]
    am1 = str(grade.get("value", ""))
    am2 = str(run.get("am2") or "")
    overall = epa_grade.overall(am1, am2)
    flags = " (provisional)" if grade.get("provisional") else ""
    prereq = pack.get("prerequisites", {})
    warn = f"<span class='warn'>{_e(prereq.get('summary'))}</span>" if not prereq.get("complete", True) else ""
    if overall is None:
        why = "enter the AM2 grade (--am2)" if not am2 else f"AM1 is {am1}: no overall grade until it is decided"
        overall_cell = f"<span class='muted'>not computed: {_e(why)}</span>"
    else:
        overall_cell = f"<strong>{_e(overall.upper())}</strong> <span class='muted'>(specification's table)</span>"
    boxes = "".join(f"<span class='box'></span>{g}" for g in ("Fail", "Pass", "Distinction"))
    return (
        "<table class='grades'>"
        f"<tr><th>AM1 as computed</th><td><strong>{_e(am1.upper())}</strong>{_e(flags)} {warn}"
        f"<div class='muted'>{_e(grade.get('summary'))}</div></td></tr>"
        f"<tr><th>AM1: assessor's decision</th><td>{boxes}</td></tr>"
        f"<tr><th>AM2 as entered</th><td>{_e(am2.upper() or 'not entered')}</td></tr>"
        f"<tr><th>Overall EPA grade</th><td>{overall_cell}</td></tr>"
        "</table>"
    )


def _criteria(doc: dict[str, Any]) -> str:
    names = view.theme_names(doc)
    rows = []
    for tid, crits in view.themes_in_order(doc):
        rows.append(f"<tr><th colspan='5'>{_e(names.get(tid, tid))}</th></tr>")
        for c in sorted(crits, key=lambda c: c["id"]):
            status = str(c.get("status", ""))
            rows.append(
                f"<tr><td class='crit'><strong>{_e(c['id'])}</strong> "
                f"<span class='muted'>{_e(c.get('level'))}</span></td>"
                f"<td class='st s-{_e(status)}'>{_e(view.status_label(status))}</td>"
                f"<td class='ev'>{_e(evidence_pack.key_evidence(doc, c))}</td>"
                "<td class='dec'><span class='box'></span>met<span class='box'></span>not met</td>"
                "<td class='notes'></td></tr>"
            )
    return (
        "<table class='cr'><tr><th class='crit'>criterion</th><th class='st'>status</th>"
        "<th>key evidence (details in the HTML report)</th><th class='dec'>decision</th>"
        "<th class='notes'>notes</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _questions(pack: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr class='q'><td>{i}</td><td><strong>{_e(q['criterion'])}</strong> "
        f"<span class='muted'>{_e(view.status_label(q['status']))}</span></td>"
        f"<td>{_e(q['question'])}<div class='ev'>about: {_e(evidence_pack.one_line(q['about'], 110))}</div></td>"
        "<td class='notes'></td></tr>"
        for i, q in enumerate(pack.get("questions", []), 1)
    )
    head = "<tr><th class='n'>#</th><th class='crit'>criterion</th><th>question</th><th class='notes'>notes</th></tr>"
    return f"<table class='qs'>{head}{rows}</table>"


def _ksbs(pack: dict[str, Any]) -> str:
    rows = pack.get("ksbs", [])
    if not rows:
        return ""
    unbacked = [r["ksb"] for r in rows if not r["backed_by"]]
    text = f"{len(rows)} KSB(s) named in the analysis; " + (
        f"not backed by any finding: {', '.join(unbacked)}" if unbacked else "each backed by a finding"
    )
    return f"<p class='muted'>{_e(text)}</p>"


def render(doc: dict[str, Any]) -> str:
    pack = doc.get("evidence_pack") or evidence_pack.from_doc(doc)
    name = doc["run"].get("target", {}).get("name", "")
    page = (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>Sign-off sheet: {_e(name)}</title><style>{CSS}</style></head><body>"
        f"<h1>{_e(doc.get('catalogue', {}).get('standard', 'ST0825'))} AM1 sign-off sheet — {_e(name)}</h1>"
        + _header(doc, pack)
        + "<h2>Grades and sign-off</h2>"
        + _grades(doc, pack)
        + SIGNATURES
        + "<h2>Criteria</h2>"
        + _criteria(doc)
        + _ksbs(pack)
        + "<h2>Questions (two per AM1 theme)</h2>"
        + _questions(pack)
        + "</body></html>\n"
    )
    return view.utf8_safe(page)
