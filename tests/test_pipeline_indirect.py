"""Issue 9: what a pipeline runs through an image's ENTRYPOINT, a compose file, a script, and Travis stages."""

import pytest

from harness.model import Outcome
from tests.conftest import run_check

TEST_STAGE = 'FROM python:3.12 AS base\nCOPY . /app\nCMD ["gunicorn", "app:app"]\n\nFROM base AS test\n'


def travis(script: str, extra: str = "") -> str:
    return "language: generic\nservices:\n  - docker\nscript:\n" + script + extra


def outcomes(check: str, repo) -> tuple[list[Outcome], str]:
    findings = run_check(check, repo.path)
    return [f.outcome for f in findings], " | ".join(f.reason for f in findings)


def test_arguments_after_the_image_are_given_to_its_entrypoint(make_repo):
    repo = make_repo()
    repo.write("Dockerfile", TEST_STAGE + 'ENTRYPOINT ["poetry", "run", "pytest"]\n')
    script = "  - docker build --target test --tag todo-app:test .\n  - docker run todo-app:test test_app.py\n"
    repo.write(".travis.yml", travis(script)).commit("ci")
    outs, why = outcomes("repo.pipeline", repo)
    assert outs == [Outcome.PASS], why
    assert "Dockerfile:6 ENTRYPOINT" in why and "test_app.py" in why


def test_arguments_replace_cmd_when_there_is_no_entrypoint(make_repo):
    repo = make_repo()
    repo.write("Dockerfile", TEST_STAGE + 'CMD ["pytest", "-q"]\n')
    script = "  - docker build --target test -t app-test .\n  - docker run app-test python seed.py\n"
    repo.write(".travis.yml", travis(script)).commit("ci")
    outs, why = outcomes("repo.pipeline", repo)
    assert outs == [Outcome.FAIL], why


def test_shell_form_entrypoint_ignores_the_arguments(make_repo):
    repo = make_repo()
    repo.write("Dockerfile", TEST_STAGE + "ENTRYPOINT gunicorn app:app\n")
    script = "  - docker build --target test -t app-test .\n  - docker run app-test pytest\n"
    repo.write(".travis.yml", travis(script)).commit("ci")
    _, why = outcomes("repo.pipeline", repo)
    # `pytest` is still judged by its own words (as before); the ENTRYPOINT adds no second test.
    assert "ENTRYPOINT" not in why


def test_lowercase_dockerfile_is_the_one_docker_build_uses(make_repo):
    repo = make_repo()
    repo.write("dockerfile", TEST_STAGE + 'ENTRYPOINT ["python", "-m", "pytest"]\n')
    script = "  - docker build --target test --tag app:test .\n  - docker run app:test tests\n"
    repo.write(".travis.yml", travis(script)).commit("ci")
    outs, why = outcomes("repo.pipeline", repo)
    assert outs == [Outcome.PASS], why
    assert "dockerfile:6 ENTRYPOINT" in why


def test_compose_file_service_entrypoint_script_runs_tests(make_repo):
    repo = make_repo()
    repo.write("Dockerfile", TEST_STAGE + 'ENTRYPOINT ["sh", "entrypoint-test.sh"]\n')
    repo.write("entrypoint-test.sh", "#!/bin/bash\n\npoetry run pytest tests/unit\nwait\npoetry run pytest tests/e2e\n")
    repo.write(
        "docker-compose-ci.yml",
        "services:\n  todoapp:\n    image: todo:test\n    build:\n      context: ./\n      target: test\n",
    )
    repo.write(".travis.yml", travis("  - docker-compose --file docker-compose-ci.yml up --exit-code-from todoapp\n"))
    repo.commit("ci")
    outs, why = outcomes("repo.pipeline", repo)
    assert outs == [Outcome.PASS], why
    assert "entrypoint-test.sh:5" in why  # the last test decides the script's status


def test_script_whose_tests_are_not_its_last_command_cannot_fail(make_repo):
    repo = make_repo()
    repo.write(".travis/test.sh", "#!/bin/bash\npytest -q\npython report.py\n")
    repo.write(".travis.yml", travis("  - bash .travis/test.sh\n")).commit("ci")
    outs, why = outcomes("repo.pipeline", repo)
    assert outs == [Outcome.FAIL], why


def test_script_with_errexit_is_followed_like_a_make_recipe(make_repo):
    repo = make_repo()
    repo.write(".travis/checks.sh", "#!/bin/bash\nset -euo pipefail\npytest -q\npython report.py\n")
    repo.write(".travis.yml", travis("  - bash .travis/checks.sh\n")).commit("ci")
    outs, why = outcomes("repo.pipeline", repo)
    assert outs == [Outcome.PASS], why
    assert ".travis/checks.sh:3" in why


