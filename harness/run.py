"""One verification run: select checks, run them, apply waivers, grade, build the document.

The run document (a JSON-able dict, schema in docs/report-schema.md) is the
only thing reports see, so a saved run re-renders without re-checking.
"""

from __future__ import annotations

import datetime as dt
import platform
import threading
import time
from pathlib import Path
from typing import Any

from harness import __version__, checkout, evidence_pack, redact, waivers
from harness.catalogue import Catalogue
from harness.catalogue import load as load_catalogue
from harness.checks.base import Check, load_checks, load_extras
from harness.config import CONFIG_NAME, Config, ConfigError
from harness.context import Shared
from harness.engine import ProgressFn, RunOutcome, run_checks
from harness.grading import grade
from harness.model import now_iso

REPORT_SCHEMA_VERSION = "2.0"


def source_of(check_id: str) -> str:
    return "live" if check_id.startswith("live.") else "repository"


def in_scope_ids(catalogue: Catalogue, known: set[str], config: Config) -> set[str]:
    ids = set(known)
    scope = config.run.scope
    if scope != "all":
        ids = {c for c in ids if source_of(c) == scope}
    if config.run.only:
        ids &= set(config.run.only)
    return ids - set(config.run.skip)


def select(config: Config) -> tuple[list[Check], set[str], Catalogue]:
    catalogue = load_catalogue()
    extras = set(load_extras())
    known = catalogue.check_ids() | extras
    for cid in config.run.only + config.run.skip + list(config.run.timeouts):
        if cid not in known:
            raise ConfigError(f"no check with id {cid!r} (see `harness checks`)")
    scope = in_scope_ids(catalogue, known, config)
    registry = load_checks(scope - extras)
    checks = [registry[c] for c in sorted(scope) if c in registry]
    return checks, scope, catalogue


def load_waivers(config: Config) -> list[waivers.Claim]:
    """The operator's waivers (accepted) and the project's (claims, accepted only with --accept-waivers)."""
    project_accepted = "operator (--accept-waivers)" if config.accept_waivers else ""
    label = config.provenance.get("waivers", "configuration")
    claims = [waivers.Claim(w, label, "operator", f"operator ({label})") for w in config.waivers]
    project_toml = str(config.repo_path / CONFIG_NAME)
    claims += [waivers.Claim(w, project_toml, "project", project_accepted) for w in config.project_waivers]
    files: list[tuple[Path, str, str]] = []
    if config.run.waivers_file:
        path = config.resolve(config.run.waivers_file)
        if not path.is_file():
            raise ConfigError(f"run.waivers_file: file not found: {path}")
        given_by = config.provenance.get("run.waivers_file", "flag")
        if given_by.startswith("project"):  # named by a trusted project: still the project's claims
            files.append((path, "project", project_accepted))
        else:
            files.append((path, "operator", f"operator ({'--waivers' if given_by == 'flag' else given_by})"))
    default = config.repo_path / waivers.WAIVERS_NAME
    if default.is_file() and all(default.resolve() != f[0].resolve() for f in files):
        files.append((default, "project", project_accepted))  # listed even when the operator gives a file
    for path, origin, accepted in files:
        claims += [waivers.Claim(e, str(path), origin, accepted) for e in waivers.read_file(path)]
    return claims


def settings_summary(config: Config) -> dict[str, Any]:
    """Where each setting came from, and what the project gave that was not taken (never the values)."""
    return {
        "trust_project": config.trust_project,
        "accept_waivers": config.accept_waivers,
        "sources": dict(sorted(config.provenance.items())),
        "ignored_from_project": list(config.ignored),
    }


def verify(config: Config, shared: Shared | None = None, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run every selected check and return the (redacted) run document."""
    checks, scope, catalogue = select(config)
    shared = shared or Shared(config=config)
    started, t0 = now_iso(), time.monotonic()
    # Comparing the working tree with the commit hashes every tracked file (git does, outside the GIL):
    # it overlaps the checks instead of following them.
    state: dict[str, Any] = {}
    probe = threading.Thread(target=_checkout_state, args=(Path(config.repo_path), state), daemon=True)
    probe.start()
    outcome = run_checks(
        checks, shared, concurrency=config.run.concurrency, timeouts=config.run.timeouts, progress=progress
    )
    probe.join()
    if isinstance(state.get("error"), BaseException):
        raise state["error"]
    return build_document(config, catalogue, outcome, scope, started, time.monotonic() - t0, checkout_state=state)


def _checkout_state(repo: Path, into: dict[str, Any]) -> None:
    try:
        into.update(checkout.state(repo))
    except Exception as exc:  # re-raised in the caller's thread, as if called there
        into["error"] = exc


def build_document(
    config: Config,
    catalogue: Catalogue,
    outcome: RunOutcome,
    scope: set[str],
    started: str,
    duration: float,
    today: dt.date | None = None,
    checkout_state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    findings = [f for r in outcome.results for f in r.findings]
    statuses = waivers.evaluate(load_waivers(config), scope | catalogue.check_ids(), today or dt.date.today())
    waivers.apply(findings, statuses)
    criteria, result = grade(catalogue, findings, scope)
    complete = outcome.complete
    if not complete:
        result.summary = "INCOMPLETE RUN - " + result.summary
    doc: dict[str, Any] = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": "harness", "version": __version__},
        "catalogue": {
            "version": catalogue.version,
            "schema_version": catalogue.schema_version,
            "standard": catalogue.standard,
            "source": catalogue.source,
            "themes": [{"id": t.id, "name": t.name} for t in catalogue.themes],
        },
        "run": {
            "started": started,
            "finished": now_iso(),
            "duration_s": round(duration, 3),
            "complete": complete,
            "interrupted_by": outcome.interrupted_by,
            "scope": config.run.scope,
            "gate": config.run.gate,
            "gate_reached": complete and result.reaches(config.run.gate),
            "host": platform.node(),
            "target": {
                "repo": str(config.repo_path),
                "name": config.project.name or Path(config.repo_path).name,
                "urls": list(config.live.urls),
                # commit, shallow, uncommitted changes
                **(checkout.state(Path(config.repo_path)) if checkout_state is None else checkout_state),
            },
            "settings": settings_summary(config),
        },
        "grade": result.to_dict(),
        "criteria": [c.to_dict() for c in criteria],
        "checks": [r.to_dict() for r in outcome.results],
        "waivers": [s.to_dict() for s in statuses],
    }
    if config.run.am2:
        doc["run"]["am2"] = config.run.am2
    if config.run.candidate:
        doc["run"]["candidate"] = config.run.candidate
    doc["evidence_pack"] = evidence_pack.build(doc, config.repo_path)
    return redact.deep(doc)
