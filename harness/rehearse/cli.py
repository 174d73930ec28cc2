"""`harness rehearse`: run the practical's steps in order, time each, ask the 16 questions, write the file.

A step that is not configured is listed as skipped with what to configure (its check still runs, so the
run document is the same as `harness verify`'s and could_not_check stays could_not_check), never as passed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness import redact, reports
from harness.config import ConfigError
from harness.context import Shared
from harness.engine import CheckResult, RunOutcome, run_checks
from harness.model import now_iso, worst
from harness.rehearse import record
from harness.rehearse.steps import Step, missing, plan
from harness.reports import view

MAX_ANSWER_CHARS = 4000
DEFAULT_OUT = "harness-rehearsal"


def say(text: str = "") -> None:
    try:
        print(view.printable(redact.text(text)), flush=True)
    except BrokenPipeError:
        # The reader went away (`| head`): stop printing, but finish the rehearsal and write its file.
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process


class Prompter:
    """Asks on the terminal; with --yes (or once input ends) every answer is blank. Ctrl-C at a prompt
    stops the steps not yet started (the file is still written, marked incomplete) and blanks the rest."""

    def __init__(self, unattended: bool, shared: Shared) -> None:
        self.closed, self.shared, self.interrupted = unattended, shared, False

    def ask(self, prompt: str) -> str:
        if self.closed:
            return ""
        try:
            return input(prompt).strip()[:MAX_ANSWER_CHARS]
        except (EOFError, KeyboardInterrupt) as exc:
            self.closed = True
            if isinstance(exc, KeyboardInterrupt):
                self.interrupted = True
                self.shared.cancel.set()
            print()
            return ""


@contextmanager
def _interruptible(shared: Shared) -> Iterator[list[str]]:
    """Ctrl-C or SIGTERM stop the checks the way verify does (a running drill still restores)."""
    caught: list[str] = []

    def on_signal(signum: int, _frame: Any) -> None:
        caught.append(signal.Signals(signum).name)
        shared.cancel.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _headline(step: Step, results: list[CheckResult]) -> str:
    if not step.checks:
        counts: dict[str, int] = {}
        for r in results:
            counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
        return (
            ", ".join(f"{n} {view.outcome_label(o)}" for o, n in sorted(counts.items())) + f" of {len(results)} checks"
        )
    return "; ".join(f.reason for r in results for f in r.findings[:1])


def _run_step(
    step: Step, checks: list[Any], shared: Shared, prompter: Prompter, number: int, progress_on: bool
) -> tuple[dict[str, Any], RunOutcome]:
    from harness.reports import terminal

    config = shared.config
    need = missing(config, step) if step.checks else ""
    say(f"\n[{number}/4] {step.title}")
    entry: dict[str, Any] = {"key": step.key, "title": step.title, "checks": [c.meta.id for c in checks]}
    if not checks:
        say("  skipped: not in this run's scope (--scope, --only or --skip)")
        return entry | {"status": "skipped", "configure": "", "seconds": 0.0}, RunOutcome()
    if not need and step.checks and not shared.cancel.is_set():
        prompter.ask("  press Enter to start (in the practical the assessor watches this step) ")
    t0 = time.monotonic()
    # Ctrl-C stops the checks as in verify (a running drill still restores); at a prompt it is the Prompter's.
    with _interruptible(shared) as caught, terminal.progress(enabled=progress_on) as progress:
        outcome = run_checks(
            checks, shared, concurrency=config.run.concurrency, timeouts=config.run.timeouts, progress=progress
        )
    if caught or prompter.interrupted:
        outcome.complete, outcome.interrupted_by = False, (caught or ["SIGINT"])[0]
    seconds = round(time.monotonic() - t0, 2)
    headline = _headline(step, outcome.results)
    if need:
        say(f"  skipped: configure {need}")
        return entry | {"status": "skipped", "configure": need, "seconds": seconds, "result": headline}, outcome
    status = worst([r.outcome for r in outcome.results]).value if outcome.results else "could_not_check"
    if any(r.status == "not_run" for r in outcome.results):
        status = "not_run"  # interrupted before it started: never shown as passed
    say(f"  {view.outcome_label(status)} in {seconds:.1f} s: {headline}")
    return entry | {"status": status, "configure": "", "seconds": seconds, "result": headline}, outcome


def _questions(doc: dict[str, Any], prompter: Prompter) -> list[dict[str, Any]]:
    pack = doc.get("evidence_pack", {}).get("questions", [])
    say(f"\nQuestions: {len(pack)}, two per theme, drawn from this project's findings (note an answer to each)")
    answers = []
    for i, q in enumerate(pack, 1):
        say(f"\n{i:2}. [{q['theme']} {q['criterion']}, {q['status']}] {q['question']}")
        if q.get("about"):
            say(f"    about: {q['about']}")
        answers.append(q | {"answer": prompter.ask("    your answer (Enter to skip): ")})
    return answers


def cmd_rehearse(args: argparse.Namespace) -> int:
    from harness.cli import EXIT_GATE, EXIT_OK, load_config, read_run
    from harness.diff import compare
    from harness.reports.diff_render import text
    from harness.run import build_document, select

    config = load_config(args)
    out = (args.out or Path(DEFAULT_OUT)).resolve()
    if out.exists() and not out.is_dir():  # said before the drill runs, not after
        raise ConfigError(f"--out: not a folder: {out}")
    checks, scope, catalogue = select(config)
    shared = Shared(config=config)
    prompter = Prompter(args.yes, shared)
    started, t0 = now_iso(), time.monotonic()
    say(f"Rehearsal of the practical against {config.repo_path} ({started})")
    steps: list[dict[str, Any]] = []
    merged = RunOutcome()
    for number, (step, step_checks) in enumerate(plan(checks), 1):
        entry, outcome = _run_step(step, step_checks, shared, prompter, number, "terminal" in config.run.formats)
        steps.append(entry)
        merged.results += outcome.results
        merged.complete = merged.complete and outcome.complete
        merged.interrupted_by = merged.interrupted_by or outcome.interrupted_by
    merged.results.sort(key=lambda r: r.check.meta.id)
    doc = build_document(config, catalogue, merged, scope, started, time.monotonic() - t0)
    answers = _questions(doc, prompter)
    doc = record.attach(doc, steps, answers, started, now_iso())
    _show_figures(doc)
    previous = record.latest(out)
    try:
        path = record.write(out, doc)
    except OSError as exc:
        raise ConfigError(f"--out: cannot write the rehearsal file in {out}: {exc.strerror or exc}") from None
    say(f"\ngrade {doc['grade']['value']}: {doc['grade'].get('summary', '')}")
    print(f"wrote {path}", file=sys.stderr)
    # Report files of this rehearsal (--format html, ...) beside it; the terminal report is `harness report`'s.
    for written in reports.write(doc, [f for f in config.run.formats if f != "terminal"], out):
        print(f"wrote {written}", file=sys.stderr)
    say(f"the full report of this rehearsal: harness report {path}")
    if previous is not None:
        try:
            say(f"\nSince the last rehearsal ({previous.name}):\n" + text(compare(read_run(previous), doc)))
        except ConfigError as exc:
            say(f"\nnot compared with {previous.name}: {exc}")
    return EXIT_OK if doc["run"]["gate_reached"] else EXIT_GATE


def _show_figures(doc: dict[str, Any]) -> None:
    from harness.probes.delivery import LIVE_NAMES  # here, not at start-up: it loads the history probes

    reh = doc["rehearsal"]
    say("\nDelivery figures (each with its definition in the rehearsal file):")
    for m in reh["figures"]:
        say(f"  {m['shown']} ({m['check_id']})")
    for key in reh["not_measured"]:
        say(f"  {LIVE_NAMES[key]}: not measured in this rehearsal (see the steps above)")


def register(subparsers: Any) -> None:
    from harness.cli import add_target_options

    p = subparsers.add_parser("rehearse", help="a guided, timed run of the practical against your own project")
    add_target_options(p)
    p.add_argument("--yes", action="store_true", help="run unattended: start each step at once, leave answers blank")
    p.set_defaults(handler=cmd_rehearse, out=None)
