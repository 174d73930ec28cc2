"""Hostile repositories: `harness verify --scope repository` never crashes and never passes on bad input.

Runs the real CLI as a subprocess, so every repository check of every engineer is exercised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.catalogue import load as load_catalogue
from tests.conftest import RepoBuilder

CLI_TIMEOUT_S = 300
BIG_BYTES = 50 * 1024 * 1024

MALFORMED = {
    ".github/workflows/ci.yml": "on: [push\njobs:\n  build: {\n",
    ".github/workflows/deploy.yml": "\x00\x01 not: yaml: at: all: [",
    ".github/dependabot.yml": "version: 2\nupdates: [\n",
    "compose.yaml": "services:\n  web:\n    image: app:1.0.0\n   ports: [\n",
    "docker-compose.prod.yml": "services: [a, b\n",
    "pyproject.toml": "[project\nname = 'broken'\n",
    "package.json": '{"scripts": {"test": "jest",}',
    "k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nspec: {template: [\n",
    "template.json": '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {',
    "Pulumi.yaml": "name: [app\n",
    ".pre-commit-config.yaml": "repos:\n  - repo: [\n",
    "Taskfile.yml": "tasks:\n  test: [\n",
    "renovate.json": "{,}",
    "Chart.yaml": "apiVersion: v2\nname: [\n",
}


def verify(repo: Path, out: Path) -> tuple[int, str, dict]:
    env = dict(os.environ, NO_COLOR="1", HOME=str(out))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "verify",
            "--repo",
            str(repo),
            "--scope",
            "repository",
            "--format",
            "json",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in (0, 1), f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    doc = json.loads((out / "harness.json").read_text()) if (out / "harness.json").exists() else {}
    if not doc:
        files = list(out.glob("*.json"))
        assert files, f"no JSON report in {out}: {proc.stderr[-2000:]}"
        doc = json.loads(files[0].read_text())
    return proc.returncode, proc.stderr, doc


def assert_sound(doc: dict, malformed: set[str] = frozenset()) -> None:
    catalogue = load_catalogue()
    statuses = {c["id"]: c.get("status") for c in doc["criteria"]}
    for criterion in catalogue.criteria:
        assert statuses.get(criterion.id), f"criterion {criterion.id} has no status"
    problems = [f"{c['id']} crashed: {c['findings'][0]['reason']}" for c in doc["checks"] if c["status"] == "crashed"]
    for check in doc["checks"]:
        for f in check["findings"]:
            used = {e.get("path") for e in f["evidence"]} & malformed
            if f["outcome"] == "pass" and used:
                problems.append(f"{check['id']} passes on malformed file(s) {sorted(used)}: {f['reason']}")
    assert not problems, "\n".join(problems)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "report"


def test_non_git_folder(tmp_path: Path, out: Path) -> None:
    folder = tmp_path / "plain"
    (folder / "sub").mkdir(parents=True)
    (folder / "app.py").write_text("print('hi')\n")
    (folder / "compose.yaml").write_text("services: [\n")
    os.symlink("loop_b", folder / "loop_a")
    os.symlink("loop_a", folder / "loop_b")
    os.symlink(".", folder / "sub" / "self")
    secret = folder / "locked.yaml"
    secret.write_text("apiVersion: v1\nkind: Secret\n")
    secret.chmod(0o000)  # still readable when the tests run as root: either way, no crash
    try:
        _code, _err, doc = verify(folder, out)
    finally:
        secret.chmod(0o600)
    assert_sound(doc, {"compose.yaml"})


def test_empty_git_repository(make_repo, out: Path) -> None:
    repo = make_repo("empty")
    _code, _err, doc = verify(repo.path, out)
    assert_sound(doc)
    assert not any(f["outcome"] == "pass" for c in doc["checks"] for f in c["findings"])


def test_binary_and_huge_files(make_repo, out: Path) -> None:
    repo: RepoBuilder = make_repo("big")
    repo.write("app.py", "print('hi')\n")
    repo.write("image.png", bytes(range(256)) * 64)
    repo.write("Dockerfile", b"FROM \x00\xff\xfe python\n")
    repo.write("data/huge.yaml", b"a: b\n" * (BIG_BYTES // 5))
    repo.write("docs/huge.md", b"x" * BIG_BYTES)
    repo.commit("big files")
    _code, _err, doc = verify(repo.path, out)
    assert_sound(doc, {"Dockerfile"})


def test_malformed_structured_files(make_repo, out: Path) -> None:
    repo: RepoBuilder = make_repo("malformed")
    repo.write("app.py", "print('hi')\n")
    for path, text in MALFORMED.items():
        repo.write(path, text)
    repo.commit("malformed files")
    for path, text in MALFORMED.items():  # the fixture really is malformed
        if path.endswith(".json"):
            with pytest.raises(ValueError):
                json.loads(text)
        elif path.endswith(".toml"):
            import tomllib

            with pytest.raises(tomllib.TOMLDecodeError):
                tomllib.loads(text)
        else:
            with pytest.raises(yaml.YAMLError):
                list(yaml.safe_load_all(text))
    _code, _err, doc = verify(repo.path, out)
    assert_sound(doc, set(MALFORMED))


def test_symlink_loop_committed(make_repo, out: Path) -> None:
    repo: RepoBuilder = make_repo("links")
    repo.write("app.py", "print('hi')\n")
    os.symlink("b", repo.path / "a")
    os.symlink("a", repo.path / "b")
    os.symlink("/etc/passwd", repo.path / "outside.yaml")
    os.symlink(".", repo.path / "Dockerfile")
    repo.commit("links")
    _code, _err, doc = verify(repo.path, out)
    assert_sound(doc, {"a", "b", "outside.yaml", "Dockerfile"})
