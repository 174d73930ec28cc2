"""The `harness` command. Exit codes: 0 gate reached, 1 not reached, 2 usage or configuration error, 3 regressed."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from harness import __version__
from harness.config import VALID_FORMATS, VALID_GATES, VALID_SCOPES, Config, ConfigError, user_config_path
from harness.context import Shared
from harness.epa_grade import AM2_GRADES

EXIT_OK, EXIT_GATE, EXIT_USAGE, EXIT_REGRESSED = 0, 1, 2, 3
Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Handler] = {}


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(_error_line(f"harness: error: {message} (see `{self.prog} --help`)"), file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def add_target_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", type=Path, default=None, help="the project to verify (default: current folder)")
    p.add_argument(
        "--config", type=Path, default=None, help="the operator's settings (on top of ~/.config/harness/config.toml)"
    )
    p.add_argument(
        "--trust-project",
        action="store_true",
        help="also take the project's operator-only settings (commands, gate, limits): for your own project",
    )
    p.add_argument("--accept-waivers", action="store_true", help="accept the waivers the project claims")
    p.add_argument(
        "--format", dest="formats", action="append", choices=VALID_FORMATS, help="report format (repeatable)"
    )
    p.add_argument("--out", type=Path, default=None, help="folder for report files (default: harness-report)")
    p.add_argument("--gate", choices=VALID_GATES, default=None, help="grade needed for exit 0 (default: pass)")
    p.add_argument("--scope", choices=VALID_SCOPES, default=None, help="which checks to run (default: all)")
    p.add_argument("--only", action="append", default=None, metavar="CHECK_ID", help="run only this check (repeatable)")
    p.add_argument(
        "--skip", action="append", default=None, metavar="CHECK_ID", help="do not run this check (repeatable)"
    )
    p.add_argument("--waivers", type=Path, default=None, help="the operator's waiver file (accepted)")
    p.add_argument("--concurrency", type=int, default=None, help="checks run at once (default: 8)")
    p.add_argument("--url", dest="urls", action="append", default=None, help="a public base URL (repeatable)")
    p.add_argument("--ca-bundle", type=Path, default=None, help="CA certificates to trust for the URLs")
    p.add_argument("--metrics-url", default=None, help="the application's metrics endpoint")
    p.add_argument("--prometheus-url", default=None, help="the Prometheus server's base URL")
    p.add_argument("--alertmanager-url", default=None, help="the Alertmanager's base URL")
    p.add_argument("--docker-host", default=None, help="a Docker engine, e.g. unix:///var/run/docker.sock")
    p.add_argument("--pulumi-state", type=Path, default=None, help="a Pulumi file backend folder or stack export")
    p.add_argument("--advisory-file", type=Path, default=None, help="offline vulnerability advisories (JSON)")
    add_signoff_options(p)
    p.add_argument(
        "--online-audit", action="store_true", default=None, help="audit Python dependencies online with pip-audit"
    )


def add_signoff_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--am2", choices=AM2_GRADES, default=None, help="the AM2 grade, for the overall EPA grade")
    p.add_argument("--candidate", default=None, help="the candidate's name, for the sign-off sheet")


# Flags that set a configuration key: (argparse dest, dotted key, is a path).
FLAG_KEYS = [
    ("repo", "project.repo", True),
    ("formats", "run.formats", False),
    ("out", "run.out", True),
    ("gate", "run.gate", False),
    ("scope", "run.scope", False),
    ("concurrency", "run.concurrency", False),
    ("only", "run.only", False),
    ("skip", "run.skip", False),
    ("waivers", "run.waivers_file", True),
    ("urls", "live.urls", False),
    ("ca_bundle", "live.ca_bundle", True),
    ("metrics_url", "live.metrics_url", False),
    ("prometheus_url", "live.prometheus_url", False),
    ("alertmanager_url", "live.alertmanager_url", False),
    ("docker_host", "live.docker_host", False),
    ("pulumi_state", "live.pulumi_state", True),
    ("advisory_file", "repository.advisory_file", True),
    ("online_audit", "repository.online_audit", False),
    ("am2", "run.am2", False),
    ("candidate", "run.candidate", False),
]


def load_config(args: argparse.Namespace) -> Config:
    """Defaults, the project's descriptions, the operator's file(s), then the flags (see harness.trust)."""
    from harness.trust import Layer, file_layer, layered

    if args.repo is not None and not args.repo.resolve().is_dir():
        raise ConfigError(f"--repo: not a folder: {args.repo}")
    operator: list[Layer] = []
    user_file = user_config_path()
    if user_file is not None and user_file.is_file():
        operator.append(file_layer(user_file, f"operator file {user_file}", "operator"))
    if args.config is not None:
        operator.append(file_layer(args.config, f"--config {args.config.resolve()}", "operator"))
    flags = Layer("flag", "operator")
    for dest, key, is_path in FLAG_KEYS:
        value = getattr(args, dest)
        if value is not None and value is not False and value != []:  # `not in (None, False)` would drop 0
            flags.values[key] = str(value.resolve()) if is_path else value
    operator.append(flags)
    # The project is --repo, else the folder an operator file names, else the current folder.
    repo = Path.cwd()
    for layer in operator:
        repo = Path(layer.values.get("project.repo", repo))
    return layered(repo.resolve(), operator, trust_project=args.trust_project, accept_waivers=args.accept_waivers)


def out_dir(config: Config) -> Path:
    return config.resolve(config.run.out) if not Path(config.run.out).is_absolute() else Path(config.run.out)


def emit(doc: dict[str, Any], formats: list[str], out: Path) -> None:
    from harness import reports
    from harness.reports import terminal

    written = reports.write(doc, formats, out)
    if "terminal" in formats:
        terminal.show(doc, [p.name for p in written])
    for path in written:
        print(f"wrote {path}", file=sys.stderr)


def cmd_verify(args: argparse.Namespace) -> int:
    from harness.reports import terminal
    from harness.run import verify

    config = load_config(args)
    previous_run = read_run(args.compare) if args.compare is not None else None  # a bad file stops before checking
    shared = Shared(config=config)
    interrupted: list[str] = []

    def on_signal(signum: int, _frame: Any) -> None:
        interrupted.append(signal.Signals(signum).name)
        shared.cancel.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with terminal.progress(enabled="terminal" in config.run.formats) as progress:
            doc = verify(config, shared, progress=progress)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if interrupted:
        doc["run"]["interrupted_by"] = interrupted[0]
        doc["run"]["complete"] = False
        doc["run"]["gate_reached"] = False
    emit(doc, config.run.formats, out_dir(config))
    if not sys.stderr.isatty():  # a CI log: end with the verdict, whatever the formats
        for line in terminal.summary_lines(doc):
            print(line, file=sys.stderr)
    if previous_run is not None:
        from harness.diff import compare
        from harness.reports.diff_render import text

        diff = compare(previous_run, doc)
        print("\n" + text(diff), end="")
        if diff["regressed"]:
            return EXIT_REGRESSED
    return EXIT_OK if doc["run"]["gate_reached"] else EXIT_GATE


def read_run(path: Path) -> dict[str, Any]:
    """A saved JSON run, validated and masked again (it may predate a masking pattern); ConfigError if not one."""
    from harness import redact
    from harness.reports.schema import validate_document

    try:
        raw = path.read_bytes()
        if len(raw) > 200_000_000:
            raise ConfigError(f"{path}: run file too large")
        doc = json.loads(raw)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a harness JSON report: {exc}") from None
    problem = validate_document(doc)
    if problem:
        raise ConfigError(f"{path}: not a harness JSON report: {problem}")
    return dict(redact.deep(doc))


def cmd_diff(args: argparse.Namespace) -> int:
    from harness.diff import compare
    from harness.reports.diff_render import RENDERERS

    diff = compare(read_run(args.old), read_run(args.new))
    sys.stdout.write(RENDERERS[args.format](diff))
    return EXIT_REGRESSED if diff["regressed"] else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    doc = read_run(args.run)  # validated and masked again
    for key in ("am2", "candidate"):  # an assessor may enter these when re-rendering
        if getattr(args, key, None):
            doc["run"][key] = getattr(args, key)
    from harness.grading import GRADE_ORDER

    gate = args.gate or doc["run"].get("gate", "pass")
    reached = doc["run"].get("complete", False) and (
        gate == "none" or GRADE_ORDER.index(doc["grade"]["value"]) >= GRADE_ORDER.index(gate)
    )
    doc["run"].update(gate=gate, gate_reached=bool(reached))  # the JUnit gate case agrees with this exit code
    emit(doc, args.formats or ["terminal"], (args.out or Path("harness-report")).resolve())
    return EXIT_OK if reached else EXIT_GATE


def cmd_checks(args: argparse.Namespace) -> int:
    from harness.catalogue import load
    from harness.checks.base import load_all

    registry, catalogue = load_all(), load()
    if args.json:
        print(
            json.dumps(
                [
                    c.meta.to_dict() | {"criteria": [k.id for k in catalogue.criteria_for(c.meta.id)]}
                    for c in sorted(registry.values(), key=lambda c: c.meta.id)
                ],
                indent=2,
            )
        )
        return EXIT_OK
    for crit in catalogue.criteria:
        print(f"{crit.id:6} {crit.level:11} {crit.assessment:8} {crit.text[:90]}")
        for cid in crit.checks:
            check = registry.get(cid)
            where = check.meta.module if check else "(not implemented)"
            print(f"         {cid:28} {where}")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from harness.init import write_config

    repo = (args.repo or Path.cwd()).resolve()
    if not repo.is_dir():
        raise ConfigError(f"--repo: not a folder: {args.repo}")
    path = write_config(repo, force=args.force)
    print(f"wrote {path}")
    return EXIT_OK


def build_parser() -> Parser:
    parser = Parser(prog="harness", description="Verify a DevOps project against the ST0825 AM1 criteria.")
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, required=True)

    p = sub.add_parser("verify", help="run the checks and write the reports")
    add_target_options(p)
    p.add_argument(
        "--compare", type=Path, default=None, metavar="OLD.json", help="also say what changed since this saved run"
    )
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser("diff", help="what changed between two saved JSON runs (exit 3: regressed)")
    p.add_argument("old", type=Path, help="the earlier harness-report.json")
    p.add_argument("new", type=Path, help="the later harness-report.json")
    p.add_argument("--format", choices=["terminal", "markdown", "json"], default="terminal")
    p.set_defaults(handler=cmd_diff)

    p = sub.add_parser("report", help="re-render a saved JSON run without re-checking")
    p.add_argument("run", type=Path, help="a harness-report.json")
    p.add_argument("--format", dest="formats", action="append", choices=VALID_FORMATS)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--gate", choices=VALID_GATES, default=None)
    add_signoff_options(p)
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("checks", help="list the criteria and the checks behind each")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_checks)

    p = sub.add_parser("init", help="write a harness.toml from what the project contains")
    p.add_argument("--repo", type=Path, default=None)
    p.add_argument("--force", action="store_true", help="overwrite an existing harness.toml")
    p.set_defaults(handler=cmd_init)

    for register in EXTRA_COMMANDS:
        register(sub)
    return parser


# Other modules (the lab, the demo) add sub-commands here, keeping this file small.
EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def _load_extras() -> None:
    # A direct import: a broken lab module must fail loudly, not silently drop `lab` and `demo`.
    from harness.lab import cli as lab_cli

    if lab_cli.register not in EXTRA_COMMANDS:
        EXTRA_COMMANDS.append(lab_cli.register)
    from harness.rehearse import cli as rehearse_cli

    if rehearse_cli.register not in EXTRA_COMMANDS:
        EXTRA_COMMANDS.append(rehearse_cli.register)
    from harness import bundle_cli

    if bundle_cli.register not in EXTRA_COMMANDS:
        EXTRA_COMMANDS.append(bundle_cli.register)


def _error_line(message: str) -> str:
    from harness.reports.terminal import error_line  # masks secrets, escapes control and bidi characters

    return error_line(message)


def main(argv: Sequence[str] | None = None) -> int:
    _load_extras()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(_error_line(f"harness: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return EXIT_GATE
    except BrokenPipeError:
        return EXIT_GATE


if __name__ == "__main__":
    sys.exit(main())
