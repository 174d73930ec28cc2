"""repo.bandit: bandit finds no high-severity issue in the committed Python code."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TypedDict

from harness import fsutil, sandbox
from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import repository
from harness.probes.repository import RepoFile

ID = "repo.bandit"
MAX_SHARDS = 4
CACHE_MAX_BYTES = 50_000_000
MIN_FILES_PER_SHARD = 100  # below this, one process: start-up costs more than it saves
TEST_DIRS = {"tests", "test", "testing"}
SKIP_DIRS = {*TEST_DIRS, "node_modules", ".venv", "venv", "site-packages", "migrations"}
MAX_PY_BYTES = 1_000_000
BANDIT_TIMEOUT_S = 240.0
RANK = {"LOW": 0, "MEDIUM": 1, "HIGH": 2, "UNDEFINED": 0}


class Report(TypedDict):
    """The part of bandit's JSON report the check reads (merged over shards, and cached)."""

    results: list[dict[str, object]]
    errors: list[object]


@check(
    ID,
    title="Bandit finds no high-severity security issue in the Python code",
    failure_title="Bandit finds high-severity security issues in the Python code",
    proves=(
        "The committed application code has no shell injection, unsafe deserialisation or similar issue that "
        "static analysis rates high severity with at least medium confidence (CQ-2)."
    ),
    remediation=(
        "Fix each reported line (e.g. pass an argument list instead of shell=True, use yaml.safe_load); "
        "if one is a false positive, mark it `# nosec BXXX` with a reason."
    ),
    source="repository",
    timeout=300,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    if repo.is_git and repo.head is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "the repository has no commits yet")
        return
    files = [f for f in repo.files if f.suffix == ".py" and f.is_regular and not _skipped(f)]
    if not files:
        yield finding(ID, Outcome.NOT_APPLICABLE, "no Python source files outside test folders")
        return
    unread = [f.path for f in files if f.size > MAX_PY_BYTES]
    key = _cache_key(files)
    report: Report | str | None = _cache_read(key)
    if report is None:
        with tempfile.TemporaryDirectory(prefix="harness-bandit-") as tmp:
            targets, unreadable = _targets(repo, files, Path(tmp))
            unread += [p for p in unreadable if p not in unread]
            if not targets:
                yield finding(ID, Outcome.COULD_NOT_CHECK, f"no Python file could be read ({len(unread)} too large)")
                return
            try:
                report = _run_sharded(sorted(targets), Path(tmp), ctx.bounded(BANDIT_TIMEOUT_S))
            except subprocess.TimeoutExpired:
                yield finding(
                    ID, Outcome.COULD_NOT_CHECK, f"bandit did not finish within {ctx.bounded(BANDIT_TIMEOUT_S):.0f} s"
                )
                return
            except OSError as exc:
                yield finding(ID, Outcome.COULD_NOT_CHECK, f"cannot run bandit: {exc}")
                return
        if not isinstance(report, str):
            back = {os.path.normpath(given): path for given, path in targets.items()}
            for r in report["results"]:
                if isinstance(r, dict):  # the repository path, not where bandit read it (it prefixes "./")
                    name = str(r.get("filename", ""))
                    r["filename"] = back.get(os.path.normpath(name), name)
            if not unread:
                _cache_write(key, report)
    shown = ["bandit", "-f", "json", "-q", "<Python files at HEAD>"]
    if isinstance(report, str):
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            "bandit crashed or printed no report",
            [Evidence(kind="command", summary="bandit run", command=shown, excerpt=report)],
            remediation="Check that bandit is installed (`pip install bandit`) and can parse the code.",
        )
        return
    results = report["results"]
    high, medium = [], []
    for r in results:
        sev, conf = RANK.get(str(r.get("issue_severity")), 0), RANK.get(str(r.get("issue_confidence")), 0)
        if sev == 2 and conf >= 1:
            high.append(r)
        elif sev >= 1 and conf >= 1:
            medium.append(r)
    base = f"bandit scanned {len(files) - len(unread)} Python files at {(repo.head or 'the working folder')[:12]}"
    if unread:
        base += f" ({len(unread)} too large to read: {', '.join(unread[:3])})"
    errors = report.get("errors") or []
    if errors:
        base += f"; {len(errors)} file(s) bandit could not parse"
    for r in high[:20]:
        yield _issue(Outcome.FAIL, r, repo.head, shown)
    for r in medium[:20]:
        yield _issue(Outcome.WARN, r, repo.head, shown)
    if high or medium:
        return
    yield finding(
        ID,
        Outcome.PASS,
        f"{base}: no medium or high severity issue ({len(results)} low)",
        [Evidence(kind="command", summary=base, command=shown, excerpt=f"{len(results)} results, none medium/high")],
    )


