"""Issue 10: the project under verification is untrusted.

Code execution: every trap a project can commit or configure (a fake tool package,
interpreter start-up files, git configuration naming programs) touches the marker if
it ever runs. Resources: YAML alias bombs, FIFOs, huge blobs finish quickly and
small, with could-not-check for the file concerned and the other checks intact.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.hostile import Env, HostileCase, commit_all, findings, git, outcomes

BAD_PY = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
REPO = ["--scope", "repository"]


def _trap(env: Env, rel: str = "tools/trap.sh") -> Path:
    """An executable committed in the project that marks that it ran."""
    path = env.project / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\ntouch '{env.marker}'\ncat\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _py_trap(env: Env) -> str:
    return f"open({str(env.marker)!r}, 'w').close()\n"


def _base(env: Env) -> None:
    (env.project / "app").mkdir(parents=True, exist_ok=True)
    (env.project / "app" / "main.py").write_text(BAD_PY)
    (env.project / "README.md").write_text("# project\n")


def _bandit_ran(report: dict[str, Any] | None) -> str | None:
    got = outcomes(report, "repo.bandit")
    return None if "fail" in got else f"the real bandit did not judge app/main.py: {sorted(got)}"


# -- a fake tool package or interpreter start-up file in the project ------------------


def _fake_package(name: str) -> Callable[[Env], list[str]]:
    def build(env: Env) -> list[str]:
        _base(env)
        pkg = env.project / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text(_py_trap(env))
        (pkg / "__main__.py").write_text(_py_trap(env))
        (env.project / "requirements.txt").write_text("flask==2.0.0\n")
        commit_all(env.project)
        return [*REPO, "--online-audit"] if name == "pip_audit" else REPO

    return build


def _startup_files(env: Env) -> list[str]:
    _base(env)
    for name in ("sitecustomize.py", "usercustomize.py"):
        (env.project / name).write_text(_py_trap(env))
    (env.project / "zz-harness.pth").write_text(f"import os; os.close(os.open({str(env.marker)!r}, os.O_CREAT))\n")
    commit_all(env.project)
    return REPO


# -- git configuration naming programs ---------------------------------------------


def _git_config(*pairs: tuple[str, str], attributes: str = "", signed: bool = False) -> Callable[[Env], list[str]]:
    def build(env: Env) -> list[str]:
        _base(env)
        trap = _trap(env)
        if attributes:
            (env.project / ".gitattributes").write_text(attributes)
        (env.project / "app" / "settings.py").write_text("DEBUG = False\n")
        commit_all(env.project, "first")
        (env.project / "app" / "settings.py").write_text("DEBUG = True\n")
        commit_all(env.project, "second")
        if signed:
            _sign_head(env.project)
        for key, value in pairs:
            git(env.project, "config", key, value.format(trap=trap))
        return REPO

    return build


def _sign_head(repo: Path) -> None:
    """Rewrite HEAD as a commit carrying a (bogus) PGP signature: enough for git to call gpg.program."""
    raw = git(repo, "cat-file", "commit", "HEAD")
    header, _, message = raw.partition("\n\n")
    sig = "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEEbogus\n -----END PGP SIGNATURE-----"
    body = f"{header}\n{sig}\n\n{message}\n"
    sha = _hash_object(repo, body)
    git(repo, "update-ref", "refs/heads/main", sha)


def _hash_object(repo: Path, body: str) -> str:
    import subprocess

    proc = subprocess.run(
        ["git", "-C", str(repo), "hash-object", "-t", "commit", "-w", "--stdin"],
        input=body,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return proc.stdout.strip()


def _hooks(env: Env) -> list[str]:
    build = _git_config(("core.hooksPath", "hooks"))
    args = build(env)
    hooks = env.project / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    for name in ("post-checkout", "pre-commit", "post-index-change", "reference-transaction", "fsmonitor-watchman"):
        for folder in (hooks, env.project / "hooks"):
            folder.mkdir(exist_ok=True)
            (folder / name).write_text(f"#!/bin/sh\ntouch '{env.marker}'\n")
            (folder / name).chmod(0o755)
    return args


def _include(env: Env) -> list[str]:
    _base(env)
    trap = _trap(env)
    (env.project / "app" / "settings.py").write_text("DEBUG = False\n")
    commit_all(env.project, "first")
    (env.project / "app" / "settings.py").write_text("DEBUG = True\n")
    (env.project / ".gitattributes").write_text("*.py diff=trap filter=trap\n")
    commit_all(env.project, "second")
    included = env.project / "tools" / "git.inc"
    included.write_text(
        f"[core]\n\tfsmonitor = {trap}\n\tpager = {trap}\n[diff]\n\texternal = {trap}\n"
        f'[diff "trap"]\n\ttextconv = {trap}\n[filter "trap"]\n\tclean = {trap}\n\tsmudge = {trap}\n'
    )
    git(env.project, "config", "include.path", str(included))
    git(env.project, "config", f"includeIf.gitdir:{env.project}/.path", str(included))
    return REPO


CODE_EXECUTION = [
    HostileCase("fake-bandit-package", "code-execution", _fake_package("bandit"), _bandit_ran, deadline_s=180),
    HostileCase("fake-pip-audit-package", "code-execution", _fake_package("pip_audit"), deadline_s=180),
    HostileCase("python-startup-files", "code-execution", _startup_files, _bandit_ran, deadline_s=180),
    HostileCase(
        "git-gpg-program",
        "code-execution",
        _git_config(("log.showSignature", "true"), ("gpg.program", "{trap}"), signed=True),
        deadline_s=180,
    ),
    HostileCase("git-fsmonitor", "code-execution", _git_config(("core.fsmonitor", "{trap}")), deadline_s=180),
    HostileCase("git-diff-external", "code-execution", _git_config(("diff.external", "{trap}")), deadline_s=180),
    HostileCase(
        "git-textconv",
        "code-execution",
        _git_config(("diff.trap.textconv", "{trap}"), attributes="*.py diff=trap\n"),
        deadline_s=180,
    ),
    HostileCase(
        "git-pager", "code-execution", _git_config(("core.pager", "{trap}"), ("pager.log", "{trap}")), deadline_s=180
    ),
    HostileCase("git-hooks", "code-execution", _hooks, deadline_s=180),
    HostileCase(
        "git-filter-driver",
        "code-execution",
        _git_config(
            ("filter.trap.clean", "{trap}"),
            ("filter.trap.smudge", "{trap}"),
            ("filter.trap.process", "{trap}"),
            attributes="* filter=trap\n",
        ),
        deadline_s=180,
    ),
    HostileCase("git-include-path", "code-execution", _include, deadline_s=180),
]


# -- resources: alias bombs -----------------------------------------------------------


def _bomb(key: str) -> str:
    """A billion laughs: ten levels of nine aliases each, under `key`."""
    lines = ['lol0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"lol{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\n{key}: *l9\n"


BOMBS = {
    "workflow": (
        ".github/workflows/ci.yml",
        "name: ci\non: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n"
        + _bomb("env"),
    ),
    "compose": ("compose.yaml", "services:\n  app:\n    image: app:1.0\n" + _bomb("x-bomb")),
    "kubernetes": (
        "k8s/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n" + _bomb("spec"),
    ),
    "prometheus-rules": (
        "monitoring/rules.yml",
        "groups:\n  - name: app\n    rules:\n      - alert: Down\n        expr: up == 0\n" + _bomb("bomb"),
    ),
}


def _bomb_build(path: str, text: str) -> Callable[[Env], list[str]]:
    def build(env: Env) -> list[str]:
        _base(env)
        target = env.project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        commit_all(env.project)
        return REPO

    return build


def _bomb_judged(path: str) -> Callable[[dict[str, Any] | None], str | None]:
    """The bomb file is named by a could-not-check (or failing) finding; bandit's verdict is intact."""

    def judge(report: dict[str, Any] | None) -> str | None:
        if report is None:
            return "no report"
        named = [
            f
            for c in report.get("checks", [])
            for f in c.get("findings", [])
            if f["outcome"] in ("could_not_check", "fail") and path in json.dumps(f)
        ]
        if not named:
            return f"no could-not-check or failing finding names {path}"
        return _bandit_ran(report)

    return judge


