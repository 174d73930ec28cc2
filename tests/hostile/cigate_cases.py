"""The CI gate's own surface: reading the checkout's state (uncommitted changes) and the new report formats.

harness compares the working tree with the commit to warn about uncommitted changes. `git status`
or `git diff` would run the project's fsmonitor hook and clean filters from its .git/config (a copied
folder keeps them), so harness hashes the files itself; these cases hold it to that, and to not
hanging on a tracked file replaced by a FIFO.
"""

from __future__ import annotations

import os
from typing import Any

from tests.hostile import Env, HostileCase, commit_all, git


def _traps(env: Env) -> list[str]:
    (env.project / "app.py").write_text("print('hello')\n")
    (env.project / ".gitattributes").write_text("* filter=evil diff=evil\n")
    commit_all(env.project)
    trap = env.work / "trap.sh"
    trap.write_text(f"#!/bin/sh\necho ran > {env.marker}\ncat\n")
    trap.chmod(0o755)
    for key, value in (
        ("core.fsmonitor", str(trap)),
        ("filter.evil.clean", str(trap)),
        ("filter.evil.smudge", str(trap)),
        ("diff.evil.textconv", str(trap)),
        ("core.hooksPath", str(env.work)),
    ):
        git(env.project, "config", key, value)
    (env.project / "app.py").write_text("print('changed after the commit')\n")  # stat-dirty: filters would run
    return ["--only", "repo.gitignore", "--format", "markdown", "--format", "codequality"]


def _changed_is_reported(report: dict[str, Any] | None) -> str | None:
    target = (report or {}).get("run", {}).get("target", {})
    if target.get("changed_files") != 1 or len(target.get("changed_sample", [])) != 1:
        return f"uncommitted change not reported: {target.get('changed_files')!r} {target.get('changed_sample')!r}"
    return None


def _fifo(env: Env) -> list[str]:
    (env.project / "data.txt").write_text("x\n")
    commit_all(env.project)
    os.remove(env.project / "data.txt")
    os.mkfifo(env.project / "data.txt")  # opening it for reading would block forever
    return ["--only", "repo.gitignore"]


CASES = [
    HostileCase(
        "checkout-state-runs-no-fsmonitor-or-filter", "code-execution", _traps, _changed_is_reported, deadline_s=90
    ),
    HostileCase("checkout-state-tracked-file-is-a-fifo", "crash", _fifo, _changed_is_reported, deadline_s=90),
]
