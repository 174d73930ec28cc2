"""repo.bandit: bandit finds no high-severity issue in the committed Python code."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

from harness import fsutil, sandbox
from harness.checks.base import check, finding
from harness.checks.repo import bandit_cache
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import repository
from harness.probes.repository import RepoFile

ID = "repo.bandit"
MAX_SHARDS = 4
MIN_FILES_PER_SHARD = 100  # below this, one process: start-up costs more than it saves
TEST_DIRS = {"tests", "test", "testing"}
SKIP_DIRS = {*TEST_DIRS, "migrations"}  # and what the repository probe calls vendored (repo.vendored)
MAX_PY_BYTES = 1_000_000
BANDIT_TIMEOUT_S = 240.0
RANK = {"LOW": 0, "MEDIUM": 1, "HIGH": 2, "UNDEFINED": 0}
# -x "": the files are chosen already; bandit's default excludes match ".git" anywhere in a path.
BANDIT_ARGS = ("-f", "json", "-q", "-x", "")
_SHOWN = ["bandit", "-f", "json", "-q", "<Python files at HEAD>"]


class Report(TypedDict):
    """The part of bandit's JSON report the check reads (merged over shards)."""

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
    python = [f for f in repo.files if f.suffix == ".py" and f.is_regular and not _skipped(f)]
    # Third-party code (a committed virtualenv under any name, a Jenkins home) is not the candidate's to fix.
    files = [f for f in python if not repo.vendored(f.path)]
    vendored = len(python) - len(files)
    if not files:
        yield finding(ID, Outcome.NOT_APPLICABLE, "no Python source files outside test and vendored folders")
        return
    unread = [f.path for f in files if f.size > MAX_PY_BYTES]
    # Keyed by a digest of the bytes read here, not by the blob id the project's object store claims
    # (git does not check that a blob's bytes match its id, and SHA-1 has chosen-prefix collisions).
    digests: dict[str, str] = {}  # path -> sha256 of its bytes at HEAD
    contents: dict[str, RepoFile] = {}  # digest -> one file holding those bytes (read again if scanned)
    for f, data in repo.blobs([f for f in files if f.size <= MAX_PY_BYTES], MAX_PY_BYTES):
        if data is None:
            unread.append(f.path)
            continue
        digests[f.path] = digest = hashlib.sha256(data).hexdigest()
        contents.setdefault(digest, f)
    fp = bandit_cache.fingerprint(BANDIT_ARGS)
    entries = bandit_cache.read(contents, fp)
    scan = {d: fd for d, fd in contents.items() if d not in entries}  # each distinct content once
    if scan:
        with tempfile.TemporaryDirectory(prefix="harness-bandit-") as tmp:
            targets = _targets(repo, scan, Path(tmp))
            try:
                report = _run_sharded(sorted(targets), Path(tmp), ctx.bounded(BANDIT_TIMEOUT_S)) if targets else None
            except subprocess.TimeoutExpired:
                yield finding(
                    ID, Outcome.COULD_NOT_CHECK, f"bandit did not finish within {ctx.bounded(BANDIT_TIMEOUT_S):.0f} s"
                )
                return
            except OSError as exc:
                yield finding(ID, Outcome.COULD_NOT_CHECK, f"cannot run bandit: {exc}")
                return
        fresh = {} if report is None else _per_file(report, targets) if not isinstance(report, str) else None
        if fresh is None:
            yield finding(
                ID,
                Outcome.COULD_NOT_CHECK,
                "bandit crashed or printed no report" if isinstance(report, str) else "bandit named files not given",
                [
                    Evidence(
                        kind="command",
                        summary="bandit run",
                        command=_SHOWN,
                        excerpt=report if isinstance(report, str) else "",
                    )
                ],
                remediation="Check that bandit is installed (`pip install bandit`) and can parse the code.",
            )
            return
        bandit_cache.write(fresh, fp)
        entries.update(fresh)
    if not digests:
        yield finding(ID, Outcome.COULD_NOT_CHECK, f"no Python file could be read ({len(unread)} too large)")
        return
    results: list[dict[str, object]] = []
    errors: list[object] = []
    for path, digest in sorted(digests.items()):
        entry = entries.get(digest)
        if entry is None:  # its bytes could not be read again for bandit
            unread.append(path)
            continue
        results += [{**r, "filename": path} for r in entry["results"]]
        errors += [{**e, "filename": path} for e in entry["errors"]]
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
    if errors:
        base += f"; {len(errors)} file(s) bandit could not parse"
    if vendored:
        base += f"; {vendored} file(s) in vendored folders (third-party code, e.g. a committed virtualenv) skipped"
    for r in high[:20]:
        yield _issue(Outcome.FAIL, r, repo.head, _SHOWN)
    for r in medium[:20]:
        yield _issue(Outcome.WARN, r, repo.head, _SHOWN)
    if high or medium:
        return
    yield finding(
        ID,
        Outcome.PASS,
        f"{base}: no medium or high severity issue ({len(results)} low)",
        [Evidence(kind="command", summary=base, command=_SHOWN, excerpt=f"{len(results)} results, none medium/high")],
    )


