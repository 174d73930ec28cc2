"""Hostile live targets: answers built to look available, secure or healthy when they are not, or to leak.

Servers run on loopback in the test process (registered on `env.stack`); 127.0.0.2 stands for an
unrelated host. The operator's configuration (short windows, commands) lives in `env.work`, never in
the project.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.hostile import Env, HostileCase, commit_all, findings, git, no_pass
from tests.livehelpers import AppBehaviour, Served, TlsCA, serve_app, serve_handler, serve_redirect

OTHER = "127.0.0.2"
TOKEN_USER = "c0ffee4b1d9e7a52f3c8d6e0b4a19f7e"  # no known prefix: only its place in the URL says it is secret
ECHOED_BEARER = "eyJhbGciOiJIUzI1NiJ9.ZWNob2Vk.c2lnbmF0dXJl"
ECHOED_AWS_ID = "AKIAZ3XAMPL3K3Y4TEST"
ECHOED_AWS_SECRET = "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"
ECHOED_COOKIE = "sessid-7f3a9c2e5b1d8046"
SECTIONS = """
[live.availability]
window_s = 2
rate_per_s = 5
[live.load]
requests = 20
concurrency = 2
"""


def _config(live: dict[str, Any] | None = None, extra: str = "") -> str:
    """The operator's harness.toml: short windows and timeouts, plus `live` keys (JSON values are TOML too)."""
    lines = ["[live]", "connect_timeout_s = 2", "read_timeout_s = 3"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in (live or {}).items()]
    return "\n".join(lines) + "\n" + SECTIONS + extra


def _project(env: Env, config: str = "") -> list[str]:
    (env.project / "README.md").write_text("# a service\n")
    commit_all(env.project)
    path = env.work / "operator.toml"
    path.write_text(config or _config())
    return ["--config", str(path)]


def _serve(env: Env, served: Served) -> Served:
    env.stack.callback(served.stop)
    return served


def _only(*ids: str) -> list[str]:
    return [a for cid in ids for a in ("--only", cid)]


def _fail_each(*ids: str) -> Callable[[dict[str, Any] | None], str | None]:
    """Expect: each check failed and none passed."""

    def judge(report: dict[str, Any] | None) -> str | None:
        for cid in ids:
            got = {f["outcome"] for f in findings(report, cid)}
            if got != {"fail"}:
                return f"{cid}: {sorted(got) or 'no finding'} (expected only fail)"
        return None

    return judge


def _redirecting(location: Callable[[Served], Callable[[str], str]]) -> Callable[[Env], list[str]]:
    def build(env: Env) -> list[str]:
        other = _serve(env, serve_app(host_name=OTHER, bind=OTHER))  # a healthy app on another host
        entry = _serve(env, serve_redirect(location(other), 302))
        return [*_project(env), "--url", entry.url, *_only("live.availability", "live.load")]

    return build


def _https_to_unrelated(env: Env) -> list[str]:
    ca = TlsCA(env.work / "ca")
    site = _serve(env, serve_app(ca.server_context()))
    unrelated = _serve(env, serve_app(ca.server_context(OTHER), host_name=OTHER, bind=OTHER))
    plain = _serve(env, serve_redirect(lambda p: unrelated.url + p, 301))
    args = _project(env, _config({"http_urls": [plain.url + "/"]}))
    return [*args, "--url", site.url, "--ca-bundle", str(ca.ca_file), *_only("live.https-redirect")]


def _plain_redirect_failed(report: dict[str, Any] | None) -> str | None:
    got = [
        f for f in findings(report, "live.https-redirect") if "redirect" in f["reason"] and "HSTS" not in f["reason"]
    ]
    if not got:
        return "no redirect finding"
    return None if all(f["outcome"] == "fail" for f in got) else f"false pass: {[f['reason'] for f in got]}"


