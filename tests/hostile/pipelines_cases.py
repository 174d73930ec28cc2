"""Pipelines: projects dressed up to look tested and deployed, and pipeline files built to hurt the reader."""

from __future__ import annotations

from typing import Any

from tests.hostile import Env, HostileCase, commit_all, criterion_status, fails, outcomes

SECRET = "rnd_PLANTEDhookKEY4242"


def _write(env: Env, files: dict[str, str]) -> list[str]:
    for path, text in files.items():
        target = env.project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    commit_all(env.project)
    return ["--scope", "repository"]


def _installs_not_tests(env: Env) -> list[str]:
    wf = (
        "on: [push, pull_request]\njobs:\n  ci:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: pip install pytest pytest-cov bandit safety\n"
        "      - run: echo 'pytest passed' && make test\n"
        "      - run: python -m pytest || echo 'tests failed, shipping anyway'\n"
    )
    # The Makefile's recipe would run (and drop the marker) if harness ever executed it.
    makefile = f"test:\n\t-pytest\n\ttouch {env.marker}\n"
    return _write(
        env, {".github/workflows/ci.yml": wf, "Makefile": makefile, "tests/test_x.py": "def test_x(): pass\n"}
    )


def _ci1_not_met(report: dict[str, Any] | None) -> str | None:
    status = criterion_status(report, "CI-1")
    return None if status == "not_met" else f"CI-1 is {status}"


def _throwaway_env(env: Env) -> list[str]:
    wf = (
        "on: [push]\njobs:\n  e2e:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: terraform apply -auto-approve\n      - run: pytest tests/e2e\n"
        "      - run: terraform destroy -auto-approve\n        if: always()\n"
    )
    return _write(env, {".github/workflows/e2e.yml": wf, "main.tf": 'resource "null_resource" "x" {}\n'})


def _hook_key(env: Env) -> list[str]:
    wf = (
        "on: [push]\njobs:\n  ship:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n"
        f'      - run: curl -fsS -X POST "https://api.render.com/deploy/srv-c0ffee?key={SECRET}"\n'
    )
    return _write(env, {".github/workflows/ship.yml": wf})


def _deploy_seen(report: dict[str, Any] | None) -> str | None:
    got = outcomes(report, "repo.pipeline-deploy")
    return None if got == {"pass"} else f"the deploy hook was not seen as a deploy: {sorted(got)}"


def _many_targets(env: Env) -> list[str]:
    # A make chain thousands deep, a compose service whose image is built from a Dockerfile naming itself as its
    # base, and a workflow pointing at all of them: the reader must stay bounded, and run none of it.
    wf = (
        "on: [push]\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: make t0\n      - run: docker compose run tests\n"
    )
    files = {
        ".github/workflows/ci.yml": wf,
        "Makefile": "".join(f"t{i}: t{i + 1}\n\ttouch {env.marker}\n" for i in range(3000)),
        "compose.yaml": "services:\n  tests:\n    build:\n      context: .\n      target: loop\n",
        "Dockerfile": "FROM loop AS loop\nCMD pytest\n",
    }
    return _write(env, files)


def _script_fan(env: Env) -> list[str]:
    # Two scripts calling each other thousands of times (a fan that would be 4000^3 commands if followed
    # without bounds), an ENTRYPOINT that starts it, and the only test where its failure is ignored (no
    # `set -e`, not the last command): CI-1 must not be met, the reader must stay bounded and run nothing.
    calls = "".join(f"bash scripts/b.sh {i}\n" for i in range(4000))
    files = {
        ".travis.yml": "language: generic\nscript:\n  - docker build -t app:test .\n  - docker run app:test x\n",
        "Dockerfile": 'FROM python:3.12-slim\nCOPY . /app\nENTRYPOINT ["bash", "scripts/a.sh"]\n',
        "scripts/a.sh": f"#!/bin/bash\npytest -q\n{calls}touch {env.marker}\n",
        "scripts/b.sh": f"#!/bin/bash\n{calls}bash scripts/a.sh\n",
    }
    return _write(env, files)


def _tests_in_name_only(env: Env) -> list[str]:
    """Every step looks like a test: a script named for tests, a test folder that is not there, npm's placeholder."""
    wf = (
        "on: [push, pull_request]\njobs:\n  ci:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: ./run_tests.sh\n      - run: pytest tests/unit/ integration_tests/\n      - run: npm test\n"
    )
    script = f"#!/bin/sh\nset -e\ntouch {env.marker}\necho 'all 42 tests passed'\n"
    package = '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}\n'
    return _write(env, {".github/workflows/ci.yml": wf, "run_tests.sh": script, "package.json": package})


def _placeholder_release(env: Env) -> list[str]:
    """Everything a CD pipeline shows, deploying a placeholder image after manifests that are not there; a `cd`
    out of the repository to borrow a Makefile's scan from outside it."""
    wf = (
        "on:\n  push:\n    branches: [main]\nenv:\n  IMAGE: your-registry/app\njobs:\n  cd:\n"
        "    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n      - run: cd ../../.. && make scan\n"
        "      - run: docker build -t $IMAGE:${{ github.sha }} . && docker push $IMAGE:${{ github.sha }}\n"
        "      - run: |\n          kubectl apply -f k8s/production/\n"
        "          kubectl set image deployment/app app=$IMAGE:${{ github.sha }}\n"
    )
    files = {
        ".github/workflows/cd.yml": wf,
        "Dockerfile": "FROM python:3.12-slim\nCMD python app.py\n",
        "tests/test_app.py": "def test_ok():\n    assert True\n",
        "Makefile": f"scan:\n\ttouch {env.marker}\n",
    }
    return _write(env, files)


def _nothing_released(report: dict[str, Any] | None) -> str | None:
    got = {c: criterion_status(report, c) for c in ("CI-2", "RP-1")}
    return None if set(got.values()) == {"not_met"} else f"a placeholder deploy was credited: {got}"


CASES = [
    HostileCase(
        "pipelines-installs-and-swallowed-tests", "false-pass", _installs_not_tests, _ci1_not_met, deadline_s=120
    ),
    HostileCase(
        "pipelines-throwaway-environment", "false-pass", _throwaway_env, fails("repo.pipeline-deploy"), deadline_s=120
    ),
    HostileCase("pipelines-deploy-hook-key", "leak", _hook_key, _deploy_seen, (SECRET,), deadline_s=120),
    HostileCase("pipelines-endless-indirection", "resources", _many_targets, deadline_s=120),
    HostileCase("pipelines-script-fan", "resources", _script_fan, _ci1_not_met, deadline_s=120),
    HostileCase("pipelines-tests-in-name-only", "false-pass", _tests_in_name_only, _ci1_not_met, deadline_s=120),
    HostileCase("pipelines-placeholder-release", "false-pass", _placeholder_release, _nothing_released, deadline_s=120),
]
