"""Issue 9, class 1: what a step runs, by its command word (tests in containers, make, installs are no tests)."""

from harness.model import Outcome
from tests.conftest import run_check


def workflow(*runs: str, extra: str = "") -> str:
    steps = "".join(f"      - run: {r}\n" if "\n" not in r else f"      - run: |\n{r}" for r in runs)
    return (
        "name: CI\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n" + steps + extra
    )


def ci1(repo):
    findings = run_check("repo.pipeline", repo.path)
    return findings, [f.outcome for f in findings]


def test_installing_pytest_is_no_test(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", workflow("pip install flake8 pytest", "flake8 .")).commit("ci")
    findings, outs = ci1(repo)
    assert outs == [Outcome.FAIL]
    assert "runs no test command" in findings[0].reason


def test_installing_scanners_is_no_scan(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", workflow("pip install bandit safety pip-audit", "pytest")).commit("ci")
    [f] = run_check("repo.security-scanning", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "no security scanner found" in f.reason


def test_swallowed_tests_not_credited_even_with_pytest_install(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", workflow("pip install pytest", "pytest || echo failed")).commit("ci")
    findings, outs = ci1(repo)
    assert Outcome.PASS not in outs
    assert Outcome.FAIL in outs
    assert any("cannot fail" in f.reason for f in findings)


def test_continue_on_error_tests_not_credited(make_repo):
    repo = make_repo()
    wf = workflow("pip install pytest") + "      - run: pytest\n        continue-on-error: true\n"
    repo.write(".github/workflows/ci.yml", wf).commit("ci")
    _, outs = ci1(repo)
    assert outs == [Outcome.FAIL]


def test_docker_run_of_image_whose_cmd_runs_tests(make_repo):
    repo = make_repo()
    repo.write(
        "Dockerfile",
        'FROM python:3.12 AS base\nCOPY . /app\nCMD ["gunicorn", "app:app"]\n\n'
        'FROM base AS test\nRUN pip install pytest\nCMD ["python", "-m", "pytest", "-q"]\n',
    )
    repo.write(
        ".github/workflows/ci.yml",
        workflow(
            "docker build --target test -t app-test:${{ github.sha }} .", "docker run --rm app-test:${{ github.sha }}"
        ),
    ).commit("ci")
    findings, outs = ci1(repo)
    assert outs == [Outcome.PASS]
    assert "Dockerfile:7" in findings[0].reason and "pytest" in findings[0].reason


def test_docker_run_of_image_whose_cmd_serves_is_no_test(make_repo):
    repo = make_repo()
    repo.write("Dockerfile", 'FROM python:3.12\nRUN pip install pytest\nCMD ["gunicorn", "app:app"]\n')
    repo.write(".github/workflows/ci.yml", workflow("docker build -t app .", "docker run -d app")).commit("ci")
    _, outs = ci1(repo)
    assert outs == [Outcome.FAIL]


def test_compose_v1_run_with_continuations_runs_service_command(make_repo):
    repo = make_repo()
    repo.write(
        "docker-compose.ci.yml",
        'services:\n  tests:\n    build: .\n    command: ["pytest", "-q", "tests"]\n  web:\n    build: .\n',
    )
    repo.write(
        ".github/workflows/ci.yml",
        workflow("          docker-compose -f docker-compose.ci.yml \\\n            run --rm \\\n            tests\n"),
    ).commit("ci")
    findings, outs = ci1(repo)
    assert outs == [Outcome.PASS]
    assert "service `tests` in docker-compose.ci.yml" in findings[0].reason


def test_compose_run_service_built_from_test_stage(make_repo):
    repo = make_repo()
    repo.write("Dockerfile", 'FROM node:20 AS app\nCMD ["node", "server.js"]\nFROM app AS test\nCMD ["npm", "test"]\n')
    repo.write("compose.yaml", "services:\n  unit:\n    build:\n      context: .\n      target: test\n")
    repo.write(".github/workflows/ci.yml", workflow("docker compose run --rm unit")).commit("ci")
    _, outs = ci1(repo)
    assert outs == [Outcome.PASS]


def test_compose_run_of_web_service_is_no_test(make_repo):
    repo = make_repo()
    repo.write("compose.yaml", "services:\n  web:\n    image: nginx\n    command: nginx -g 'daemon off;'\n")
    repo.write(".github/workflows/ci.yml", workflow("docker compose run -d web")).commit("ci")
    _, outs = ci1(repo)
    assert outs == [Outcome.FAIL]


def test_make_target_recipe_runs_tests(make_repo):
    repo = make_repo()
    repo.write("Makefile", "verify: lint\n\t@python -m pytest -q\n\nlint:\n\truff check .\n")
    repo.write(".github/workflows/ci.yml", workflow("make verify")).commit("ci")
    findings, outs = ci1(repo)
    assert outs == [Outcome.PASS]
    assert "Makefile:2" in findings[0].reason


def test_make_recipe_ignoring_failures_cannot_fail(make_repo):
    repo = make_repo()
    repo.write("Makefile", "verify:\n\t-pytest -q\n")
    repo.write(".github/workflows/ci.yml", workflow("make verify")).commit("ci")
    _, outs = ci1(repo)
    assert outs == [Outcome.FAIL]


def test_wrapped_test_runners_are_tests(make_repo):
    for line in (
        "uv run --with pytest pytest",
        "tox -e py312",
        "nox -s tests",
        "npm test",
        "make test",
        "sh -c 'pytest'",
    ):
        repo = make_repo(line.replace(" ", "_").replace("'", ""))
        repo.write(".github/workflows/ci.yml", workflow(line)).commit("ci")
        _, outs = ci1(repo)
        assert outs == [Outcome.PASS], line


def test_echoing_a_test_command_is_no_test(make_repo):
    repo = make_repo()
    repo.write(
        ".github/workflows/ci.yml", workflow("pip install -r requirements.txt", 'echo "run pytest later"')
    ).commit("ci")
    _, outs = ci1(repo)
    assert outs == [Outcome.FAIL]


def test_docker_run_of_image_built_by_build_push_action(make_repo):
    repo = make_repo()
    repo.write("docker/Dockerfile", 'FROM node:20 AS app\nCMD ["node", "server.js"]\nFROM app AS test\nCMD npm test\n')
    wf = workflow("docker run --rm ghcr.io/me/app-test:ci").replace(
        "      - run: docker run",
        "      - uses: docker/build-push-action@v6\n        with:\n          file: docker/Dockerfile\n"
        "          target: test\n          load: true\n          tags: ghcr.io/me/app-test:ci\n      - run: docker run",
    )
    repo.write(".github/workflows/ci.yml", wf).commit("ci")
    findings, outs = ci1(repo)
    assert outs == [Outcome.PASS], findings[0].reason
    assert "docker/Dockerfile:4 CMD" in findings[0].reason


def test_scripts_run_through_an_interpreter_are_judged_by_the_script(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", workflow("python3 manage.py test", "bash ./deploy.sh")).commit("ci")
    _, outs = ci1(repo)
    assert outs == [Outcome.PASS]
    [f] = run_check("repo.pipeline-deploy", repo.path)
    assert f.outcome is Outcome.PASS and "bash ./deploy.sh" in f.reason
