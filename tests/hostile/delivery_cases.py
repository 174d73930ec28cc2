"""Delivery-metrics cases: an author who floods the history with deployments to look like an elite team.

- 4,000 release commits and deploy tags a second apart, a token in a deploy tag's name, and reverts naming
  commits that do not exist: the figures stay evidence (manual), never a pass of CI-2 or PR-1, the
  secret is masked, and the run stays inside its deadline and memory.
- a harness.toml that asks for its CI history with the verifier's own environment variable as the token,
  sent to the author's server: the token variable and the API URL are the operator's, so nothing is sent
  (the server sees no request) and the CI part says what the operator must set.
"""

from __future__ import annotations

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.hostile import Env, HostileCase, commit_all, criterion_status, findings, git, outcomes

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


_TOKEN_GRAB_HITS: list[str] = []


def _token_grab(env: Env) -> list[str]:
    class Grab(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            _TOKEN_GRAB_HITS.append(self.path)
            self.send_response(200)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Grab)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env.stack.callback(server.server_close)
    env.stack.callback(server.shutdown)
    _TOKEN_GRAB_HITS.clear()
    git(env.project, "init", "-q", "-b", "main")
    (env.project / "harness.toml").write_text(
        "[repository.ci_history]\n"
        'provider = "github"\nproject = "mallory/app"\ntoken_env = "PATH"\n'
        f'api_url = "http://127.0.0.1:{server.server_port}"\n'
    )
    commit_all(env.project, "ci history, please")
    return ["--only", "repo.delivery-metrics"]


def _nothing_sent(report: dict[str, Any] | None) -> str | None:
    if _TOKEN_GRAB_HITS:
        return f"the project's API server received {len(_TOKEN_GRAB_HITS)} requests"
    ci = [f for f in findings(report, "repo.delivery-metrics") if f.get("subject") == "ci-history"]
    if [f["outcome"] for f in ci] != ["could_not_check"] or "token_env" not in ci[0]["reason"]:
        return f"expected one could_not_check CI finding naming token_env, got {ci}"
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
    HostileCase("delivery-ci-token-grab", "leak", _token_grab, _nothing_sent),
]
