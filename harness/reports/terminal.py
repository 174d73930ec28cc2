"""Terminal report with rich: criteria by theme (worst first), what held each back, then the grade.

Every status is spelled out in words and a distinct marker, so the meaning never
depends on colour, and "could not check" never looks like a pass or a fail.
Data strings go into `Text` objects, which never interpret rich markup.
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections.abc import Iterator
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from harness.engine import CheckResult, ProgressFn
from harness.reports import view

WIDTH = 120
LABEL_WIDTH = 17  # "? could not check", the longest finding label with its marker
HEAD_WIDTH = 20  # "… AWAITING ASSESSOR" and a space: finding text lines up with the criterion id
REASON_LIMIT = 400  # a finding's reason is shown whole up to here: its last words are often the hint
MAX_FINDINGS_SHOWN = 5  # per criterion; the HTML and JSON reports carry the rest
STATUS_STYLE = {
    "not_met": ("✘ NOT MET", "bold red"),
    "undetermined": ("? COULD NOT CHECK", "bold yellow"),
    "assessor": ("… AWAITING ASSESSOR", "cyan"),
    "met": ("✔ MET", "green"),
    "out_of_scope": ("- OUT OF SCOPE", "dim"),
}
OUTCOME_STYLE = {
    "fail": "red",
    "could_not_check": "yellow",
    "warn": "magenta",
    "manual": "cyan",
    "pass": "green",
    "not_applicable": "dim",
}
OUTCOME_MARK = {"fail": "✘", "could_not_check": "?", "warn": "!", "manual": "…", "pass": "✔", "not_applicable": "-"}
GRADE_STYLE = {"fail": "bold red", "undetermined": "bold yellow", "pass": "bold green", "distinction": "bold green"}


def _row(label: str, style: str, body: Text) -> Table:
    """A label column and a body that wraps under itself (hanging indent), whatever the width."""
    grid = Table.grid(padding=(0, 1))
    # One space between cells: 3 + 1 + 18 + 1 puts the label under the criterion's status, indented by two,
    # and the body at column 23, under the criterion id ("  " + HEAD_WIDTH + " ").
    grid.add_column(width=3, no_wrap=True)
    grid.add_column(width=HEAD_WIDTH - 2, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row("", Text(label, style=style), body)
    return grid


def _finding_lines(f: dict[str, Any]) -> list[RenderableType]:
    outcome = f.get("outcome", "")
    body = Text(f"{f.get('check_id', '?')}: ", style="bold")
    body.append(view.first_line(f.get("reason"), REASON_LIMIT), style="")
    where = view.locations(f)
    if where:
        more = f" (+{len(where) - 3} more)" if len(where) > 3 else ""
        body.append("\nat " + ", ".join(where[:3]) + more, style="dim")
    label = f"{OUTCOME_MARK.get(outcome, ' ')} {view.outcome_label(outcome)}"
    return [_row(label, OUTCOME_STYLE.get(outcome, ""), body)]


def _waived_lines(f: dict[str, Any]) -> list[RenderableType]:
    w = f.get("waiver") or {}
    body = Text(f"{f.get('check_id', '?')} ({view.outcome_label(f.get('outcome', ''))}): ", style="bold")
    body.append(view.first_line(f.get("reason"), REASON_LIMIT), style="")
    body.append(
        f"\njustification: {view.first_line(w.get('justification'))}"
        f" (approved by {w.get('approver', '?')}, until {w.get('expires', '?')})",
        style="dim",
    )
    return [_row("WAIVED", "blue", body)]


def _criterion(crit: dict[str, Any], checks: dict[str, dict[str, Any]]) -> list[RenderableType]:
    status = crit["status"]
    label, style = STATUS_STYLE.get(status, (status.upper(), ""))
    head = Text("  ", no_wrap=True, overflow="ellipsis")  # one line per criterion; details follow
    head.append(f"{label:<{HEAD_WIDTH}}", style=style)
    head.append(f" {crit['id']}", style="bold")
    if crit.get("level") == "distinction":
        head.append(" (Distinction)")
    head.append(": " + view.first_line(crit.get("text"), 1000))  # cut with an ellipsis at the terminal's width
    lines: list[RenderableType] = [head]
    if status in ("not_met", "undetermined"):
        held = view.held_back_findings(crit, checks)
        if not held:  # e.g. only warnings or not-applicable: no positive evidence, say so
            lines.append(_row("", "", Text(crit.get("reason", ""), style="dim")))
        for f in held[:MAX_FINDINGS_SHOWN]:
            lines += _finding_lines(f)
        if len(held) > MAX_FINDINGS_SHOWN:
            lines.append(_row("…", "", Text(f"{len(held) - MAX_FINDINGS_SHOWN} more (see the HTML or JSON report)")))
    elif status == "assessor":
        found = view.criterion_findings(crit, checks)
        for f in found[:3]:
            lines += _finding_lines(f)
        if not found:
            lines.append(_row("", "", Text("no automated evidence; the assessor decides", style="dim")))
    for f in view.waived_findings(crit, checks)[:MAX_FINDINGS_SHOWN]:
        lines += _waived_lines(f)
    return lines


def _grade_lines(doc: dict[str, Any]) -> list[Text]:
    grade, run = doc["grade"], doc["run"]
    value = str(grade.get("value", "?"))
    line = Text("GRADE: ", style="bold")
    line.append(value.upper(), style=GRADE_STYLE.get(value, "bold"))
    if grade.get("provisional"):
        line.append("  (PROVISIONAL: the assessor decides the rest)", style="cyan")
    if not run.get("complete", False):
        line.append("  INCOMPLETE", style="bold yellow reverse")
    out = [line, Text(grade.get("summary", ""))]
    prerequisites = (doc.get("evidence_pack") or {}).get("prerequisites") or {}
    if not prerequisites.get("complete", True):  # the submission requirements (SR-*), beside the grade
        out.append(Text(str(prerequisites.get("summary", "")), style="bold yellow"))
    if not run.get("complete", False):
        out.append(Text(f"INCOMPLETE RUN: interrupted by {run.get('interrupted_by') or 'a stop'}", style="yellow"))
    reached = bool(run.get("gate_reached"))
    gate = Text(f"gate {run.get('gate', '?')}: ")
    gate.append("reached" if reached else "NOT reached", style="green" if reached else "red")
    out.append(gate)
    out += [Text(line, style="dim") for line in view.provenance_lines(doc)]
    return out


def renderables(doc: dict[str, Any]) -> Group:
    doc = view.deep_printable(doc)  # data may carry terminal escapes (command output, hostile files)
    checks = view.checks_by_id(doc)
    names = view.theme_names(doc)
    parts: list[RenderableType] = []
    for tid, crits in view.themes_in_order(doc):
        counts = {s: sum(1 for c in crits if c["status"] == s) for s in view.STATUS_ORDER}
        tally = ", ".join(f"{n} {view.status_label(s)}" for s, n in counts.items() if n)
        parts.append(Text(""))
        parts.append(Text(f"{names.get(tid, tid)}  ({tally})", style="bold underline"))
        for crit in crits:
            parts += _criterion(crit, checks)
    parts.append(Text(""))
    parts += _grade_lines(doc)
    return Group(*parts)


def render(doc: dict[str, Any]) -> str:
    """Plain text (no colour codes), e.g. for logs and tests."""
    buf = io.StringIO()
    Console(file=buf, width=WIDTH, force_terminal=False, no_color=True, highlight=False).print(renderables(doc))
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"  # table cells pad with spaces


def show(doc: dict[str, Any]) -> None:
    Console(highlight=False).print(renderables(doc))


@contextlib.contextmanager
def progress(enabled: bool) -> Iterator[ProgressFn | None]:
    """A live progress display on stderr, fed by the engine's callback; only on a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("checks", total=0)
    lock = threading.Lock()  # callbacks arrive from the engine's worker threads
    counts = {"started": 0, "done": 0}

    def update(event: str, result: CheckResult | None) -> None:
        with lock:
            if event == "start":
                counts["started"] += 1
            elif event == "done":
                counts["done"] += 1
            # The engine does not announce the total, so the bar counts finished of started.
            desc = "checks"
            if result is not None:
                desc = f"last: {result.check.meta.id} ({view.outcome_label(result.outcome.value)})"
            bar.update(task, total=counts["started"], completed=counts["done"], description=desc)

    with bar:
        yield update