def _echo_handler() -> type[BaseHTTPRequestHandler]:
    """Answers like httpbin's /anything: echoes request headers it 'saw', plus a session cookie."""
    echoed = {
        "headers": {"Authorization": f"Bearer {ECHOED_BEARER}", "Cookie": f"sid={ECHOED_COOKIE}"},
        "env": {"AWS_ACCESS_KEY_ID": ECHOED_AWS_ID, "aws_secret_access_key": ECHOED_AWS_SECRET},
        "status": "ok",
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps(echoed).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Set-Cookie", f"session={ECHOED_COOKIE}; HttpOnly")
            self.send_header("X-Debug-Authorization", f"Bearer {ECHOED_BEARER}")
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _echoing(env: Env) -> list[str]:
    served = _serve(env, serve_handler(_echo_handler()))
    return [*_project(env), "--url", served.url, *_only("live.health", "live.availability")]


def _token_user(env: Env) -> list[str]:
    app = _serve(env, serve_app(host_name="127.0.0.1"))
    url = app.url.replace("http://", f"http://{TOKEN_USER}@")
    return [*_project(env), "--url", url, *_only("live.health", "live.load", "live.https-redirect")]


def _token_in_bad_url(env: Env) -> list[str]:
    return [*_project(env), "--url", f"ftp://{TOKEN_USER}@127.0.0.1/\u202e\x1b[2J"]


def _huge_label(env: Env) -> list[str]:
    label = "x" * 4_000_000
    body = f'http_requests_total{{path="{label}",status="200"}} 1\nshop_orders_total{{k="{label}"}} 2\n'.encode()
    app = _serve(env, serve_app(behaviour=AppBehaviour(metrics_body=body), host_name="127.0.0.1"))
    return [
        *_project(env),
        "--url",
        app.url,
        "--metrics-url",
        app.url + "/metrics",
        *_only("live.metrics", "live.custom-metrics"),
    ]


def _huge_subject(env: Env) -> list[str]:
    """A 10 MB commit subject: masking must stay linear (the old patterns ran for hours, ignoring SIGTERM)."""
    (env.project / "README.md").write_text("# a service\n")
    message = env.work / "message.txt"  # too long for an argument: git reads it from a file
    message.write_text("fix: " + "a" * 10_000_000 + "\n")
    git(env.project, "init", "-q", "-b", "main")
    git(env.project, "add", "-A")
    git(env.project, "commit", "-q", "--no-verify", "-F", str(message))
    return ["--scope", "repository"]


DRILL_RULE = "groups:\n- name: drills\n  rules:\n  - alert: NeverInTime\n    expr: vector(1) > 2\n    for: 10m\n"
_injected: dict[str, Path] = {}


def _drill_interrupted(env: Env) -> list[str]:
    """The fault command injects (a file) and then interrupts the verifier itself, as Ctrl-C would."""
    from tests.promhelpers import start_prometheus

    prom = start_prometheus(env.work / "prom", {}, DRILL_RULE)
    env.stack.callback(prom.stop)
    injected = _injected["drill"] = env.work / "INJECTED"
    fault = f"import os, signal; open({str(injected)!r}, 'w').close(); os.kill(os.getppid(), signal.SIGINT)"
    restore = f"import os; os.remove({str(injected)!r})"
    fault_section = (
        f"[live.fault]\ncommand = {json.dumps([sys.executable, '-c', fault])}\n"
        f'restore_command = {json.dumps([sys.executable, "-c", restore])}\nalert = "NeverInTime"\n'
    )
    config = _config({"prometheus_url": prom.url}, fault_section)
    return _project(env, config) + _only("live.alert-fires")


def _drill_restored(report: dict[str, Any] | None) -> str | None:
    if _injected["drill"].exists():
        return "the fault was left injected"
    check = next((c for c in (report or {}).get("checks", []) if c["id"] == "live.alert-fires"), None)
    if check is None or check["status"] != "finished":
        return f"the drill was not reported as finished: {check and check['status']}"
    if (report or {}).get("run", {}).get("complete") is not False:
        return "the interrupted run is not marked incomplete"
    return no_pass("live.alert-fires")(report)


def _refused(report: dict[str, Any] | None) -> str | None:
    return None if report is None else "a report was written for a refused configuration"


CASES = [
    HostileCase(
        "live-redirect-to-file",
        "false-pass",
        _redirecting(lambda o: lambda p: "file:///etc/passwd"),
        _fail_each("live.availability", "live.load"),
        deadline_s=60,
    ),
    HostileCase(
        "live-redirect-to-other-host",
        "false-pass",
        _redirecting(lambda o: lambda p: o.url + p),
        _fail_each("live.availability", "live.load"),
        deadline_s=60,
    ),
    HostileCase(
        "live-redirect-to-itself",
        "false-pass",
        _redirecting(lambda o: lambda p: p),
        _fail_each("live.availability", "live.load"),
        deadline_s=60,
    ),
    HostileCase(
        "live-https-redirect-to-unrelated-site",
        "false-pass",
        _https_to_unrelated,
        _plain_redirect_failed,
        deadline_s=60,
    ),
    HostileCase(
        "live-echoed-authorization-and-aws-key",
        "leak",
        _echoing,
        secrets=(ECHOED_BEARER, ECHOED_AWS_ID, ECHOED_AWS_SECRET, ECHOED_COOKIE),
        deadline_s=60,
    ),
    HostileCase(
        "live-url-token-as-user-name",
        "leak",
        _token_user,
        no_pass("live.https-redirect"),
        secrets=(TOKEN_USER,),
        deadline_s=60,
    ),
    HostileCase(
        "live-url-token-in-config-error",
        "leak",
        _token_in_bad_url,
        _refused,
        secrets=(TOKEN_USER, "\u202e"),
        deadline_s=30,
        exit_codes=(2,),
    ),
    HostileCase("live-huge-metric-label", "resources", _huge_label, deadline_s=90),
    HostileCase("mask-10mb-commit-subject", "resources", _huge_subject, deadline_s=120),
    HostileCase("live-fault-drill-interrupted", "false-pass", _drill_interrupted, _drill_restored, deadline_s=120),
]