def _targets(repo: repository.RepoSnapshot, files: list[RepoFile], tmp: Path) -> tuple[dict[str, str], list[str]]:
    """What bandit reads for each file at HEAD, mapped back to the repository path; and what was unreadable.

    The working-tree file itself when it holds exactly HEAD's bytes (a clean checkout: nothing to write),
    otherwise a copy in `tmp`: creating thousands of small files costs seconds on some disks.
    """
    targets: dict[str, str] = {}
    unread: list[str] = []
    made: set[Path] = set()
    for f in files:
        data = repo.read_bytes(f.path, MAX_PY_BYTES)
        if data is None:
            unread.append(f.path)
            continue
        # A plain folder is its own snapshot (read_bytes just read this file from disk): nothing to compare.
        if not repo.is_git or fsutil.read_regular(repo.root / f.path, MAX_PY_BYTES + 1) == data:
            targets[str((repo.root / f.path).absolute())] = f.path  # absolute: bandit runs from elsewhere
            continue
        copy = tmp / "src" / f.path
        if copy.parent not in made:
            copy.parent.mkdir(parents=True, exist_ok=True)
            made.add(copy.parent)
        copy.write_bytes(data)
        targets[str(copy)] = f.path
    return targets, unread


def _cache_key(files: list[RepoFile]) -> str | None:
    """Blob ids name the exact contents, so the same tree with the same bandit gives the same report."""
    if not all(f.oid for f in files):
        return None
    digest = hashlib.sha256(f"bandit {_bandit_version()} report-v2\n".encode())  # v2: repository paths
    for f in sorted(files, key=lambda f: f.path):
        digest.update(f"{f.path}\0{f.oid}\n".encode())
    return digest.hexdigest()


def _bandit_version() -> str:
    try:
        return importlib.metadata.version("bandit")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "harness" / "bandit"


def _cache_read(key: str | None) -> Report | None:
    if key is None:
        return None
    try:
        data = json.loads(fsutil.read_bounded(_cache_dir() / f"{key}.json", CACHE_MAX_BYTES))
    except (OSError, ValueError):
        return None
    ok = (
        isinstance(data, dict)
        and isinstance(data.get("results"), list)
        and all(isinstance(r, dict) for r in data["results"])
        and isinstance(data.get("errors"), list)
    )
    return data if ok else None


def _cache_write(key: str | None, report: Report) -> None:
    if key is None:
        return
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
        fsutil.write_atomic(_cache_dir() / f"{key}.json", json.dumps(report))


def _run_sharded(paths: list[str], cwd: Path, timeout: float) -> Report | str:
    """bandit is single-threaded: run one process per core on a share of the files and merge.

    `cwd` is a private folder, never the project's: `python -m` there with -I imports the real
    bandit, not a committed `bandit/` package or `sitecustomize.py`.
    Returns the merged report, or the error output of a shard that printed no report.
    """
    shards = max(1, min(os.cpu_count() or 1, MAX_SHARDS, len(paths) // MIN_FILES_PER_SHARD))
    procs = [
        sandbox.popen(
            # -x "": the files are chosen already; bandit's default excludes match ".git" anywhere in a path.
            sandbox.python_module("bandit", "-f", "json", "-q", "-x", "", *paths[i::shards]),
            cwd=cwd,
            env=sandbox.clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(shards)
    ]
    merged: Report = {"results": [], "errors": []}
    deadline = time.monotonic() + timeout
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            try:
                part = json.loads(out.decode("utf-8", "replace"))
                merged["results"] += part["results"]
                merged["errors"] += part.get("errors") or []
            except (ValueError, KeyError, TypeError):
                return f"exit {proc.returncode}: " + err.decode("utf-8", "replace").strip()[-500:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return merged


def _skipped(f: RepoFile) -> bool:
    parts = PurePosixPath(f.path).parts
    return any(p in SKIP_DIRS for p in parts[:-1]) or parts[-1].startswith("test_") or parts[-1] == "conftest.py"


def _issue(outcome: Outcome, r: dict[str, object], head: str | None, shown: list[str]) -> Finding:
    path = str(r.get("filename", ""))
    line = int(r.get("line_number") or 1)  # type: ignore[call-overload]
    rng = r.get("line_range") or [line]
    end = max(rng) if isinstance(rng, list) and rng else line
    test = f"{r.get('test_id')} {r.get('test_name')}"
    where = f"{path}:{line}"
    return finding(
        ID,
        outcome,
        f"{where}: {test}: {r.get('issue_text')} "
        f"(severity {r.get('issue_severity')}, confidence {r.get('issue_confidence')})",
        [
            Evidence(
                kind="file",
                summary=f"{where}: {test}",
                path=path,
                start_line=line,
                end_line=end,
                commit=head,
                excerpt=str(r.get("code") or ""),
                data={"more_info": str(r.get("more_info", ""))},
            )
        ],
        subject=where,
    )