def _targets(repo: repository.RepoSnapshot, scan: dict[str, RepoFile], tmp: Path) -> dict[str, str]:
    """What bandit reads for each content to scan (file name -> content digest).

    The working-tree file itself when it holds exactly HEAD's bytes (a clean checkout: nothing to write),
    otherwise a copy in `tmp`: creating thousands of small files costs seconds on some disks. Bytes are
    read again here, one file at a time, so memory never holds the whole tree; any that no longer match
    their digest (a plain folder edited meanwhile) are left out.
    """
    targets: dict[str, str] = {}
    made: set[Path] = set()
    digest_of = {f.path: d for d, f in scan.items()}
    root = str(repo.root.absolute())  # absolute: bandit runs from elsewhere (joined as strings: 5,000 paths)
    for f, data in repo.blobs(list(scan.values()), MAX_PY_BYTES):
        digest = digest_of[f.path]
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            continue
        here = os.path.join(root, f.path)
        # A plain folder is its own snapshot (read_bytes just read this file from disk): nothing to compare.
        if not repo.is_git or fsutil.read_regular(here, MAX_PY_BYTES + 1) == data:
            targets[here] = digest
            continue
        copy = tmp / "src" / f.path
        if copy.parent not in made:
            copy.parent.mkdir(parents=True, exist_ok=True)
            made.add(copy.parent)
        copy.write_bytes(data)
        targets[str(copy)] = digest
    return targets


def _per_file(report: Report, targets: dict[str, str]) -> dict[str, bandit_cache.Entry] | None:
    """bandit's output split by content digest (every target gets an entry, most of them empty).

    None when bandit named a file it was not given: then nothing can be attributed (or cached) per file.
    """
    back = {os.path.normpath(given): digest for given, digest in targets.items()}
    out: dict[str, bandit_cache.Entry] = {digest: {"results": [], "errors": []} for digest in targets.values()}
    for kind in ("results", "errors"):
        for r in report[kind]:
            if not isinstance(r, dict):
                return None
            digest = back.get(os.path.normpath(str(r.get("filename", ""))))  # bandit prefixes "./"
            if digest is None:
                return None
            out[digest][kind].append({k: v for k, v in r.items() if k != "filename"})
    return out


def _run_sharded(paths: list[str], cwd: Path, timeout: float) -> Report | str:
    """bandit is single-threaded: run one process per core on a share of the files and merge.

    `cwd` is a private folder, never the project's: `python -m` there with -I imports the real
    bandit, not a committed `bandit/` package or `sitecustomize.py`.
    Returns the merged report, or the error output of a shard that printed no report.
    """
    shards = max(1, min(os.cpu_count() or 1, MAX_SHARDS, len(paths) // MIN_FILES_PER_SHARD))
    procs = [
        sandbox.popen(
            sandbox.python_module("bandit", *BANDIT_ARGS, *paths[i::shards]),
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
    return any(p in SKIP_DIRS for p in f.folders) or f.name.startswith("test_") or f.name == "conftest.py"


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
