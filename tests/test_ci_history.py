"""repo.delivery-metrics's CI part against a fake CI API: a real HTTP server on loopback serving JSON in the
shape GitHub's workflow-runs API and GitLab's pipelines and deployments APIs answer with.

Every time is fixed in the served JSON or through git's dates, so each figure is exact to the second.
The token travels only in the request headers the server records, never into a report.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from harness.config import Config
from harness.model import Outcome
from tests.conftest import RepoBuilder, run_check

ID = "repo.delivery-metrics"
TOKEN = "ghp_" + "Q7" * 18  # a fake token in GitHub's format
TOKEN_ENV = "HARNESS_TEST_CI_TOKEN"


class FakeApi:
    """Serves `routes[path]` (a list of items) in pages of `per_page`, as GitHub (wrapped) or GitLab (bare)."""

    def __init__(self, routes: dict[str, list[dict[str, Any]]], wrap: str | None, status: int = 200) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                api.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                per, page = int(q.get("per_page", 30)), int(q.get("page", 1))
                items = routes.get(parts.path)
                if status != 200 or items is None:
                    self.send_response(status if status != 200 else 404)
                    self.end_headers()
                    return
                chunk = items[(page - 1) * per : page * per]
                body = json.dumps({wrap: chunk, "total_count": len(items)} if wrap else chunk).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def gh_run(i: int, name: str, conclusion: str, updated: str, sha: str = "0" * 40) -> dict[str, Any]:
    return {
        "id": i,
        "name": name,
        "path": f".github/workflows/{name.lower()}.yml",
        "head_branch": "main",
        "head_sha": sha,
        "status": "completed",
        "conclusion": conclusion,
        "created_at": updated,
        "updated_at": updated,
        "html_url": f"https://github.com/o/r/actions/runs/{i}",
    }


@pytest.fixture
def repo(make_repo) -> tuple[RepoBuilder, str]:
    r = make_repo()
    sha = r.write("app.py", "a = 1\n").commit("add app", date="2024-03-01T09:00:00+00:00")
    return r, sha


def ci_config(repo: Path, api: FakeApi, provider: str, project: str, max_pages: int = 5) -> Config:
    cfg = Config(base_dir=repo)
    cfg.project.repo = str(repo)
    ci = cfg.repository.ci_history
    ci.provider, ci.project, ci.token_env, ci.api_url, ci.max_pages = provider, project, TOKEN_ENV, api.url, max_pages
    return cfg


def ci_finding(findings: list) -> Any:
    return next(f for f in findings if f.subject == "ci-history")


def metric(f: Any, key: str) -> dict[str, Any]:
    return next(e.data for e in f.evidence if e.data.get("metric") == key)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def test_github_failed_to_green_and_deploy_lead_time_to_the_second(repo, token) -> None:
    r, sha = repo
    runs = [  # newest first, as the API answers; 150 runs: two pages of 100
        gh_run(9, "CI", "success", "2024-03-02T12:00:00Z"),
        gh_run(8, "Deploy", "success", "2024-03-01T09:42:05Z", sha),  # lead time 42 min 5 s
        gh_run(7, "CI", "success", "2024-03-01T10:12:30Z"),  # green: 12 min 30 s after the first failure
        gh_run(6, "Lint", "success", "2024-03-01T10:03:00Z"),  # another workflow: not CI's recovery
        gh_run(5, "CI", "failure", "2024-03-01T10:05:00Z"),
        gh_run(4, "CI", "timed_out", "2024-03-01T10:00:00Z"),
        gh_run(3, "CI", "cancelled", "2024-03-01T09:59:00Z"),  # nobody broke anything
        *[gh_run(1000 + i, "Nightly", "success", "2024-02-01T00:00:00Z") for i in range(143)],
    ]
    api = FakeApi({"/repos/o/r/actions/runs": runs}, wrap="workflow_runs")
    try:
        findings = run_check(ID, r.path, ci_config(r.path, api, "github", "o/r"))
    finally:
        api.close()
    f = ci_finding(findings)
    assert f.outcome == Outcome.MANUAL, f.reason
    assert metric(f, "ci_recovery")["seconds"] == 750 and metric(f, "ci_recovery")["events"] == 1
    assert metric(f, "ci_lead_time")["seconds"] == 2525
    assert metric(f, "ci_recovery")["band"] == "DORA 2024: elite (less than one hour)"
    assert "time to the next green run 12 min 30 s [DORA 2024: elite (less than one hour)];" in f.reason
    assert "2 failed" in f.reason and "1 deployment runs" in f.reason and "2 pages" in f.reason
    assert len(api.requests) == 2 and all("branch=main" in path for path, _ in api.requests)
    assert all(h.get("authorization") == f"Bearer {TOKEN}" for _, h in api.requests)
    assert TOKEN not in json.dumps([x.to_dict() for x in findings])


def test_gitlab_pipelines_and_deployments_to_the_second(repo, token) -> None:
    r, sha = repo
    pipelines = [  # newest first
        {"id": 30, "sha": "c" * 40, "ref": "main", "status": "success", "updated_at": "2024-03-05T08:00:00.000Z"},
        {"id": 29, "sha": "b" * 40, "ref": "main", "status": "failed", "updated_at": "2024-03-04T08:00:00"},  # no zone
        {"id": 28, "sha": "a" * 40, "ref": "main", "status": "running", "updated_at": "2024-03-03T08:00:00.000Z"},
    ]
    deployments = [
        {
            "id": 5,
            "sha": sha,
            "status": "success",
            "environment": {"name": "production"},
            "finished_at": "2024-03-01T11:00:00.000Z",
        }
    ]
    project = "/projects/group%2Fapp"
    api = FakeApi({f"{project}/pipelines": pipelines, f"{project}/deployments": deployments}, wrap=None)
    try:
        findings = run_check(ID, r.path, ci_config(r.path, api, "gitlab", "group/app"))
    finally:
        api.close()
    f = ci_finding(findings)
    assert f.outcome == Outcome.MANUAL, f.reason
    assert metric(f, "ci_recovery")["seconds"] == 86400  # failed 03-04 08:00, green 03-05 08:00
    assert metric(f, "ci_lead_time")["seconds"] == 7200  # committed 09:00, deployed 11:00
    assert all(h.get("private-token") == TOKEN for _, h in api.requests)
    assert TOKEN not in json.dumps([x.to_dict() for x in findings])


def test_page_limit_is_said_and_errors_are_could_not_check(repo, token) -> None:
    r, _ = repo
    runs = [gh_run(i, "CI", "success", "2024-03-01T10:00:00Z") for i in range(250)]
    api = FakeApi({"/repos/o/r/actions/runs": runs}, wrap="workflow_runs")
    try:
        f = ci_finding(run_check(ID, r.path, ci_config(r.path, api, "github", "o/r", max_pages=2)))
    finally:
        api.close()
    assert f.outcome == Outcome.MANUAL and "more not read: the page limit" in f.reason and len(api.requests) == 2
    garbled = FakeApi({"/repos/o/r/actions/runs": [gh_run(1, "CI", "failure", "yesterday")]}, wrap="workflow_runs")
    try:
        f = ci_finding(run_check(ID, r.path, ci_config(r.path, garbled, "github", "o/r")))
    finally:
        garbled.close()
    assert f.outcome == Outcome.COULD_NOT_CHECK and "no readable time" in f.reason
    denied = FakeApi({}, wrap="workflow_runs", status=401)
    try:
        f = ci_finding(run_check(ID, r.path, ci_config(r.path, denied, "github", "o/r")))
    finally:
        denied.close()
    assert f.outcome == Outcome.COULD_NOT_CHECK and "answered 401" in f.reason and f.remediation
    assert TOKEN not in f.reason


def test_no_token_no_request_and_not_configured_adds_nothing(repo, monkeypatch: pytest.MonkeyPatch) -> None:
    r, _ = repo
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    api = FakeApi({}, wrap="workflow_runs")
    try:
        f = ci_finding(run_check(ID, r.path, ci_config(r.path, api, "github", "o/r")))
    finally:
        api.close()
    assert f.outcome == Outcome.COULD_NOT_CHECK and TOKEN_ENV in f.reason and not api.requests
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    api = FakeApi({}, wrap="workflow_runs")
    try:  # a project name that would walk the API's paths with the operator's token
        f = ci_finding(run_check(ID, r.path, ci_config(r.path, api, "github", "o/r/../../user?x=")))
    finally:
        api.close()
    assert f.outcome == Outcome.COULD_NOT_CHECK and "not a github project name" in f.reason and not api.requests
    plain = Config(base_dir=r.path)
    plain.project.repo = str(r.path)
    assert not [x for x in run_check(ID, r.path, plain) if x.subject == "ci-history"]


def test_bad_settings_are_one_line_naming_the_key() -> None:
    from harness.config import ConfigError, validate

    for key, value in (("provider", "bitbucket"), ("api_url", "ftp://x"), ("max_pages", 0), ("timeout_s", -1.0)):
        cfg = Config()
        setattr(cfg.repository.ci_history, key, value)
        with pytest.raises(ConfigError, match=rf"^repository\.ci_history\.{key}: "):
            validate(cfg)
