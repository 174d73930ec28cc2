"""The HTML report's style, its small script, and the printed report's aids (contents, commit, submission).

Kept apart from html.py so that module stays about rendering criteria and findings.
"""

from __future__ import annotations

from html import escape
from typing import Any

from harness.reports import view

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
nav.contents ol{margin:.2rem 0 1rem;columns:2}nav.contents a{color:inherit}
@page{size:A4;margin:14mm 12mm 16mm;@bottom-right{content:"page " counter(page) " of " counter(pages);font-size:8pt}}
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


def esc(value: Any) -> str:
    # Control characters (terminal escapes in command output) are shown as \xNN, never passed through.
    return escape(view.printable("" if value is None else str(value)), quote=True)


def contents(themes: list[tuple[str, list[dict[str, Any]]]], names: dict[str, str], waivers: bool) -> str:
    """A contents list; printed, every page also carries "page N of M" (the @page rule above)."""
    items = [(f"theme-{tid}", f"{names.get(tid, tid)} ({len(crits)} criteria)") for tid, crits in themes]
    items += [("waivers", "Waivers")] if waivers else []
    items.append(("checks-run", "Checks run"))
    body = "".join(f'<li><a href="#{esc(anchor)}">{esc(label)}</a></li>' for anchor, label in items)
    return f"<nav class='contents'><h2>Contents</h2><ol>{body}</ol></nav>"


def commit_line(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The verified commit, branch and remote, for the banner (absent from runs before the evidence pack)."""
    target = (doc.get("evidence_pack") or {}).get("target") or {}
    if not target.get("commit"):
        return []
    where = f" on <code>{esc(target['branch'])}</code>" if target.get("branch") else ""
    remote = f" from <code>{esc(target['remote'])}</code>" if target.get("remote") else ""
    return [("commit", f"<code>{esc(target['commit'])}</code>{where}{remote}")]


def submission_note(doc: dict[str, Any]) -> str:
    """Beside the grade: the submission is incomplete when a submission requirement (SR-*) is not met."""
    pre = (doc.get("evidence_pack") or {}).get("prerequisites") or {}
    if pre.get("complete", True):
        return ""
    summary = esc(pre.get("summary"))
    return f'<p class="incomplete"><strong>{summary}</strong> (the specification\'s submission requirements)</p>'


def ksb_backing(doc: dict[str, Any]) -> str:
    """The KSBs the technical-breadth analysis names, each with the criteria whose findings back it."""
    rows = (doc.get("evidence_pack") or {}).get("ksbs") or []
    if not rows:
        return ""
    cells = "".join(
        f"<tr><td>{esc(r['ksb'])}</td><td>"
        + (esc(", ".join(r["backed_by"])) if r["backed_by"] else "<strong class='o-fail'>no finding backs it</strong>")
        + "</td></tr>"
        for r in rows
    )
    return (
        "<details><summary><strong>KSBs named in the technical-breadth analysis</strong> "
        f"({sum(1 for r in rows if not r['backed_by'])} not backed)</summary>"
        f"<table><tr><th>KSB</th><th>backed by (criteria with a passing finding)</th></tr>{cells}</table></details>"
    )