def travis_stages(deploy_stage: str) -> str:
    stage = f"      stage: {deploy_stage}\n" if deploy_stage else ""
    return (
        "language: python\njobs:\n  include:\n"
        "    - stage: test\n      script: pytest\n"
        "    - name: lint\n      script: flake8\n"
        f"    - name: ship\n{stage}      script: echo deploying\n"
        "      deploy:\n        provider: script\n        script: bash deploy.sh\n"
    )


def test_travis_deploy_in_a_later_stage_is_gated_by_the_tests(make_repo):
    repo = make_repo()
    repo.write("deploy.sh", '#!/bin/sh\nset -e\ncurl -fsS -X POST "$DEPLOY_HOOK"\n')
    repo.write(".travis.yml", travis_stages("deploy")).commit("ci")
    outs, why = outcomes("repo.deploy-gate", repo)
    assert outs == [Outcome.PASS], why


def test_travis_job_without_a_stage_runs_in_parallel_with_the_tests(make_repo):
    repo = make_repo()
    repo.write("deploy.sh", '#!/bin/sh\nset -e\ncurl -fsS -X POST "$DEPLOY_HOOK"\n')
    # An included job without `stage:` is in the stage of the one before it: "test", beside pytest.
    repo.write(".travis.yml", travis_stages("")).commit("ci")
    outs, why = outcomes("repo.deploy-gate", repo)
    assert outs == [Outcome.FAIL], why
    assert "does not depend on the test job" in why


DEPLOY_WF = (
    "name: deploy\non:\n  push:\n    branches: [main]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n      - run: yarn install --frozen-lockfile\n      - run: yarn %s\n"
)


def test_package_json_script_run_by_the_pipeline_is_followed(make_repo):
    repo = make_repo()
    repo.write("package.json", '{"scripts": {"deploy": "npx cdk deploy --all --require-approval never"}}\n')
    repo.write(".github/workflows/deploy.yml", DEPLOY_WF % "deploy").commit("ci")
    outs, why = outcomes("repo.pipeline-deploy", repo)
    assert outs == [Outcome.PASS], why
    assert "package.json scripts.deploy" in why


def test_package_json_script_that_deploys_nothing_is_no_deploy(make_repo):
    repo = make_repo()
    repo.write("package.json", '{"scripts": {"deploy": "npx cdk deploy", "lint": "eslint ."}}\n')
    repo.write(".github/workflows/deploy.yml", DEPLOY_WF % "lint").commit("ci")
    outs, why = outcomes("repo.pipeline-deploy", repo)
    assert Outcome.PASS not in outs, why


def test_cdk_deploy_builds_and_deploys_the_commit(make_repo):
    repo = make_repo()
    repo.write("package.json", '{"scripts": {"deploy": "npx cdk deploy --all --require-approval never"}}\n')
    repo.write(".github/workflows/deploy.yml", DEPLOY_WF % "deploy").commit("ci")
    outs, why = outcomes("repo.pipeline-artefact", repo)
    assert outs == [Outcome.PASS], why
    assert "cdk deploy" in why


def test_azd_deploy_packages_and_deploys_each_service(make_repo):
    wf = DEPLOY_WF.replace("yarn install --frozen-lockfile", "azd provision --no-prompt") % "--version"
    wf = wf.replace("yarn --version", "azd deploy --no-prompt")
    repo = make_repo()
    repo.write(".github/workflows/azure-dev.yml", wf).commit("ci")
    for check in ("repo.pipeline-artefact", "repo.pipeline-deploy"):
        outs, why = outcomes(check, repo)
        assert outs == [Outcome.PASS], why
        assert "azd deploy" in why


@pytest.mark.parametrize(
    "run",
    ["cd infra && yarn deploy", "yarn --cwd infra deploy", "npm --prefix=infra run deploy", "pnpm -C infra deploy"],
)
def test_package_json_script_is_read_from_the_folder_the_tool_runs_in(make_repo, run):
    repo = make_repo()
    repo.write("package.json", '{"scripts": {"deploy": "echo nothing here"}}\n')
    repo.write("infra/package.json", '{"scripts": {"deploy": "npx cdk deploy --all --require-approval never"}}\n')
    repo.write(".github/workflows/deploy.yml", DEPLOY_WF.replace("yarn %s", "%s") % run).commit("ci")
    outs, why = outcomes("repo.pipeline-deploy", repo)
    assert outs == [Outcome.PASS], why
    assert "infra/package.json scripts.deploy" in why


def test_package_json_script_of_another_folder_is_not_borrowed(make_repo):
    repo = make_repo()
    repo.write("infra/package.json", '{"scripts": {"deploy": "npx cdk deploy --all --require-approval never"}}\n')
    repo.write(".github/workflows/deploy.yml", DEPLOY_WF % "deploy").commit("ci")  # run at the root
    outs, why = outcomes("repo.pipeline-deploy", repo)
    assert outs != [Outcome.PASS], why
    assert "cdk deploy" not in why
