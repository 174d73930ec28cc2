"""The trust boundary: operator settings versus the project's, waiver claims, bounds, one report set per --out."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness import trust, waivers
from harness.cli import build_parser, load_config, main
from harness.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
FAR = "2999-01-01"
TODAY = dt.date(2026, 11, 29)
AWS_ID = "AKIA" + "Q3EGRTZL7XW2PN4M"  # split so that scanners of this repository do not flag the test


def parse(*argv: str):
    return build_parser().parse_args(["verify", *argv])


@pytest.fixture
def project(make_repo):
    repo = make_repo("project")
    repo.write("README.md", "# p\n").commit()
    return repo.path


def test_every_config_key_is_classified():
    # A new Config field without a class in trust.KEY_CLASSES fails here: the table decides, nothing else.
    keys = set(trust.leaf_keys())
    assert keys - set(trust.KEY_CLASSES) == set(), "classify these keys in harness/trust.py"
    assert set(trust.KEY_CLASSES) - keys == set(), "the table names keys Config does not have"
    classes = set(trust.KEY_CLASSES.values())
    assert classes <= set(trust.REASONS) | {trust.DESCRIBES, trust.CLAIM}


@pytest.mark.parametrize(
    "key",
    [
        "live.redeploy.command",
        "live.fault.command",
        "live.fault.restore_command",
        "live.source_to_user.remote",
        "live.source_to_user.github_api_url",
        "live.source_to_user.github_token_env",
        "live.database_dsn_env",
        "run.gate",
        "run.scope",
        "run.skip",
        "run.only",
        "run.timeouts",
        "run.waivers_file",
        "repository.max_file_bytes",
        "repository.advisory_file",
        "live.availability.p95_ms",
        "live.load.max_errors",
        "live.persistence.read.expect_status",
        "project.repo",
    ],
)
def test_operator_only_keys(key):
    assert trust.KEY_CLASSES[key] not in (trust.DESCRIBES, trust.CLAIM)


PROJECT_TOML = """
[project]
name = "mallory"
repo = "/"
[run]
gate = "none"
skip = ["repo.secrets"]
timeouts = { "repo.secrets" = 0.001 }
[repository]
max_file_bytes = 1
[live]
urls = ["https://app.example.org"]
ca_bundle = "/etc/hostname"
[live.redeploy]
command = ["touch", "/tmp/x"]
[live.source_to_user]
remote = "/tmp/elsewhere.git"
github_token_env = "HOME"
github_api_url = "http://127.0.0.1:9"
"""


def test_project_describes_itself_and_nothing_more(project):
    (project / "harness.toml").write_text(PROJECT_TOML)
    config = load_config(parse("--repo", str(project)))
    assert config.project.name == "mallory" and config.live.urls == ["https://app.example.org"]
    assert config.repo_path == project.resolve()
    assert config.run.gate == "pass" and config.run.skip == [] and config.run.timeouts == {}
    assert config.repository.max_file_bytes == 2_000_000 and config.live.redeploy.command == []
    assert config.live.source_to_user.remote == "" and config.live.source_to_user.github_api_url.startswith("https://")
    assert config.live.ca_bundle == ""  # a path outside the project
    ignored = {i["key"]: i["reason"] for i in config.ignored}
    assert ignored["run.gate"] == "needs --trust-project: weakens the verdict or its limits"
    assert ignored["live.redeploy.command"] == "needs --trust-project: runs a command"
    assert "sends a credential" in ignored["live.source_to_user.github_token_env"]
    assert "outside the project" in ignored["live.ca_bundle"]
    assert config.provenance["live.urls"] == f"project {project.resolve() / 'harness.toml'}"
    assert config.provenance["project.repo"] == "flag"


def test_trust_project_takes_the_projects_settings(project):
    (project / "harness.toml").write_text(PROJECT_TOML.replace('repo = "/"', 'repo = "."'))
    config = load_config(parse("--repo", str(project), "--trust-project"))
    assert config.run.gate == "none" and config.run.skip == ["repo.secrets"]
    assert config.live.redeploy.command == ["touch", "/tmp/x"] and config.repository.max_file_bytes == 1
    assert config.live.ca_bundle == "/etc/hostname" and config.ignored == []
    assert config.trust_project


def test_operator_sources_layer_in_order(project, tmp_path, monkeypatch):
    xdg = tmp_path / "xdg"
    (xdg / "harness").mkdir(parents=True)
    (xdg / "harness" / "config.toml").write_text('[run]\ngate = "distinction"\nconcurrency = 3\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    mine = tmp_path / "my.toml"
    mine.write_text('[run]\nconcurrency = 2\n[live]\nurls = ["https://operator.example"]\n')
    (project / "harness.toml").write_text('[live]\nurls = ["https://project.example"]\n')
    config = load_config(parse("--repo", str(project), "--config", str(mine), "--gate", "pass"))
    assert (config.run.gate, config.run.concurrency, config.live.urls) == ("pass", 2, ["https://operator.example"])
    assert config.provenance["run.gate"] == "flag"
    assert config.provenance["run.concurrency"] == f"--config {mine}"
    assert config.provenance["live.urls"] == f"--config {mine}"
    config = load_config(parse("--repo", str(project)))
    assert config.run.gate == "distinction"
    assert config.provenance["run.gate"] == f"operator file {xdg / 'harness' / 'config.toml'}"
    assert config.live.urls == ["https://project.example"]


def test_operator_file_may_name_the_project(project, tmp_path):
    mine = tmp_path / "my.toml"
    mine.write_text(f'[project]\nrepo = "{project}"\n')
    assert load_config(parse("--config", str(mine))).repo_path == project.resolve()


@pytest.mark.parametrize(
    "toml,needle",
    [
        ("[run.timeouts]\n'repo.secrets' = inf\n", "run.timeouts.repo.secrets: must be a finite number"),
        ("[run.timeouts]\n'repo.secrets' = nan\n", "run.timeouts.repo.secrets: must be a finite number"),
        ("[run.timeouts]\n'repo.secrets' = 1e400\n", "run.timeouts.repo.secrets: must be a finite number"),
        ("[run.timeouts]\n'repo.secrets' = -1\n", "run.timeouts.repo.secrets: must not be negative"),
        ("[run.timeouts]\n'repo.secrets' = 1e9\n", "run.timeouts.repo.secrets: must be more than 0 and at most"),
        ("[live]\nread_timeout_s = inf\n", "live.read_timeout_s: must be a finite number"),
        ("[live]\nconnect_timeout_s = 1e12\n", "live.connect_timeout_s: must be at most"),
        ("[live.availability]\np95_ms = -5\n", "live.availability.p95_ms: must not be negative"),
        ("[live.availability]\nmin_success_ratio = 2\n", "live.availability.min_success_ratio: must be between"),
        ("[repository]\nmax_files = -1\n", "repository.max_files: must not be negative"),
    ],
)
def test_unbounded_numbers_are_refused_naming_the_key(project, tmp_path, capsys, toml, needle):
    mine = tmp_path / "my.toml"
    mine.write_text(toml)
    with pytest.raises(ConfigError, match="must"):
        load_config(parse("--repo", str(project), "--config", str(mine)))
    assert main(["verify", "--repo", str(project), "--config", str(mine), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_a_broken_project_file_cannot_stop_the_operators_run(project):
    # Untrusted, the project's mistakes are listed and the run goes on; with the opt-in they are errors.
    (project / "harness.toml").write_text("[run]\nconcurrency = 'many'\n")
    config = load_config(parse("--repo", str(project)))
    (entry,) = config.ignored
    assert entry["key"] == "harness.toml" and "run.concurrency: expected integer" in entry["reason"]
    with pytest.raises(ConfigError, match=r"harness.toml: run.concurrency: expected integer"):
        load_config(parse("--repo", str(project), "--trust-project"))
    (project / "harness.toml").write_text(
        '[live]\nurls = ["ftp://x"]\nca_bundle = "missing.pem"\n[project]\nname = "n"\n'
    )
    config = load_config(parse("--repo", str(project)))
    assert config.project.name == "n" and config.live.urls == [] and config.live.ca_bundle == ""
    assert {i["key"] for i in config.ignored} == {"live.urls", "live.ca_bundle"}
    with pytest.raises(ConfigError, match=r"live.ca_bundle: file not found: .* \(from project "):
        load_config(parse("--repo", str(project), "--trust-project"))


ENTRY = {"check": "repo.bandit", "justification": "false positive", "approver": "Tutor", "expires": FAR}


@pytest.mark.parametrize(
    "bad,reason",
    [
        ({"expires": 5}, "expires must be a string, got integer"),
        ({"expires": "soon"}, "expires is not a date"),
        ({"check": ["repo.bandit"]}, "check must be a string, got array"),
        ({"approver": {}}, "approver must be a string, got table"),
        ({"justification": True}, "justification must be a string, got boolean"),
        ({"status": "applied"}, "unknown key status"),
    ],
)
def test_wrongly_typed_waivers_are_malformed_not_a_crash(bad, reason):
    (status,) = waivers.evaluate([dict(ENTRY, **bad)], {"repo.bandit"}, TODAY)
    assert status.status == "malformed" and reason in status.reason
    out = status.to_dict()
    assert out["status"] == "malformed" and out["origin"] == "operator"
    json.dumps(out)  # scalar fields only


def test_project_waivers_are_claims_until_accepted():
    claim = waivers.Claim(dict(ENTRY), "p/harness-waivers.toml", "project", "")
    (status,) = waivers.evaluate([claim], {"repo.bandit"}, TODAY)
    assert status.waiver is None and status.status == "unused" and "--accept-waivers" in status.reason
    assert status.to_dict()["accepted"] is False and status.to_dict()["origin"] == "project"
    accepted = waivers.Claim(dict(ENTRY), "p/harness-waivers.toml", "project", "operator (--accept-waivers)")
    (status,) = waivers.evaluate([accepted], {"repo.bandit"}, TODAY)
    assert status.waiver is not None and status.waiver.accepted_by == "operator (--accept-waivers)"


def _failing_project(project: Path, waiver_check: str = "repo.secrets") -> None:
    (project / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{AWS_ID}"\n')
    (project / "harness-waivers.toml").write_text(
        f'[[waiver]]\ncheck = "{waiver_check}"\njustification = "test data"\napprover = "Me"\nexpires = "{FAR}"\n'
    )
    subprocess.run(["git", "-C", str(project), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(project), "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "key"], check=True
    )


def _run(project: Path, out: Path, *extra: str) -> dict:
    argv = ["verify", "--repo", str(project), "--only", "repo.secrets", "--out", str(out), "--gate", "none"]
    assert main([*argv, "--format", "json", "--format", "html", "--format", "terminal", *extra]) == 0
    return json.loads((out / "harness-report.json").read_text())


def test_waiver_claim_changes_nothing_until_the_operator_accepts_it(project, tmp_path, capsys):
    _failing_project(project)
    doc = _run(project, tmp_path / "a")
    assert doc["grade"]["value"] == "fail"
    (claim,) = doc["waivers"]
    assert claim["origin"] == "project" and claim["accepted"] is False and claim["status"] == "unused"
    assert "waivers claimed by the project and not accepted: 1" in capsys.readouterr().out
    doc = _run(project, tmp_path / "b", "--accept-waivers")
    (claim,) = doc["waivers"]
    assert claim["status"] == "applied" and claim["accepted_by"] == "operator (--accept-waivers)"
    html = (tmp_path / "b" / "harness-report.html").read_text()
    assert "accepted by operator (--accept-waivers)" in html


def test_operator_waiver_file_is_accepted_as_the_operators(project, tmp_path):
    _failing_project(project)
    mine = tmp_path / "mine.toml"
    mine.write_text((project / "harness-waivers.toml").read_text())
    rows = {w["origin"]: w for w in _run(project, tmp_path / "a", "--waivers", str(mine))["waivers"]}
    assert rows["operator"]["accepted_by"] == "operator (--waivers)" and rows["operator"]["status"] == "applied"
    # The project's own file is still listed, as a claim nobody accepted.
    assert rows["project"]["accepted"] is False and rows["project"]["status"] == "unused"


def test_report_says_where_settings_came_from(project, tmp_path, capsys):
    _failing_project(project)
    (project / "harness.toml").write_text('[project]\nname = "p"\n[run]\ngate = "none"\n')
    doc = _run(project, tmp_path / "a")
    settings = doc["run"]["settings"]
    assert settings["sources"]["run.gate"] == "flag" and settings["trust_project"] is False
    assert settings["ignored_from_project"][0]["key"] == "run.gate"
    out = capsys.readouterr().out
    assert "ignored from the project: run.gate (needs --trust-project)" in " ".join(out.split())
    html = (tmp_path / "a" / "harness-report.html").read_text()
    assert "ignored from the project: run.gate (needs --trust-project)" in html


WRITER = """
import json, sys
from pathlib import Path
from harness import reports
doc = json.loads(Path(sys.argv[1]).read_text())
formats = sys.argv[3].split(",")
for i in range(int(sys.argv[4])):
    doc["run"]["host"] = doc["run"]["started"] = f"{sys.argv[5]}-{i}"
    reports.write(doc, formats, Path(sys.argv[2]))
