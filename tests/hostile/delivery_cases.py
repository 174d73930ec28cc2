"""Delivery-metrics cases: an author who floods the history with deployments to look like an elite team.

- 4,000 release commits and deploy tags a second apart, a token in a deploy tag's name, and reverts naming
  commits that do not exist: the figures stay evidence (manual), never a pass of CI-2 or PR-1, the
  secret is masked, and the run stays inside its deadline and memory.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.hostile import Env, HostileCase, criterion_status, git, outcomes

PLANTED = "ghp_" + "D3l1v3ryS3cr3tT0k3n0000000000000000"  # a GitHub token's shape
COMMITS = 4000


def _fast_import(repo: Path) -> None:
    """Thousands of commits and tags through one `git fast-import` (seconds, not minutes)."""
    lines: list[str] = []
    for i in range(1, COMMITS + 1):
        message = f"Release 1.{i}.0" if i % 2 else f'Revert "x"\n\nThis reverts commit {i:040x}.'
        data = message.encode()
        when = 1_700_000_000 + i  # one second apart
        lines += [f"commit refs/heads/main\nmark :{i}\ncommitter Mallory <m@example.org> {when} +0000"]
        lines += [f"data {len(data)}\n{message}"]
        if i > 1:
            lines += [f"from :{i - 1}"]
        lines += [f"M 644 inline app.py\ndata {len(str(i)) + 1}\n{i}\n"]
        tag = f"deploy-{PLANTED}" if i == COMMITS - 1 else f"deploy-{i}"  # a token in a tag's name, shown
        lines += [f"reset refs/tags/{tag}\nfrom :{i}\n"]
    subprocess.run(
        ["git", "-C", str(repo), "fast-import", "--quiet"],
        input="\n".join(lines).encode(),
        check=True,
        capture_output=True,
        timeout=120,
    )
    git(repo, "checkout", "-q", "main")


def _flood(env: Env) -> list[str]:
    git(env.project, "init", "-q", "-b", "main")
    _fast_import(env.project)
    return ["--only", "repo.delivery-metrics", "--only", "repo.pipeline-deploy"]


def _evidence_only(report: dict[str, Any] | None) -> str | None:
    got = outcomes(report, "repo.delivery-metrics")
    if got != {"manual"}:
        return f"repo.delivery-metrics gave {sorted(got)}, expected manual (evidence only)"
    for crit in ("CI-2", "PR-1"):
        if criterion_status(report, crit) == "met":
            return f"{crit} met on a flood of deployment events"
    return None


CASES = [
    HostileCase(
        "delivery-deploy-flood",
        "false-pass",
        _flood,
        _evidence_only,
        secrets=(PLANTED,),
        deadline_s=120,
    ),
]
