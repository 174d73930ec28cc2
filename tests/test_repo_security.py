"""repo.security-scanning, repo.bandit, repo.dependency-audit, repo.workflow-lint on real git repos."""

import http.server
import json
import threading
import urllib.request

import pytest

from harness.checks.repo import dependency_audit
from harness.config import Config
from harness.model import Outcome
from tests.conftest import run_check

SCANS = """name: CI
on: [push, pull_request]
jobs:
  security:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip-audit -r requirements.txt
      - run: bandit -r src
"""


def test_blocking_scans_pass(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/sec.yml", SCANS).commit("ci")
    [f] = run_check("repo.security-scanning", repo.path)
    assert f.outcome is Outcome.PASS
    assert "pip-audit" in f.reason and "bandit" in f.reason


def test_scan_with_or_true_cannot_fail(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/sec.yml", SCANS.replace("bandit -r src", "bandit -r src || true")).commit("ci")
    found = run_check("repo.security-scanning", repo.path)
    warn = next(f for f in found if f.outcome is Outcome.WARN)
    assert "bandit" in warn.reason and ".github/workflows/sec.yml:9" in warn.reason
    # pip-audit still gates: one scan kind that can fail the pipeline is enough (issue 9, CQ-2).
    assert any(f.outcome is Outcome.PASS and "pip-audit" in f.reason for f in found)


def test_trivy_without_exit_code_and_exit_zero(make_repo):
    repo = make_repo()
    wf = SCANS.replace("pip-audit -r requirements.txt", "trivy image app:latest")
    wf = wf.replace("bandit -r src", "bandit -r src --exit-zero")
    repo.write(".github/workflows/sec.yml", wf).commit("ci")
    found = run_check("repo.security-scanning", repo.path)
    assert Outcome.FAIL in [f.outcome for f in found]
    assert any("--exit-zero" in f.reason for f in found)
    assert any("trivy" in f.reason and "exits 0" in f.reason for f in found)
    fixed = make_repo("fixed")
    wf = wf.replace("trivy image", "trivy image --exit-code 1").replace(" --exit-zero", "")
    fixed.write(".github/workflows/sec.yml", wf).commit("ci")
    assert [f.outcome for f in run_check("repo.security-scanning", fixed.path)] == [Outcome.PASS]


def test_no_scans_fails(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", "on: [push]\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: pytest\n")
    repo.write(".github/dependabot.yml", "version: 2\nupdates: []\n").commit("ci")
    [f] = run_check("repo.security-scanning", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "Dependabot alerts are not a pipeline step" in f.reason


def test_bandit_high_severity_fails_with_line(make_repo):
    repo = make_repo()
    src = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    repo.write("app/tool.py", src).write("tests/test_x.py", src).commit("code")
    found = run_check("repo.bandit", repo.path)
    fails = [f for f in found if f.outcome is Outcome.FAIL]
    assert len(fails) == 1  # the copy under tests/ is excluded
    assert fails[0].subject == "app/tool.py:5"
    assert fails[0].evidence[0].path == "app/tool.py"
    assert fails[0].evidence[0].start_line == 5


def test_bandit_clean_project_passes_and_uncommitted_ignored(make_repo):
    repo = make_repo()
    repo.write("app/main.py", "def add(a, b):\n    return a + b\n").commit("code")
    (repo.path / "app" / "bad.py").write_text("import subprocess\nsubprocess.call(input(), shell=True)\n")
    [f] = run_check("repo.bandit", repo.path)
    assert f.outcome is Outcome.PASS


def test_bandit_without_python_not_applicable(make_repo):
    repo = make_repo()
    repo.write("index.js", "console.log(1)\n").commit("js")
    [f] = run_check("repo.bandit", repo.path)
    assert f.outcome is Outcome.NOT_APPLICABLE


def _config(repo_path, advisory_path):
    cfg = Config(base_dir=repo_path)
    cfg.repository.advisory_file = str(advisory_path)
    return cfg


def test_dependency_audit_offline_could_not_check(make_repo):
    repo = make_repo()
    repo.write("requirements.txt", "flask==2.0.0\n").commit("deps")
    [f] = run_check("repo.dependency-audit", repo.path)
    assert f.outcome is Outcome.COULD_NOT_CHECK
    assert "--advisory-file" in f.reason


def test_dependency_audit_matches_vulnerable_pin(make_repo, tmp_path):
    repo = make_repo()
    repo.write("requirements.txt", "# web\nrequests==2.31.0\nFlask==2.0.0\n").commit("deps")
    adv = tmp_path / "adv.json"
    adv.write_text(
        json.dumps(
            {
                "advisories": [
                    {
                        "id": "GHSA-test-0001",
                        "package": "flask",
                        "ecosystem": "PyPI",
                        "vulnerable": "<2.2.5",
                        "severity": "high",
                        "fix": "2.2.5",
                    }
                ]
            }
        )
    )
    found = run_check("repo.dependency-audit", repo.path, _config(repo.path, adv))
    [f] = [f for f in found if f.outcome is Outcome.FAIL]
    assert "GHSA-test-0001" in f.reason and "requirements.txt:3" in f.reason
    assert f.evidence[0].start_line == 3


def test_dependency_audit_osv_entries_and_clean_pass(make_repo, tmp_path):
    repo = make_repo()
    repo.write("requirements.txt", "jinja2==3.1.4\n").commit("deps")
    osv = {
        "id": "PYSEC-2024-1",
        "affected": [
            {
                "package": {"name": "Jinja2", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.3"}]}],
            }
        ],
    }
    adv = tmp_path / "osv.json"
    adv.write_text(json.dumps([osv]))
    assert [f.outcome for f in run_check("repo.dependency-audit", repo.path, _config(repo.path, adv))] == [Outcome.PASS]
    old = make_repo("old")
    old.write("requirements.txt", "jinja2==3.1.2\nrequests>=2\n").commit("deps")
    outs = sorted(f.outcome for f in run_check("repo.dependency-audit", old.path, _config(old.path, adv)))
    assert outs == sorted([Outcome.FAIL, Outcome.WARN])


def test_dependency_audit_bad_advisory_file(make_repo, tmp_path):
    repo = make_repo()
    repo.write("requirements.txt", "flask==2.0.0\n").commit("deps")
    adv = tmp_path / "bad.json"
    adv.write_text("{not json")
    [f] = run_check("repo.dependency-audit", repo.path, _config(repo.path, adv))
    assert f.outcome is Outcome.COULD_NOT_CHECK


PINNED_OK = """name: CI
on:
  push:
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - run: pytest
"""


def test_workflow_lint_clean_passes(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", PINNED_OK).commit("ci")
    found = run_check("repo.workflow-lint", repo.path)
    assert [f.outcome for f in found] == [Outcome.PASS, Outcome.PASS], [f.reason for f in found]


def test_workflow_lint_injection_and_schema(make_repo):
    repo = make_repo()
    bad = PINNED_OK.replace("      - run: pytest\n", '      - run: echo "${{ github.event.head_commit.message }}"\n')
    repo.write(".github/workflows/ci.yml", bad)
    repo.write(".github/workflows/wrong.yml", "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    repo.commit("ci")
    found = run_check("repo.workflow-lint", repo.path)
    assert any(
        f.outcome is Outcome.FAIL and "template-injection" in f.reason and "ci.yml:12" in f.reason for f in found
    )
    assert any(f.outcome is Outcome.FAIL and "wrong.yml" in f.reason and "schema" in f.reason for f in found)


def test_workflow_lint_malformed_yaml_names_file(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/broken.yml", "on: [push\n").commit("ci")
    found = run_check("repo.workflow-lint", repo.path)
    assert [f.outcome for f in found] == [Outcome.FAIL]
    assert "broken.yml" in found[0].reason


def test_workflow_lint_not_applicable_without_workflows(make_repo):
    repo = make_repo()
    repo.write(".gitlab-ci.yml", "t:\n  script: [pytest]\n").commit("ci")
    [f] = run_check("repo.workflow-lint", repo.path)
    assert f.outcome is Outcome.NOT_APPLICABLE
    assert "GitLab CI" in f.reason


# -- online audit (pip-audit, opt-in) -------------------------------------------
def _online(repo_path):
    cfg = Config(base_dir=repo_path)
    cfg.repository.online_audit = True
    return cfg


@pytest.fixture
def fake_osv(monkeypatch):
    """An OSV query endpoint on loopback knowing one advisory (requests 2.31.0), for a real pip-audit run."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            answer: dict = {}
            if query["package"]["name"] == "requests" and query["version"] == "2.31.0":
                answer = {
                    "vulns": [
                        {
                            "id": "GHSA-9wx4-h78v-vm56",
                            "aliases": ["CVE-2024-35195"],
                            "summary": "Requests Session object does not verify requests after making first request",
                            "affected": [
                                {
                                    "package": {"name": "requests", "ecosystem": "PyPI"},
                                    "ranges": [
                                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}
                                    ],
                                }
                            ],
                        }
                    ]
                }
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    monkeypatch.setattr(dependency_audit, "SERVICE_ARGS", ["--vulnerability-service", "osv", "--osv-url", url])
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    yield url
    server.shutdown()
    server.server_close()


def test_online_audit_vulnerable_pin_fails_with_advisory_fix_and_line(make_repo, fake_osv):
    repo = make_repo()
    repo.write("requirements.txt", "# app\nidna==3.7\nrequests==2.31.0\nflask\n").commit("deps")
    found = run_check("repo.dependency-audit", repo.path, _online(repo.path))
    [fail] = [f for f in found if f.outcome is Outcome.FAIL]
    # pip-audit may show the CVE alias as the id: both are named.
    assert "requirements.txt:3: requests 2.31.0 is affected by " in fail.reason
    assert "GHSA-9wx4-h78v-vm56" in fail.reason and "CVE-2024-35195" in fail.reason
    assert "fixed in 2.32.0" in fail.reason and fake_osv in fail.reason
    assert (fail.evidence[0].path, fail.evidence[0].start_line) == ("requirements.txt", 3)
    run = fail.evidence[1]
    assert run.command[:5] == ["python", "-m", "pip_audit", "-r", "requirements.txt"] and "--no-deps" in run.command
    assert "GHSA-9wx4-h78v-vm56" in run.excerpt
    assert not any(f.outcome is Outcome.PASS for f in found)
    assert any(f.outcome is Outcome.WARN and "flask" in f.reason for f in found)  # unpinned: not audited


def test_online_audit_clean_pins_pass_with_count_and_service(make_repo, fake_osv):
    repo = make_repo()
    repo.write("requirements.txt", "idna==3.7\n")
    repo.write("pyproject.toml", '[project]\nname = "x"\nversion = "0"\ndependencies = ["requests==2.32.4"]\n')
    repo.commit("deps")
    [f] = run_check("repo.dependency-audit", repo.path, _online(repo.path))
    assert f.outcome is Outcome.PASS, f.reason
    assert "no known vulnerability in 2 pinned Python dependencies" in f.reason and f"OSV ({fake_osv})" in f.reason


def test_online_audit_unreachable_service_could_not_check(make_repo, monkeypatch):
    # A proxy that refuses connections stands in for no network: pip-audit (requests) honours it.
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    repo = make_repo()
    repo.write("requirements.txt", "requests==2.31.0\n").commit("deps")
    [f] = run_check("repo.dependency-audit", repo.path, _online(repo.path))
    assert f.outcome is Outcome.COULD_NOT_CHECK
    assert "pip-audit failed against PyPI JSON API" in f.reason and "ProxyError" in f.reason
    assert f.evidence[0].command[:3] == ["python", "-m", "pip_audit"]


def _pypi_json_api_works() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/pypi/requests/2.31.0/json", timeout=10) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_online_audit_against_pypi_finds_requests_2_31_0(make_repo):
    if not _pypi_json_api_works():
        pytest.skip("PyPI's JSON API is not reachable from here")
    repo = make_repo()
    repo.write("requirements.txt", "requests==2.31.0\n").commit("deps")
    found = run_check("repo.dependency-audit", repo.path, _online(repo.path))
    fails = [f for f in found if f.outcome is Outcome.FAIL]
    assert fails and all("requirements.txt:1: requests 2.31.0 is affected by" in f.reason for f in fails)
    assert any("fixed in 2.32" in f.reason for f in fails)


def test_bandit_reuses_its_report_for_an_unchanged_tree(make_repo, monkeypatch, tmp_path):
    from harness.checks.repo import bandit

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = make_repo()
    repo.write(
        "app/tool.py", "import subprocess\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    ).commit()
    first = run_check("repo.bandit", repo.path)

    def no_bandit(*args, **kwargs):
        raise AssertionError("bandit ran again for an unchanged tree")

    monkeypatch.setattr(bandit, "_run_sharded", no_bandit)
    second = run_check("repo.bandit", repo.path)
    assert [(f.outcome, f.reason) for f in second] == [(f.outcome, f.reason) for f in first]
    repo.write("app/other.py", "x = 1\n").commit()
    with pytest.raises(AssertionError, match="ran again"):
        run_check("repo.bandit", repo.path)  # a changed tree is scanned afresh


def test_bandit_judges_head_not_the_working_tree(make_repo):
    """A clean file edited after the commit: HEAD's bytes are judged, read from a copy, with the repo path."""
    repo = make_repo()
    bad = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    repo.write("app/-tool.py", bad).write("app/ok.py", "X = 1\n").commit("code")
    (repo.path / "app" / "-tool.py").write_text("def run(cmd):\n    return cmd\n")  # fixed, not committed
    (repo.path / "app" / "ok.py").write_text(bad)  # broken, not committed
    found = run_check("repo.bandit", repo.path)
    fails = [f for f in found if f.outcome is Outcome.FAIL]
    assert [f.subject for f in fails] == ["app/-tool.py:5"]
    assert fails[0].evidence[0].path == "app/-tool.py"


def test_bandit_scans_files_under_dot_github(make_repo):
    """Scripts under .github/ are application code too: nothing on the way to bandit may drop them."""
    repo = make_repo()
    bad = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    repo.write(".github/scripts/release.py", bad).write("app/ok.py", "X = 1\n").commit("code")
    fails = [f for f in run_check("repo.bandit", repo.path) if f.outcome is Outcome.FAIL]
    assert [f.subject for f in fails] == [".github/scripts/release.py:5"]
