"""The CI gate: action.yml run against a fake GitHub runner, SARIF against the official schema, JUnit's
gate case against the exit code, Markdown summaries, missing extras, and the checkout's state.

The fake runner runs each `run:` step of action.yml with bash, as GitHub does: inputs reach the
shell through the step's `env:`, outputs come back through the $GITHUB_OUTPUT file, and the
summary goes to $GITHUB_STEP_SUMMARY. `uses:` steps (setup-python, code scanning, artefact upload)
are recorded with their expanded `with:` instead of being run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from harness import checkout
from harness.reports import markdown, sarif, view
from tests.conftest import RepoBuilder, git
from tests.test_reports_common import synthetic_doc

ROOT = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = json.loads((ROOT / "tests/schemas/sarif-schema-2.1.0.json").read_text())
EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


# -- a fake GitHub runner for a composite action ------------------------------------------------


class FakeRunner:
    def __init__(self, workspace: Path, tmp: Path, inputs: dict[str, str]) -> None:
        self.action = yaml.safe_load((ROOT / "action.yml").read_text())
        self.inputs = {k: str(v.get("default", "")) for k, v in self.action["inputs"].items()} | inputs
        self.workspace, self.tmp = workspace, tmp
        self.outputs: dict[str, dict[str, str]] = {}
        self.uses: list[tuple[str, dict[str, str]]] = []
        tmp.mkdir()
        self.summary = tmp / "step_summary.md"
        self.summary.write_text("")
        self.failed_with: int | None = None
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        for name, cmd in (("harness", f'"{sys.executable}" -m harness "$@"'), ("python", f'"{sys.executable}" "$@"')):
            (bin_dir / name).write_text(f"#!/bin/sh\nexec {cmd}\n")
            (bin_dir / name).chmod(0o755)
        self.env = dict(
            os.environ,
            PATH=f"{bin_dir}:{os.environ['PATH']}",
            PYTHONPATH=str(ROOT),
            XDG_CONFIG_HOME=str(tmp / "xdg"),
            GITHUB_STEP_SUMMARY=str(self.summary),
            GITHUB_ACTION_PATH=str(ROOT),
            GITHUB_WORKSPACE=str(workspace),
            RUNNER_TEMP=str(tmp),
        )

    def expand(self, text: str) -> str:
        def one(m: re.Match[str]) -> str:
            expr = m.group(1)
            if expr.startswith("inputs."):
                return self.inputs[expr.removeprefix("inputs.")]
            if expr == "github.action_path":
                return str(ROOT)
            if expr.startswith("steps."):
                step, _, key = expr.removeprefix("steps.").partition(".outputs.")
                return self.outputs.get(step, {}).get(key, "")
            raise AssertionError(f"the fake runner does not know {expr!r}")

        return EXPR.sub(one, text)

    def condition(self, cond: str | None) -> bool:
        """The expression forms action.yml uses: always(), comparisons of inputs, hashFiles, joined by &&."""
        if cond is None:
            return self.failed_with is None
        result = True
        for term in (t.strip() for t in cond.split("&&")):
            if term == "always()":
                continue
            m = re.fullmatch(r"hashFiles\((.+)\) != ''", term)
            if m:
                result &= (self.workspace / self.expand("${{ " + m.group(1) + " }}")).is_file()
                continue
            m = re.fullmatch(r"inputs\.([\w-]+) (==|!=) '([^']*)'", term)
            assert m, f"the fake runner does not know the condition {term!r}"
            result &= (self.inputs[m.group(1)] == m.group(3)) == (m.group(2) == "==")
        return result and ("always()" in cond or self.failed_with is None)

    def run(self) -> FakeRunner:  # bash as GitHub runs it: `bash --noprofile --norc -eo pipefail {0}`
        for n, step in enumerate(self.action["runs"]["steps"]):
            if not self.condition(step.get("if")):
                continue
            if "uses" in step:
                self.uses.append((step["uses"], {k: self.expand(str(v)) for k, v in step.get("with", {}).items()}))
                continue
            out_file = self.tmp / f"output-{n}"
            out_file.write_text("")
            env = self.env | {k: self.expand(str(v)) for k, v in step.get("env", {}).items()}
            env["GITHUB_OUTPUT"] = str(out_file)
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=self.workspace,
                env=env,
                capture_output=True,
                text=True,
            )
            assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
            lines = out_file.read_text().splitlines()
            self.outputs[step.get("id", str(n))] = dict(line.split("=", 1) for line in lines if "=" in line)
            if proc.returncode != 0 and self.failed_with is None:
                self.failed_with = proc.returncode
        return self

    def output(self, name: str) -> str:
        return self.expand(str(self.action["outputs"][name]["value"]))


def _project(make_repo: Any, with_gitignore: bool) -> RepoBuilder:
    repo = make_repo()
    repo.write("app.py", "print('hello')\n")
    if with_gitignore:
        repo.write(".gitignore", ".venv/\n.env\n__pycache__/\n")
    repo.commit("init")
    # The operator's settings for the action (one check keeps the test fast).
    (repo.path.parent / "ops.toml").write_text('[run]\nonly = ["repo.gitignore"]\n')
    return repo


def _fake_github(repo: RepoBuilder, tmp_path: Path, **inputs: str) -> FakeRunner:
    defaults = {"install": "false", "config": str(repo.path.parent / "ops.toml"), "formats": "junit"}
    return FakeRunner(repo.path, tmp_path / "runner", defaults | inputs).run()


def _junit_gate(path: Path) -> ET.Element:
    cases = [c for c in ET.parse(path).getroot().iter("testcase") if c.get("name") == "gate"]
    assert len(cases) == 1
    return cases[0]


def test_action_yml_matches_the_github_action_schema() -> None:
    # SchemaStore's github-action schema, as vendored by the check-jsonschema package (a core dependency).
    ref = resources.files("check_jsonschema").joinpath("builtin_schemas/vendor/github-actions.json")
    schema = json.loads(ref.read_text(encoding="utf-8"))
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    errors = [e.message for e in jsonschema.validators.validator_for(schema)(schema).iter_errors(action)]
    assert errors == []
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:  # inputs reach the shell only as environment variables
        assert "${{" not in step.get("run", ""), step.get("name")
        if "uses" in step:  # pinned to a commit, as the project's own workflow rules require
            assert re.search(r"@[0-9a-f]{40}$", step["uses"]), step["uses"]


def test_failing_project_fails_the_job_after_summary_sarif_and_artefact(make_repo: Any, tmp_path: Path) -> None:
    repo = _project(make_repo, with_gitignore=False)
    runner = _fake_github(repo, tmp_path)
    assert runner.output("exit-code") == "1" and runner.failed_with == 1  # the gate step fails the job
    assert runner.output("grade") == "fail"
    summary = runner.summary.read_text()
    assert "AM1 grade **FAIL**" in summary and "**NOT reached**" in summary and "repo.gitignore" in summary
    sarif_file = repo.path / runner.output("sarif-file")
    log = json.loads(sarif_file.read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert any(r["ruleId"] == "repo.gitignore" for r in log["runs"][0]["results"])
    uploads = dict(runner.uses)
    assert Path(repo.path / uploads[next(u for u in uploads if "upload-sarif" in u)]["sarif_file"]) == sarif_file
    artefact = uploads[next(u for u in uploads if "upload-artifact" in u)]
    assert (repo.path / artefact["path"] / "harness-report.html").is_file() is False  # html not asked for
    assert (repo.path / artefact["path"] / "harness-junit.xml").is_file()
    assert _junit_gate(repo.path / artefact["path"] / "harness-junit.xml").find("failure") is not None


def test_passing_gate_passes_the_job_and_the_junit_gate_case(make_repo: Any, tmp_path: Path) -> None:
    repo = _project(make_repo, with_gitignore=True)
    runner = _fake_github(repo, tmp_path, gate="none", **{"upload-sarif": "false"})
    assert runner.output("exit-code") == "0" and runner.failed_with is None
    assert not any("upload-sarif" in u for u, _ in runner.uses)
    report_dir = repo.path / runner.output("report-dir")
    assert _junit_gate(report_dir / "harness-junit.xml").find("failure") is None
    assert "Gate `none`: reached" in runner.summary.read_text()


def test_junit_gate_case_fails_exactly_when_the_exit_code_is_1(tmp_path: Path) -> None:
    from harness.reports import junit

    for reached, complete in ((True, True), (False, True), (True, False)):
        doc = synthetic_doc(tmp_path)
        doc["run"].update(gate_reached=reached and complete, complete=complete)
        root = ET.fromstring(junit.render(doc).encode())
        gate = next(c for c in root.iter("testcase") if c.get("name") == "gate")
        exit_code = 0 if doc["run"]["gate_reached"] else 1
        assert (gate.find("failure") is not None) == (exit_code == 1)
        counted = sum(1 for c in root.iter("testcase") if c.find("failure") is not None)
        assert root.get("failures") == str(counted)


def test_rerendered_junit_gate_case_follows_the_report_commands_gate(tmp_path: Path) -> None:
    from harness.cli import main

    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(synthetic_doc(tmp_path)))  # graded fail, complete
    for gate, code in (("none", 0), ("pass", 1)):
        out = tmp_path / gate
        assert main(["report", str(saved), "--gate", gate, "--format", "junit", "--out", str(out)]) == code
        assert (_junit_gate(out / "harness-junit.xml").find("failure") is not None) == (code == 1)


def test_sarif_of_a_synthetic_run_validates_and_keeps_repository_level_findings(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    doc["run"]["target"]["commit"] = "a" * 40
    log = json.loads(sarif.render(doc))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    run = log["runs"][0]
    failing = [f for _c, f in view.iter_findings(doc) if f["outcome"] in ("fail", "warn")]
    assert len(run["results"]) == len(failing)  # none dropped for want of a file
    assert run["versionControlProvenance"][0]["revisionId"] == "a" * 40
    assert run["tool"]["driver"]["informationUri"].startswith("https://")
    assert all(r["help"]["text"] for r in run["tool"]["driver"]["rules"])


def test_markdown_summary_is_inert_and_lists_fixes(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    hostile = "[click](https://evil.example) <img src=x onerror=alert(1)> | `code` *bold*"
    doc["checks"][0]["findings"][0]["reason"] = hostile
    doc["criteria"][0]["held_back_by"][0]["reason"] = hostile
    text = markdown.render(doc)
    for live in ("](https://evil", "<img", "`code`", "*bold*"):  # only escaped forms remain
        assert re.search(r"(?<!\\)" + re.escape(live), text) is None, live
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len({line.replace("\\|", "").count("|") for line in table}) == 1  # no row gained a column
    assert "### Top fixes" in text and "Fix: Add a .gitignore" in text and "Fix: fix repo.commit-size" in text
    assert "fix repo.secrets" not in text  # its finding is waived
    assert f"AM1 grade **{doc['grade']['value'].upper()}**" in text


def test_gitlab_template_matches_gitlab_schema_and_writes_the_reports_it_declares(tmp_path: Path) -> None:
    from harness.config import VALID_FORMATS
    from harness.reports import FILE_FORMATS, codequality, junit

    ref = resources.files("check_jsonschema").joinpath("builtin_schemas/vendor/gitlab-ci.json")
    schema = json.loads(ref.read_text(encoding="utf-8"))
    template = yaml.safe_load((ROOT / "ci/gitlab/harness.gitlab-ci.yml").read_text())
    assert [e.message for e in jsonschema.validators.validator_for(schema)(schema).iter_errors(template)] == []
    job = template["harness"]
    formats = re.findall(r"--format (\w+)", " ".join(job["script"]))
    assert set(formats) <= set(VALID_FORMATS) and {"junit", "codequality", "html"} <= set(formats)
    reports = job["artifacts"]["reports"]
    assert reports["junit"].endswith("/" + junit.FILENAME) and reports["codequality"].endswith(
        "/" + codequality.FILENAME
    )
    assert set(FILE_FORMATS) >= set(formats) and job["variables"]["GIT_DEPTH"] == "0"

    issues = json.loads(codequality.render(synthetic_doc(tmp_path)))
    assert {i["check_name"] for i in issues} == {"repo.gitignore", "repo.commit-size", "live.tls"}  # waived: out
    assert next(i for i in issues if i["check_name"] == "live.tls")["location"]["path"] == "."  # repository-level
    for issue in issues:
        assert issue["severity"] in ("major", "minor") and len(issue["fingerprint"]) == 64
        assert issue["location"]["path"] and issue["location"]["lines"]["begin"] >= 1


def test_dependency_audit_without_a_source_says_none_is_configured(make_repo: Any) -> None:
    from harness.model import Outcome
    from tests.conftest import run_check

    repo = make_repo()
    repo.write("requirements.txt", "flask==2.0.0\n").commit("deps")
    [f] = run_check("repo.dependency-audit", repo.path)
    assert f.outcome is Outcome.COULD_NOT_CHECK
    assert f.reason.startswith("no advisory source configured") and "reachable" not in f.reason
    assert "--advisory-file" in (f.remediation or "") and "--online-audit" in (f.remediation or "")


# -- missing extras -----------------------------------------------------------------------------

BLOCK_EXTRAS = """
import sys
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"sslyze", "cryptography", "psycopg", "docker", "prometheus_client", "pulumi"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Absent())
from harness.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _without_extras(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(cwd / "xdg"))
    cmd = [sys.executable, "-c", BLOCK_EXTRAS, *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_a_missing_extra_is_a_could_not_check_naming_it(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo()
    repo.write("app.py", "x = 1\n").commit("init")
    out = tmp_path / "out"
    args = ["verify", "--repo", str(repo.path), "--out", str(out), "--format", "json"]
    args += ["--only", "live.tls", "--only", "live.db-tls", "--only", "repo.gitignore", "--url", "https://127.0.0.1:9"]
    proc = _without_extras(args, tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    checks = {c["id"]: c for c in json.loads((out / "harness-report.json").read_text())["checks"]}
    tls = checks["live.tls"]["findings"]  # its module imports cryptography: the import itself fails
    assert [f["outcome"] for f in tls] == ["could_not_check"]
    assert "install st0825-harness[live]" in tls[0]["reason"]
    assert checks["repo.gitignore"]["findings"][0]["outcome"] in ("pass", "fail")  # the core still runs

    lab = _without_extras(["lab", "status"], tmp_path)
    assert lab.returncode == 2 and lab.stderr.strip().splitlines() == [
        "harness lab: docker is not installed: install st0825-harness[lab]"
    ]


# -- the checkout: commit, shallow, uncommitted changes -----------------------------------------


def test_checkout_state_names_changes_and_shallow_history(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo()
    repo.write("a.txt", "one\n").write("b.txt", "two\n").commit("first")
    repo.write("a.txt", "one more\n").commit("second")
    head = repo.git("rev-parse", "HEAD")
    assert checkout.state(repo.path) == {
        "commit": head,
        "shallow": False,
        "changed_files": 0,
        "changed_sample": [],
        "compared_all": True,
    }
    # A hostile copy's fsmonitor hook must not run (git status would run it).
    marker = tmp_path / "ran"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    git(repo.path, "config", "core.fsmonitor", str(hook))
    (repo.path / "b.txt").write_text("changed\n")
    state = checkout.state(repo.path)
    assert state["changed_files"] == 1 and state["changed_sample"] == ["b.txt"]
    assert not marker.exists()
    lines = view.checkout_lines({"run": {"target": state}})
    assert len(lines) == 1 and "uncommitted changes" in lines[0] and "b.txt" in lines[0]

    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow)], check=True, timeout=60)
    state = checkout.state(shallow)
    assert state["shallow"] is True and state["changed_files"] == 0
    assert any("fetch-depth: 0" in line for line in view.checkout_lines({"run": {"target": state}}))
    assert checkout.state(tmp_path / "shallow" / ".git") == {}  # not a work tree's top: nothing claimed


def test_summaries_name_a_shallow_checkout_and_uncommitted_changes(tmp_path: Path) -> None:
    from harness.reports import terminal

    doc = synthetic_doc(tmp_path)
    doc["run"]["target"].update(commit="b" * 40, shallow=True, changed_files=7, changed_sample=["a.py", "b.py"])
    for text in (terminal.render(doc), markdown.render(doc), "\n".join(terminal.summary_lines(doc))):
        assert "fetch-depth: 0" in text and "7 tracked file" in text and "and 5 more" in text
    head = terminal.summary_lines(doc)[0]
    assert head.startswith("harness: grade fail (provisional); gate") and "NOT reached" in head


# -- installed from a wheel, with only the core -------------------------------------------------

WHEELHOUSE = Path(os.environ.get("HARNESS_WHEELHOUSE", Path.home() / ".cache" / "harness-test-wheelhouse"))


def _pip(python: Path | str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    cmd = [str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_wheel_with_only_the_core_verifies_a_project_and_names_the_extras(make_repo: Any, tmp_path: Path) -> None:
    """Built from this checkout, installed outside it offline (--no-index) from a wheelhouse of the core's
    dependencies: filled once with pip's configured index, then reused; skipped when neither works."""
    src, dist = tmp_path / "src", tmp_path / "dist"  # a copy: building writes build/ and egg-info beside the source
    shutil.copytree(ROOT / "harness", src / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    built = _pip(sys.executable, "wheel", "--no-deps", "-w", str(dist), str(src))
    if built.returncode != 0 and "setuptools" in built.stderr and "No matching distribution" in built.stderr:
        pytest.skip("no setuptools wheel reachable for the isolated build")
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(dist.glob("st0825_harness-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # This interpreter's pip installs into the new environment (--python): no pip bootstrap in it.
    install = ["--python", str(python), "install", "--no-index", "--find-links", str(WHEELHOUSE), str(wheel)]
    if _pip(sys.executable, *install).returncode != 0:
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        for stale in WHEELHOUSE.glob("st0825_harness-*"):  # pip would resolve that copy's (older) dependencies
            stale.unlink()
        fetched = _pip(sys.executable, "download", "-d", str(WHEELHOUSE), str(wheel))
        for built_copy in WHEELHOUSE.glob("st0825_harness-*"):
            built_copy.unlink()
        if fetched.returncode != 0:
            pytest.skip(f"no wheelhouse for the core's dependencies and no index: {fetched.stderr.strip()[-200:]}")
        done = _pip(sys.executable, *install)
        assert done.returncode == 0, done.stderr[-2000:]
    for absent in ("sslyze", "docker", "psycopg", "pulumi"):  # the core pulls no live or lab dependency
        probe = subprocess.run([str(python), "-c", f"import {absent}"], capture_output=True, timeout=60)
        assert probe.returncode != 0, absent

    repo = make_repo()
    repo.write(".gitignore", ".venv/\n").write("app.py", "print('hello')\n").commit("init")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    harness = str(venv / "bin" / "harness")
    out = tmp_path / "out"
    args = [harness, "verify", "--repo", str(repo.path), "--scope", "repository", "--format", "json"]
    proc = subprocess.run(
        [*args, "--out", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    doc = json.loads((out / "harness-report.json").read_text())
    assert not any(c.get("status") == "crashed" for c in doc["checks"])
    assert doc["tool"]["version"] and "site-packages" not in doc["run"]["target"]["repo"]

    live = [harness, "verify", "--repo", str(repo.path), "--only", "live.tls", "--format", "json", "--out", str(out)]
    proc = subprocess.run(
        [*live, "--url", "https://127.0.0.1:9"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    tls = json.loads((out / "harness-report.json").read_text())["checks"][0]["findings"][0]
    assert tls["outcome"] == "could_not_check" and "install st0825-harness[live]" in tls["reason"]
    lab = subprocess.run([harness, "lab", "status"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert lab.returncode == 2 and "install st0825-harness[lab]" in lab.stderr and "Traceback" not in lab.stderr


# -- the container image ------------------------------------------------------------------------


def _docker_ready() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _docker_ready(), reason="no Docker engine")
def test_container_image_builds_from_the_lab_base_and_verifies_a_mounted_repository(make_repo: Any) -> None:
    base = re.search(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert base is not None
    if subprocess.run(["docker", "image", "inspect", base.group(1)], capture_output=True).returncode != 0:
        pytest.skip(f"the lab's base image {base.group(1)} is not here (`harness lab up` bootstraps it)")
    tag = "harness-selftest:ci-gate"
    built = subprocess.run(["docker", "build", "-q", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stderr[-2000:]
    repo = make_repo()
    repo.write("app.py", "print('hello')\n").commit("init")  # no .gitignore: the gate must fail
    run = ["docker", "run", "--rm", "--network", "none", "-v", f"{repo.path}:/repo:ro", tag]
    proc = subprocess.run(
        [*run, "verify", "--repo", "/repo", "--only", "repo.gitignore", "--format", "terminal", "--out", "/tmp/r"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "GRADE: FAIL" in proc.stdout and "repo.gitignore fail" in proc.stderr
    assert "Traceback" not in proc.stderr
