"""Terminal report with rich: criteria by theme (worst first), what held each back, then the grade.

Every status is spelled out in words and a distinct marker, so the meaning never
depends on colour, and "could not check" never looks like a pass or a fail.
Data strings go into `Text` objects, which never interpret rich markup.
"""

from __future__ import annotations

import contextlib
import io
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from harness import redact
from harness.engine import CheckResult, ProgressFn
from harness.reports import fixfirst, view

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
PARTIAL_STYLE = ("✔ MET (PARTIAL RUN)", "green")
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


def _cut(text: str, style: str = "") -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def _fix_first(doc: dict[str, Any], width: int) -> list[RenderableType]:
    """The ranked actions (see harness.reports.fixfirst), each on a few lines so the list fits one screen."""
    ff = fixfirst.compute(doc)
    out: list[RenderableType] = []
    if ff.actions:
        head = "FIX FIRST: the actions that would move the grade most"
        out.append(_cut(head + (f" ({ff.total} in all)" if ff.total > len(ff.actions) else ""), "bold underline"))
    for n, a in enumerate(ff.actions, 1):
        line = _cut(f"{n}. {a.check_id}", "bold")
        line.append(f" ({view.outcome_label(a.outcome)}) holds back {', '.join(a.criteria)}")
        out.append(line)
        out.append(_cut(f"   why: {a.reason}"))
        if a.remediation:  # the remediation is the point: two lines of it
            fix = textwrap.wrap(a.remediation, max(20, width - 8), max_lines=2, placeholder=" …")
            out += [_cut(("   fix: " if i == 0 else "        ") + part) for i, part in enumerate(fix)]
        if a.locations:
            more = f" (+{len(a.locations) - 2} more)" if len(a.locations) > 2 else ""
            out.append(_cut(f"   at: {', '.join(a.locations[:2])}{more}", "dim"))
    if ff.unconfigured_checks:
        said = ", ".join(ff.settings) if ff.settings else "the live settings (see harness.toml)"
        said = f"{len(ff.unconfigured_checks)} live checks not configured: to run them, set {said}"
        out += [_cut(part, "yellow") for part in textwrap.wrap(said, width, max_lines=2, placeholder=" …")]
    return out


def _more_where(written: list[str]) -> str:
    """Point only at a report file this run wrote; otherwise say how to get one."""
    full = [name for name in written if name.endswith((".html", ".json"))]
    return f" (see {' or '.join(full)})" if full else " (add --format html to see them all)"


def _criterion(crit: dict[str, Any], checks: dict[str, dict[str, Any]], written: list[str]) -> list[RenderableType]:
    status = crit["status"]
    label, style = PARTIAL_STYLE if view.is_partial(crit) else STATUS_STYLE.get(status, (status.upper(), ""))
    head = Text("  ", no_wrap=True, overflow="ellipsis")  # one line per criterion; details follow
    head.append(f"{label:<{HEAD_WIDTH}}", style=style)
    head.append(f" {crit['id']}", style="bold")
    if crit.get("level") == "distinction":
        head.append(" (Distinction)")
    head.append(": " + view.first_line(crit.get("text"), 1000))  # cut with an ellipsis at the terminal's width
    lines: list[RenderableType] = [head]
    if view.is_partial(crit):  # never shown as a plain "met": say what it rests on and what did not run
        lines.append(_row("", "", Text(f"{crit.get('reason', '')}; the grade is provisional", style="dim")))
    if status in ("not_met", "undetermined"):
        held = view.held_back_findings(crit, checks)
        if not held:  # e.g. only warnings or not-applicable: no positive evidence, say so
            lines.append(_row("", "", Text(crit.get("reason", ""), style="dim")))
        for f in held[:MAX_FINDINGS_SHOWN]:
            lines += _finding_lines(f)
        if len(held) > MAX_FINDINGS_SHOWN:
            lines.append(_row("…", "", Text(f"{len(held) - MAX_FINDINGS_SHOWN} more{_more_where(written)}")))
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
    if grade.get("partial"):
        line.append(f"  PARTIAL RUN: {len(grade['partial'])} criteria met on the checks that ran only", style="cyan")
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
    out += [Text(line, style="yellow") for line in view.checkout_lines(doc)]
    out += [Text(line, style="dim") for line in view.provenance_lines(doc)]
    return out


