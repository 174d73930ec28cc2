"""repo.commit-size: the project's own commits are small enough to review and merge easily.

Lockfiles, vendored and generated files are left out of the line counts: a
dependency bump rewrites thousands of lockfile lines without being a big change.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import git_history, git_ownership
from harness.probes.git_history import Commit

ID = "repo.commit-size"
PASS_MEDIAN_LINES = 200  # median lines changed per own commit for a pass
FAIL_MEDIAN_LINES = 500  # above this the commits are big-bang changes
GIANT_LINES = 1000  # one commit this large is a giant
MAX_GIANT_SHARE = 0.10  # more giants than this share of own commits is a warning
MIN_COMMITS = 3  # fewer own commits than this show no increments at all
LARGEST_SHOWN = 5

LOCKFILES = {
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Pipfile.lock",
    "uv.lock", "pdm.lock", "Cargo.lock", "go.sum", "composer.lock", "Gemfile.lock", "packages.lock.json",
    "gradle.lockfile", ".terraform.lock.hcl", "mix.lock", "pubspec.lock", "Podfile.lock",
}  # fmt: skip
EXCLUDED_DIRS = {
    "vendor",
    "node_modules",
    "third_party",
    "third-party",
    "dist",
    "build",
    ".venv",
    "venv",
    "site-packages",
}
GENERATED = ["*.min.js", "*.min.css", "*.map", "*_pb2.py", "*_pb2_grpc.py", "*.pb.go", "*.snap", "*.lock", "*.svg"]


_GENERATED = re.compile("|".join(fnmatch.translate(pat) for pat in GENERATED))


@functools.lru_cache(maxsize=65536)  # the same paths come back in commit after commit
def excluded(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    if name in LOCKFILES or any(p in EXCLUDED_DIRS for p in parts[:-1]):
        return True
    return _GENERATED.match(name) is not None


@dataclass(frozen=True)
class Size:
    commit: Commit
    lines: int
    files: int


def size_of(c: Commit) -> Size:
    kept = [f for f in c.files if not excluded(f.path)]
    lines = sum((f.added or 0) + (f.removed or 0) for f in kept)
    return Size(c, lines, len(kept))


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@check(
    ID,
    title="The project's own commits are small and easy to merge",
    failure_title="The project's own commits are large: hard to review and to merge",
    proves="Changes go in as small increments that are easy to review, merge and revert (CQ-1).",
    remediation=(
        "Commit one logical change at a time (a few dozen to a couple of hundred lines), and split "
        "large features behind feature toggles instead of landing them in one commit."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    history, why = git_history.history_or_reason(ctx)
    if history is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, why, remediation=git_history.remediation_for(why))
        return
    owned = git_ownership.get_ownership(ctx)
    sizes = [size_of(c) for c in owned.own if not c.is_merge]
    sizes = [s for s in sizes if s.files]  # empty or only-generated commits say nothing about size
    yield judge(sizes, len(owned.inherited), history.truncated)


def judge(sizes: list[Size], inherited: int, truncated: str = "") -> Finding:
    note = f" ({inherited} inherited commits left out)" if inherited else ""
    if len(sizes) < MIN_COMMITS:
        return finding(
            ID,
            Outcome.FAIL,
            f"only {len(sizes)} own commits with source changes{note}: no increments to measure "
            f"(at least {MIN_COMMITS} wanted)",
            [Evidence(kind="metric", summary=f"{len(sizes)} own commits", data={"own_commits": len(sizes)})],
        )
    lines = [s.lines for s in sizes]
    files = [s.files for s in sizes]
    median, p90 = statistics.median(lines), percentile(lines, 0.9)
    giants = [s for s in sizes if s.lines > GIANT_LINES]
    share = len(giants) / len(sizes)
    largest = sorted(sizes, key=lambda s: s.lines, reverse=True)[:LARGEST_SHOWN]
    evidence = [
        Evidence(
            kind="metric",
            summary=(
                f"{len(sizes)} own commits: median {median:g} lines / {statistics.median(files):g} files, "
                f"p90 {p90:.0f} lines, {len(giants)} over {GIANT_LINES} lines"
            ),
            data={
                "own_commits": len(sizes),
                "median_lines": median,
                "p90_lines": round(p90, 1),
                "median_files": statistics.median(files),
                "p90_files": round(percentile(files, 0.9), 1),
                "giant_commits": len(giants),
                "thresholds": {
                    "pass_median": PASS_MEDIAN_LINES,
                    "fail_median": FAIL_MEDIAN_LINES,
                    "giant": GIANT_LINES,
                    "max_giant_share": MAX_GIANT_SHARE,
                },
                "excluded": "lockfiles, vendored, generated and binary files; merges; inherited commits",
                "history_truncated": truncated or None,
            },
        )
    ]
    evidence += [
        git_history.commit_evidence(
            s.commit, f"{s.lines} lines in {s.files} files: {s.commit.short} {s.commit.subject}"
        )
        for s in largest
    ]
    summary = f"median {median:g} lines per own commit, p90 {p90:.0f}, {len(giants)} of {len(sizes)} over {GIANT_LINES}"
    if median > FAIL_MEDIAN_LINES:
        return finding(
            ID, Outcome.FAIL, f"{summary}: most commits are large (fail above {FAIL_MEDIAN_LINES}){note}", evidence
        )
    if median > PASS_MEDIAN_LINES:
        return finding(ID, Outcome.WARN, f"{summary}: typical commits above {PASS_MEDIAN_LINES} lines{note}", evidence)
    if share > MAX_GIANT_SHARE:
        return finding(
            ID, Outcome.WARN, f"{summary}: {share:.0%} giant commits (more than {MAX_GIANT_SHARE:.0%}){note}", evidence
        )
    return finding(ID, Outcome.PASS, summary + note, evidence)
