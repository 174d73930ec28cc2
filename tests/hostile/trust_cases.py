"""The project's harness.toml and waivers are the project's word, not the operator's.

Every project here commits an AWS access key, so repo.secrets must fail and CQ-2 must
not be met: a case that hides that failure through its own settings is a false pass.
Settings that would run something, push, or send a credential are traps that write
the marker (or record the token) if they are ever obeyed.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.hostile import Env, HostileCase, commit_all, criterion_status, fails, findings, git, outcomes

AWS_ID = "AKIA" + "Z7Q4M2XKCW9RTB5N"  # split so that scanners of this repository do not flag it
TOKEN = "ghp_" + "trustCaseToken0123456789abcdefABCDEF"  # planted in the runner's environment
TOKEN_VAR = "TRUST_CASE_GITHUB_TOKEN"  # not HARNESS_*: the runner drops those
Judge = Callable[[dict[str, Any] | None], str | None]


def _leaky_project(env: Env, toml: str = "", waivers: str = "") -> None:
    (env.project / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{AWS_ID}"\n')
    (env.project / "README.md").write_text("# a project that wants a better grade\n")
    if toml:
        (env.project / "harness.toml").write_text(toml)
    if waivers:
        (env.project / "harness-waivers.toml").write_text(waivers)
    commit_all(env.project)


def _all(*judges: Judge) -> Judge:
    def judge(report: dict[str, Any] | None) -> str | None:
        return next((msg for j in judges if (msg := j(report))), None)

    return judge


def _secrets_fail(report: dict[str, Any] | None) -> str | None:
    return fails("repo.secrets")(report) or (
        None if criterion_status(report, "CQ-2") == "not_met" else f"CQ-2 is {criterion_status(report, 'CQ-2')}"
    )


def _ignored(*keys: str) -> Judge:
    def judge(report: dict[str, Any] | None) -> str | None:
        settings = (report or {}).get("run", {}).get("settings", {})
        listed = {i.get("key") for i in settings.get("ignored_from_project", [])}
        missing = [k for k in keys if k not in listed]
        return f"not listed as ignored from the project: {', '.join(missing)}" if missing else None

    return judge


def _toml_case(name: str, toml: str, *ignored: str, args: tuple[str, ...] = ("--only", "repo.secrets")) -> HostileCase:
    def build(env: Env) -> list[str]:
        _leaky_project(env, toml)
        return list(args)

    judge = _all(_secrets_fail, _ignored(*ignored))
    return HostileCase(name, "false-pass", build, judge, secrets=(AWS_ID,), deadline_s=120)


class _Trap:
    """A loopback server that answers like a service, Prometheus and GitHub at once.

    Any request carrying an Authorization header is a credential sent where the project said:
    the header is written to the marker, which the runner reports.
    """

    def __init__(self, env: Env) -> None:
        marker = env.marker

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("Authorization"):
                    marker.write_text("credential received: " + self.headers["Authorization"])
                body = json.dumps(
                    {
                        "status": "success",
                        "data": {"groups": [], "alerts": [], "activeTargets": [], "resultType": "vector", "result": []},
                        "instance_id": "i-1",
                        "version": "1.0",
                        "workflow_runs": [],
                        "total_count": 0,
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        env.stack.callback(self.server.server_close)
        env.stack.callback(self.server.shutdown)


def _command_trap(env: Env) -> list[str]:
    trap = _Trap(env)
    touch = ["sh", "-c", f"echo ran > {env.marker}"]
    _leaky_project(
        env,
        f"""[live]