RESOURCES = [
    HostileCase(f"yaml-bomb-{kind}", "resources", _bomb_build(path, text), _bomb_judged(path), deadline_s=120)
    for kind, (path, text) in BOMBS.items()
] + [
    # Flow collections nested a million deep: libyaml would compose them recursively in C.
    HostileCase(
        "yaml-deep-flow-workflow",
        "resources",
        _bomb_build(".github/workflows/deep.yml", "on: push\njobs: " + "[" * 1_000_000 + "]" * 1_000_000 + "\n"),
        _bomb_judged(".github/workflows/deep.yml"),
        deadline_s=120,
    )
]


# -- resources: special files ---------------------------------------------------------


def _fifos(env: Env) -> list[str]:
    """A plain folder (not git) whose source, credentials and build files are FIFOs nobody writes to."""
    _base(env)
    for rel in ("app/settings.py", ".env", "requirements.txt", "Dockerfile", "compose.yaml", "harness-waivers.toml"):
        (env.project / rel).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(env.project / rel)
    return REPO


def _fifo_config(env: Env) -> list[str]:
    _base(env)
    os.mkfifo(env.project / "harness.toml")
    return REPO


SPECIAL_FILES = [
    HostileCase("fifos-in-the-project", "resources", _fifos, _bandit_ran, deadline_s=120),
    # A harness.toml that is not a regular file is not a configuration: never a hang.
    HostileCase("fifo-harness-toml", "resources", _fifo_config, _bandit_ran, deadline_s=60),
]


# -- resources: a huge committed file -----------------------------------------------


def _huge_file(env: Env) -> list[str]:
    """A 200 MB text file committed (and in the history): neither held in memory nor called clean."""
    _base(env)
    (env.project / "data").mkdir()
    with (env.project / "data" / "dump.sql").open("wb") as fh:
        line = b"INSERT INTO t VALUES (1, 'padding padding padding');\n"
        for _ in range(200_000_000 // (len(line) * 10_000)):
            fh.write(line * 10_000)
    commit_all(env.project, "data dump")
    return REPO


def _huge_judged(report: dict[str, Any] | None) -> str | None:
    got = findings(report, "repo.secrets")
    if not any(f["outcome"] == "could_not_check" and "data/dump.sql" in f["reason"] for f in got):
        return f"repo.secrets does not say data/dump.sql was not read: {[f['reason'] for f in got]}"
    return _bandit_ran(report)


HUGE = [HostileCase("huge-committed-file", "resources", _huge_file, _huge_judged, deadline_s=180)]

CASES = [*CODE_EXECUTION, *RESOURCES, *SPECIAL_FILES, *HUGE]
