"""live.source-to-user with a bare git remote whose post-receive hook "deploys" to a local app.

The hook writes the pushed sha into the file the app's /version serves; a remote
without the hook never deploys. A fake GitHub API on loopback answers the Actions
query and records the Authorization header, so the token is shown to be used and
never written to the JSON report.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.config import Config
from harness.model import Outcome
from tests.conftest import git, run_check
from tests.promhelpers import App

HOOK = """#!{python}
import sys, time
for line in sys.stdin:
    old, new, ref = line.split()
    if ref == "refs/heads/{branch}":
        time.sleep(0.3)  # "building"
        open({commit_file!r}, "w").write(new)
"""
TOKEN = "ghp_" + "Z9" * 18  # a fake token in GitHub's format


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(tmp_path / "app").start()
    yield a
    a.stop()


def make_remote(tmp_path: Path, app: App, branch: str = "deploy", deploys: bool = True) -> Path:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", branch, str(remote))
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", branch)
    (seed / "README.md").write_text("app\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "initial")
    git(seed, "push", "-q", str(remote), f"HEAD:refs/heads/{branch}")
    if deploys:
        hook = remote / "hooks" / "post-receive"
        hook.write_text(HOOK.format(python=sys.executable, branch=branch, commit_file=str(app.commit_file)))
        hook.chmod(0o755)
    return remote


def s2u_config(tmp_path: Path, app: App, remote: Path, branch: str = "deploy", timeout: float = 20) -> Config:
    cfg = Config(base_dir=tmp_path)
    cfg.live.urls = [app.url]
    s = cfg.live.source_to_user
    s.remote, s.branch, s.timeout_s, s.poll_interval_s = str(remote), branch, timeout, 0.2
    return cfg


@pytest.mark.live
def test_canary_reaches_the_user_with_lead_time(tmp_path: Path, app: App) -> None:
    remote = make_remote(tmp_path, app)
    findings = run_check("live.source-to-user", tmp_path, s2u_config(tmp_path, app, remote))
    (lead,) = findings
    assert lead.outcome == Outcome.PASS, lead.reason
    assert "lead time" in lead.reason
    timing = next(e for e in lead.evidence if e.kind == "timing")
    deployed = git(tmp_path, "--git-dir", str(remote), "rev-parse", "refs/heads/deploy")
    assert timing.commit == deployed and timing.data["lead_time_s"] >= 0.3
    metric = next(e for e in lead.evidence if e.data.get("metric") == "live_lead_time")
    assert metric.data["seconds"] >= 0.3 and metric.data["commit"] == deployed
    assert metric.data["band"].startswith("DORA 2024: elite") and "definition" in metric.data
    assert git(tmp_path, "--git-dir", str(remote), "show", "--name-only", "--format=", deployed) == ".harness-canary"


@pytest.mark.live
def test_no_deploy_fails_with_last_version_seen(tmp_path: Path, app: App) -> None:
    app.commit_file.write_text("0123456789abcdef")
    remote = make_remote(tmp_path, app, deploys=False)
    (lead,) = run_check("live.source-to-user", tmp_path, s2u_config(tmp_path, app, remote, timeout=2))
    assert lead.outcome == Outcome.FAIL
    assert "within 2 s" in lead.reason and "last version seen: 0123456789abcdef" in lead.reason


def test_protected_branch_refused_unless_allowed(tmp_path: Path) -> None:
    cfg = Config(base_dir=tmp_path)
    cfg.live.urls = ["http://127.0.0.1:9"]
    cfg.live.source_to_user.remote = str(tmp_path / "nowhere.git")
    for branch in ("main", "master", "production", "release/1.2"):
        cfg.live.source_to_user.branch = branch
        (f,) = run_check("live.source-to-user", tmp_path, cfg)
        assert f.outcome == Outcome.COULD_NOT_CHECK and "protected branch" in f.reason
    cfg.live.source_to_user.allow_protected = True
    (f,) = run_check("live.source-to-user", tmp_path, cfg)
    assert f.outcome == Outcome.COULD_NOT_CHECK and "could not clone" in f.reason  # got past the refusal


def test_not_configured(tmp_path: Path) -> None:
    (f,) = run_check("live.source-to-user", tmp_path, Config(base_dir=tmp_path))
    assert f.outcome == Outcome.COULD_NOT_CHECK and "live.source_to_user.remote" in f.reason


class FakeGitHub:
    def __init__(self, conclusion: str = "success") -> None:
        self.auth: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.auth.append(self.headers.get("Authorization", ""))
                sha = self.path.partition("head_sha=")[2]
                run = {
                    "id": 4242, "name": "ci", "status": "completed", "conclusion": conclusion, "event": "push",
                    "html_url": f"https://github.example/acme/app/actions/runs/4242?sha={sha}",
                    "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:01:00Z",
                }  # fmt: skip
                body = json.dumps({"total_count": 1, "workflow_runs": [run]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.live
def test_ci_run_followed_and_token_never_reported(tmp_path: Path, app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = make_remote(tmp_path, app)
    github = FakeGitHub()
    monkeypatch.setenv("HARNESS_TEST_GH_TOKEN", TOKEN)
    project = tmp_path / "project"
    project.mkdir()
    # The remote, the token's variable and the API URL are the operator's settings: --config, not the project.
    operator = tmp_path / "operator.toml"
    operator.write_text(
        f"""
[live]
urls = ["{app.url}"]
[live.source_to_user]
remote = "{remote}"
branch = "deploy"
timeout_s = 20
poll_interval_s = 0.2
github_repo = "acme/app"
github_token_env = "HARNESS_TEST_GH_TOKEN"
github_api_url = "{github.url}"
"""
    )
    out = tmp_path / "out"
    try:
        argv = ["verify", "--repo", str(project), "--config", str(operator), "--only", "live.source-to-user"]
        argv += ["--format", "json"]
        main([*argv, "--out", str(out), "--gate", "none"])
    finally:
        github.close()
    text = (out / "harness-report.json").read_text()
    assert TOKEN not in text
    assert github.auth and all(a == f"Bearer {TOKEN}" for a in github.auth)
    doc = json.loads(text)
    checks = doc["checks"] if "checks" in doc else doc["results"]
    (result,) = [c for c in checks if c["id"] == "live.source-to-user"]
    outcomes = {f.get("subject"): f["outcome"] for f in result["findings"]}
    assert outcomes == {"lead-time": "pass", "ci-run": "pass"}, result["findings"]