urls = ["{trap.url}"]
prometheus_url = "{trap.url}"
[live.redeploy]
command = {json.dumps(touch)}
timeout_s = 5
[live.fault]
command = {json.dumps(touch)}
restore_command = {json.dumps(touch)}
timeout_s = 5
""",
    )
    return ["--only", "live.immutable-redeploy", "--only", "live.alert-fires", "--only", "repo.secrets"]


def _bare_remote(env: Env, hook: bool) -> Path:
    remote = env.work / "deploy.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(env.project, "push", "-q", str(remote), "main:deploy")  # not a protected branch: the push would happen
    if hook:
        hook_path = remote / "hooks" / "post-receive"
        hook_path.write_text(f"#!/bin/sh\necho pushed > {env.marker}\n")
        hook_path.chmod(0o755)
    return remote


def _push_trap(env: Env) -> list[str]:
    trap = _Trap(env)
    _leaky_project(env)
    remote = _bare_remote(env, hook=True)
    (env.project / "harness.toml").write_text(
        f'[live]\nurls = ["{trap.url}"]\n[live.source_to_user]\nremote = "{remote}"\nbranch = "deploy"\ntimeout_s = 5\n'
    )
    commit_all(env.project, "config")
    return ["--only", "live.source-to-user", "--only", "repo.secrets"]


def _token_trap(env: Env) -> list[str]:
    trap = _Trap(env)
    _leaky_project(env)
    remote = _bare_remote(env, hook=False)
    os.environ[TOKEN_VAR] = TOKEN  # the operator's environment holds a credential
    env.stack.callback(os.environ.pop, TOKEN_VAR, None)
    (env.project / "harness.toml").write_text(
        f"""[live]
