"""History and partial-run cases: an author who dresses up the git history, or runs part of the checks.

- a .mailmap that renames the starter's author to the apprentice, to count the starter's commits;
- `git pull` merges as the only "branching";
- a shallow clone, which has no history to judge;
- a history a sync job wrote (one identity repeating one subject), branches and merges included;
- `--only` one check of a criterion, hoping for "met: every mapped check passed".
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.hostile import Env, HostileCase, commit_all, findings, git

TUTOR = "Tutor Teacher <tutor@college.example>"
OWNER = "Mallory <mallory@example.org>"


def _commit(repo: Path, rel: str, text: str, message: str, author: str, day: int) -> None:
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", f"--author={author}", f"--date=2024-03-{day:02d}T12:00:00", "-m", message)


def _starter(repo: Path) -> None:
    git(repo, "init", "-q", "-b", "main")
    for i in range(1, 15):
        _commit(repo, f"app/part{i}.py", f"p = {i}\n", f"starter step {i}", TUTOR, i)
    for name in ("tutor-a", "tutor-b"):
        git(repo, "checkout", "-q", "-b", name)
        _commit(repo, f"app/{name}.py", "t = 1\n", f"{name} work", TUTOR, 15)
        git(repo, "checkout", "-q", "main")
        git(repo, "merge", "-q", "--no-ff", "--no-commit", name)
        git(repo, "commit", "-q", "--no-verify", f"--author={TUTOR}", "-m", f"Merge branch '{name}'")


def _mailmap_claim(env: Env) -> list[str]:
    _starter(env.project)
    for i in range(2):
        _commit(env.project, f"src/own{i}.py", f"o = {i}\n", f"own {i}", OWNER, 20 + i)
    _commit(env.project, ".mailmap", f"{OWNER} {TUTOR}\n", "authors", OWNER, 22)
    return ["--only", "repo.git-history"]


def _pull_merges(env: Env) -> list[str]:
    repo = env.project
    git(repo, "init", "-q", "-b", "main")
    for i in range(10):
        _commit(repo, f"src/m{i}.py", f"m = {i}\n", f"change {i}", OWNER, 1 + i % 4)
    for n in range(3):  # main diverged from its remote copy and pulled back together
        base = git(repo, "rev-parse", "HEAD")
        _commit(repo, f"local{n}.py", "l = 1\n", f"local {n}", OWNER, 6 + n)
        git(repo, "checkout", "-q", "-b", "copy", base)
        _commit(repo, f"remote{n}.py", "r = 1\n", f"remote {n}", OWNER, 6 + n)
        git(repo, "checkout", "-q", "main")
        git(repo, "merge", "-q", "--no-ff", "copy", "-m", "Merge branch 'main' of github.com:mallory/tracker")
        git(repo, "branch", "-q", "-D", "copy")
    return ["--only", "repo.git-history"]


def _shallow(env: Env) -> list[str]:
    source = env.work / "source"
    source.mkdir()
    git(source, "init", "-q", "-b", "main")
    for i in range(12):  # twelve big-bang commits on a day: the full history would fail
        _commit(source, f"src/m{i}.py", "x = 1\n" * 900, f"huge {i}", OWNER, 1)
    env.project.rmdir()
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{source}", str(env.project)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return ["--only", "repo.git-history", "--only", "repo.commit-size", "--only", "repo.fix-commits"]


def _one_check(env: Env) -> list[str]:
    (env.project / ".gitignore").write_text(".venv/\n__pycache__/\n.env\n")
    commit_all(env.project)
    return ["--only", "repo.gitignore"]


def _all_could_not_check(*check_ids: str) -> Callable[[dict[str, Any] | None], str | None]:
    def judge(report: dict[str, Any] | None) -> str | None:
        for cid in check_ids:
            got = {f["outcome"] for f in findings(report, cid)}
            if got != {"could_not_check"}:
                return f"{cid} on a shallow clone gave {sorted(got)}, not could_not_check"
        return None

    return judge


def _no_own_branching(report: dict[str, Any] | None) -> str | None:
    [f] = findings(report, "repo.git-history") or [{"outcome": "absent"}]
    if f["outcome"] == "pass":
        return f"false pass: {f.get('reason')}"
    metric = next((e for e in f.get("evidence", []) if e.get("kind") == "metric"), {})
    if metric.get("data", {}).get("own_merges"):
        return f"sync merges counted as own work: {metric['data']}"
    return None


def _met_on_what_ran(report: dict[str, Any] | None) -> str | None:
    cq1 = next((c for c in (report or {}).get("criteria", []) if c.get("id") == "CQ-1"), None)
    if cq1 is None or cq1.get("status") != "met":
        return f"CQ-1 is {cq1 and cq1.get('status')}, expected met on the one check that ran"
    if not cq1.get("partial") or "every mapped check passed" in cq1.get("reason", ""):
        return f"partial run shown as a full pass: {cq1.get('reason')}"
    if not (report or {}).get("grade", {}).get("provisional"):
        return "grade not provisional after a partial run"
    return None


def _machine_history(env: Env) -> list[str]:
    """A history a sync job wrote: branches and merges galore, none of them a person's working practice."""
    repo = env.project
    git(repo, "init", "-q", "-b", "main")
    _commit(repo, "README.md", "# app\n", "Initial commit", OWNER, 1)
    sync = "repo-sync <sync@tools.example>"
    for i in range(12):
        git(repo, "checkout", "-q", "-b", f"sync-{i}")
        _commit(repo, f"app/m{i}.py", f"m = {i}\n", "Synchronize repo from upstream template", sync, 2 + i)
        git(repo, "checkout", "-q", "main")
        git(repo, "merge", "-q", "--no-ff", "--no-commit", f"sync-{i}")
        git(repo, "commit", "-q", "--no-verify", f"--author={sync}", "-m", f"Merge branch 'sync-{i}'")
    return ["--scope", "repository"]


CASES = [
    HostileCase("history-mailmap-claims-starter", "false-pass", _mailmap_claim, _no_own_branching, deadline_s=120),
    HostileCase("history-pull-merges-as-branching", "false-pass", _pull_merges, _no_own_branching, deadline_s=120),
    HostileCase(
        "history-shallow-clone",
        "false-pass",
        _shallow,
        _all_could_not_check("repo.git-history", "repo.commit-size", "repo.fix-commits"),
        deadline_s=120,
    ),
    HostileCase("history-made-by-a-machine", "false-pass", _machine_history, _no_own_branching, deadline_s=120),
    HostileCase("partial-run-only-one-check", "false-pass", _one_check, _met_on_what_ran, deadline_s=120),
]