def renderables(doc: dict[str, Any], width: int = WIDTH, written: list[str] | None = None) -> Group:
    """`written`: the report files this run wrote (names), the only ones the report may point at."""
    # Data may carry terminal escapes (command output, hostile files); a re-rendered saved run is masked again.
    doc = view.deep_printable(redact.deep(doc))
    checks = view.checks_by_id(doc)
    names = view.theme_names(doc)
    parts: list[RenderableType] = _fix_first(doc, width)
    for tid, crits in view.themes_in_order(doc):
        counts = {s: sum(1 for c in crits if c["status"] == s) for s in view.STATUS_ORDER}
        partial = sum(1 for c in crits if view.is_partial(c))
        said = {s: f"{n} {view.status_label(s)}" for s, n in counts.items() if n}
        if partial:
            said["met"] += f" ({partial} on the checks that ran only)"
        tally = ", ".join(said.values())
        parts.append(Text(""))
        parts.append(Text(f"{names.get(tid, tid)}  ({tally})", style="bold underline"))
        for crit in crits:
            parts += _criterion(crit, checks, written or [])
    parts.append(Text(""))
    parts += _grade_lines(doc)
    return Group(*parts)


def render(doc: dict[str, Any], width: int = WIDTH, written: list[str] | None = None) -> str:
    """Plain text (no colour codes), e.g. for logs and tests."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, no_color=True, highlight=False)
    console.print(renderables(doc, width, written))
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"  # table cells pad with spaces


def error_line(message: str, limit: int = 2000) -> str:
    """One line for stderr: secrets masked, control and bidi characters escaped, newlines shown as \\n."""
    line = view.printable(redact.text(message)).replace("\n", "\\n").replace("\t", " ")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def show(doc: dict[str, Any], written: list[str] | None = None) -> None:
    console = Console(highlight=False)
    console.print(renderables(doc, console.width, written))


_PRINT_LOCK = threading.Lock()


def _plain_lines(event: str, result: CheckResult | None) -> None:
    if event != "done" or result is None:
        return
    line = f"harness: {result.check.meta.id} {view.outcome_label(result.outcome.value)} {result.duration_s:.1f} s"
    with _PRINT_LOCK:  # callbacks arrive from the engine's worker threads
        print(line, file=sys.stderr, flush=True)


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """The final summary for a CI log: grade, gate, counts, and what to know about the checkout."""
    grade, run = doc["grade"], doc["run"]
    counts: dict[str, int] = {}
    for crit in doc.get("criteria", []):
        counts[crit["status"]] = counts.get(crit["status"], 0) + 1
    tally = ", ".join(
        f"{n} {view.status_label(s)}" for s, n in sorted(counts.items(), key=lambda p: view.status_rank(p[0]))
    )
    head = f"harness: grade {grade.get('value')}{' (provisional)' if grade.get('provisional') else ''}"
    head += f"; gate {run.get('gate')} {'reached' if run.get('gate_reached') else 'NOT reached'}"
    head += f"{'' if run.get('complete') else ' (incomplete run)'}; {tally}; {run.get('duration_s', 0):.1f} s"
    return [head] + [f"harness: {line}" for line in view.checkout_lines(doc)]


@contextlib.contextmanager
def progress(enabled: bool) -> Iterator[ProgressFn | None]:
    """A live progress display on stderr, fed by the engine's callback, on a terminal; else plain lines.

    Without a terminal (a CI log) each finished check is one line: its id, outcome and seconds,
    so a long run shows it is alive and the log says which check took the time.
    """
    if not sys.stderr.isatty():
        yield _plain_lines
        return
    if not enabled:
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