urls = ["{trap.url}"]
[live.source_to_user]
remote = "{remote}"
branch = "deploy"
timeout_s = 5
poll_interval_s = 0.2
github_repo = "mallory/app"
github_token_env = "{TOKEN_VAR}"
github_api_url = "{trap.url}"
"""
    )
    commit_all(env.project, "config")
    return ["--only", "live.source-to-user", "--only", "repo.secrets"]


def _elsewhere(env: Env) -> list[str]:
    decoy = env.work / "decoy"
    decoy.mkdir()
    (decoy / "README.md").write_text("# clean\n")
    commit_all(decoy)
    _leaky_project(env, f'[project]\nrepo = "{decoy}"\n')
    return ["--only", "repo.secrets"]


def _same_repo(report: dict[str, Any] | None) -> str | None:
    target = (report or {}).get("run", {}).get("target", {}).get("repo", "")
    return None if target.endswith("/project") else f"verified {target}, not the project"


WAIVE_ALL = """
[[waiver]]
check = "repo.secrets"
justification = "test data only"
approver = "Mallory's friend"
expires = "2999-12-31"
"""


def _waiver_claim(env: Env) -> list[str]:
    toml = WAIVE_ALL.replace("[[waiver]]", "[[waivers]]")
    _leaky_project(env, toml, WAIVE_ALL)
    return ["--only", "repo.secrets"]


def _claims_not_accepted(report: dict[str, Any] | None) -> str | None:
    rows = (report or {}).get("waivers", [])
    if len(rows) != 2:
        return f"expected both waiver claims listed, got {len(rows)}"
    wrong = [w for w in rows if w.get("accepted") or w.get("origin") != "project" or w.get("status") == "applied"]
    return f"a project waiver was accepted: {wrong}" if wrong else None


BAD_WAIVERS = """
[[waiver]]
check = ["repo.secrets"]
justification = "j"
approver = "a"
expires = "2999-01-01"
[[waiver]]
check = "repo.secrets"
justification = "j"
approver = {}
expires = "2999-01-01"
[[waiver]]
check = "repo.secrets"
justification = "j"
approver = "a"
expires = 5
"""


def _bad_waivers(env: Env) -> list[str]:
    _leaky_project(env, waivers=BAD_WAIVERS)
    return ["--only", "repo.secrets", "--accept-waivers"]


def _all_malformed(report: dict[str, Any] | None) -> str | None:
    statuses = [w.get("status") for w in (report or {}).get("waivers", [])]
    return None if statuses == ["malformed"] * 3 else f"waiver statuses {statuses}"


def _opt_in(env: Env) -> list[str]:
    _leaky_project(env, '[run]\nskip = ["repo.gitignore"]\n', WAIVE_ALL)
    return ["--only", "repo.secrets", "--only", "repo.gitignore", "--trust-project", "--accept-waivers"]


def _opt_in_taken(report: dict[str, Any] | None) -> str | None:
    if outcomes(report, "repo.gitignore"):
        return "--trust-project did not take the project's run.skip"
    waived = [f for f in findings(report, "repo.secrets") if f.get("waived")]
    if not waived or not (report or {}).get("run", {}).get("settings", {}).get("trust_project"):
        return "--accept-waivers did not apply the project's waiver"
    return None


def _inf_timeout(env: Env) -> list[str]:
    _leaky_project(env, "[run.timeouts]\n'repo.secrets' = inf\n[live]\nurls = ['ftp://x']\n")
    return ["--only", "repo.secrets"]


def _refused_in_report(report: dict[str, Any] | None) -> str | None:
    ignored = (report or {}).get("run", {}).get("settings", {}).get("ignored_from_project", [])
    reasons = " ".join(str(i.get("reason")) for i in ignored)
    return None if "must be a finite number" in reasons else f"the infinite timeout is not reported: {ignored}"


def _inf_timeout_trusted(env: Env) -> list[str]:
    return [*_inf_timeout(env), "--trust-project"]


CASES = [
    _toml_case("trust-project-gate-none", '[run]\ngate = "none"\n', "run.gate"),
    _toml_case("trust-project-scope-live", '[run]\nscope = "live"\n', "run.scope"),
    _toml_case("trust-project-skips-failing", '[run]\nskip = ["repo.secrets"]\n', "run.skip"),
    _toml_case(
        "trust-project-only-passing", '[run]\nonly = ["repo.gitignore"]\n', "run.only", args=("--scope", "repository")
    ),
    _toml_case(
        "trust-project-tiny-file-limit",
        "[repository]\nmax_file_bytes = 1\nmax_files = 1\n",
        "repository.max_file_bytes",
        "repository.max_files",
    ),
    _toml_case("trust-project-tiny-timeout", "[run.timeouts]\n'repo.secrets' = 0.001\n", "run.timeouts"),
    HostileCase(
        "trust-project-repo-elsewhere",
        "false-pass",
        _elsewhere,
        _all(_secrets_fail, _same_repo, _ignored("project.repo")),
        deadline_s=120,
    ),
    HostileCase(
        "trust-project-commands",
        "code-execution",
        _command_trap,
        _all(_secrets_fail, _ignored("live.redeploy.command", "live.fault.command", "live.fault.restore_command")),
        deadline_s=120,
    ),
    HostileCase(
        "trust-project-push-remote",
        "code-execution",
        _push_trap,
        _all(_secrets_fail, _ignored("live.source_to_user.remote")),
        deadline_s=120,
    ),
    HostileCase(
        "trust-project-token-to-its-url",
        "leak",
        _token_trap,
        _all(_secrets_fail, _ignored("live.source_to_user.github_token_env", "live.source_to_user.github_api_url")),
        secrets=(TOKEN, AWS_ID),
        deadline_s=120,
    ),
    HostileCase(
        "trust-project-waives-failing",
        "false-pass",
        _waiver_claim,
        _all(_secrets_fail, _claims_not_accepted),
        secrets=(AWS_ID,),
        deadline_s=120,
    ),
    HostileCase("trust-waiver-wrong-types", "crash", _bad_waivers, _all(_secrets_fail, _all_malformed), deadline_s=120),
    HostileCase(
        "trust-project-inf-timeout",
        "crash",
        _inf_timeout,
        _all(_secrets_fail, _refused_in_report),
        secrets=(AWS_ID,),
        deadline_s=120,
    ),
    HostileCase("trust-project-inf-timeout-trusted", "crash", _inf_timeout_trusted, exit_codes=(2,), deadline_s=60),
    HostileCase("trust-opt-in-is-taken", "false-pass", _opt_in, _opt_in_taken, deadline_s=120),
]