"""


def _hosts(out: Path) -> dict[str, str]:
    """Which writer each report file came from (the host field of the document inside it)."""
    found = {}
    for path in out.iterdir():
        text = path.read_text()
        for tag in ("alpha", "beta"):
            if f"{tag}-" in text:
                found[path.name] = tag
    return found


def test_two_runs_sharing_out_never_leave_a_mixed_set(project, tmp_path):
    doc_path = tmp_path / "doc.json"
    _run(project, tmp_path / "seed")
    doc_path.write_text((tmp_path / "seed" / "harness-report.json").read_text())
    out = tmp_path / "shared"
    env = {"PYTHONPATH": str(ROOT)}

    def writer(formats: str, n: int, tag: str) -> subprocess.Popen:
        cmd = [sys.executable, "-c", WRITER, str(doc_path), str(out), formats, str(n), tag]
        return subprocess.Popen(cmd, env=env)

    # One after the other first: the second set replaces the first whole (no stale junit beside it).
    assert writer("json,html,junit", 1, "beta").wait(timeout=120) == 0
    assert writer("json,html", 1, "alpha").wait(timeout=120) == 0
    assert set(_hosts(out).values()) == {"alpha"} and not (out / "harness-junit.xml").exists()
    # Then at the same time, many times each.
    procs = [writer("json,html", 15, "alpha"), writer("json,html,junit,sarif", 15, "beta")]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    hosts = _hosts(out)
    assert len(set(hosts.values())) == 1, hosts
    expected = {"alpha": 2, "beta": 4}[next(iter(hosts.values()))]
    assert len(hosts) == expected and sorted(p.name for p in out.iterdir()) == sorted(hosts)


def test_user_config_path_follows_xdg(tmp_path, monkeypatch):
    from harness.config import user_config_path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_config_path() == tmp_path / "xdg" / "harness" / "config.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # the XDG spec says to ignore a relative value
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_config_path() == tmp_path / "home" / ".config" / "harness" / "config.toml"


def test_a_zero_from_a_flag_is_not_dropped(project):
    with pytest.raises(ConfigError, match=r"run\.concurrency: must be at least 1"):
        load_config(parse("--repo", str(project), "--concurrency", "0"))
