"""repo.pipeline, repo.pipeline-artefact, repo.pipeline-deploy, repo.automated-refresh on real git repos."""

import pytest

from harness.model import Outcome
from tests.conftest import run_check

CI_OK = """name: CI
on:
  push:
  pull_request:
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip install -r requirements.txt
      - run: pytest -q
"""

DEPLOY_NEEDS = (
    CI_OK
    + """  deploy:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: docker build -t app .
      - run: docker push ghcr.io/me/app
      - uses: pulumi/actions@v5
        with:
          command: up
"""
)


def outcomes(findings):
    return [f.outcome for f in findings]


def test_pipeline_with_test_gate_passes(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", CI_OK).commit("ci")
    [f] = run_check("repo.pipeline", repo.path)
    assert f.outcome is Outcome.PASS
    assert f.evidence[0].path == ".github/workflows/ci.yml"
    assert f.evidence[0].start_line == 11


def test_no_pipeline_fails(make_repo):
    repo = make_repo()
    repo.write("app.py", "print(1)\n").commit("init")
    [f] = run_check("repo.pipeline", repo.path)
    assert f.outcome is Outcome.FAIL


def test_placeholder_pipeline_fails(make_repo):
    repo = make_repo()
    wf = "on: [push]\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
    wf += '      - run: echo "running pytest"\n      - run: sleep 1 && true\n'
    repo.write(".github/workflows/ci.yml", wf).commit("ci")
    [f] = run_check("repo.pipeline", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "placeholder" in f.reason


def test_continue_on_error_tests_do_not_gate(make_repo):
    repo = make_repo()
    wf = CI_OK.replace("      - run: pytest -q\n", "      - run: pytest -q\n        continue-on-error: true\n")
    repo.write(".github/workflows/ci.yml", wf).commit("ci")
    [f] = run_check("repo.pipeline", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "continue-on-error" in f.reason and ".github/workflows/ci.yml:11" in f.reason


def test_or_true_and_set_plus_e_do_not_gate(make_repo):
    repo = make_repo()
    wf = CI_OK.replace("      - run: pytest -q\n", "      - run: |\n          set +e\n          pytest -q\n")
    repo.write(".github/workflows/a.yml", wf)
    repo.write(".github/workflows/b.yml", CI_OK.replace("pytest -q", "npm test || echo failed")).commit("ci")
    found = run_check("repo.pipeline", repo.path)
    assert outcomes(found) == [Outcome.FAIL, Outcome.FAIL]
    assert any("set +e" in f.reason and "(line 12)" in f.reason for f in found)
    assert any("|| echo" in f.reason for f in found)


def test_gitlab_allow_failure_does_not_gate(make_repo):
    repo = make_repo()
    gl = "stages: [test]\nunit:\n  stage: test\n  script:\n    - pytest\n  allow_failure: true\n"
    repo.write(".gitlab-ci.yml", gl).commit("ci")
    [f] = run_check("repo.pipeline", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "allow_failure" in f.reason and "line 6" in f.reason


def test_two_ci_systems_are_both_analysed(make_repo):
    repo = make_repo()
    gl = "include:\n  - local: ci/test.yml\n"
    repo.write(".gitlab-ci.yml", gl).write("ci/test.yml", "unit:\n  script:\n    - make test\n")
    repo.write(".github/workflows/ci.yml", CI_OK.replace("pytest -q", "pytest -q || true")).commit("ci")
    found = run_check("repo.pipeline", repo.path)
    assert sorted(outcomes(found)) == sorted([Outcome.WARN, Outcome.PASS])
    passed = next(f for f in found if f.outcome is Outcome.PASS)
    assert "GitLab CI" in passed.reason and "make test" in passed.reason


def test_malformed_workflow_fails_naming_file(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/broken.yml", "on: [push\njobs: {\n").commit("ci")
    [f] = run_check("repo.pipeline", repo.path)
    assert f.outcome is Outcome.FAIL
    assert ".github/workflows/broken.yml" in f.reason
    assert run_check("repo.pipeline-deploy", repo.path)[0].outcome is Outcome.COULD_NOT_CHECK


def test_uncommitted_workflow_does_not_count(make_repo):
    repo = make_repo()
    repo.write("app.py", "x = 1\n").commit("init")
    repo.write(".github/workflows/ci.yml", CI_OK)
    assert run_check("repo.pipeline", repo.path)[0].outcome is Outcome.FAIL


OTHER_SYSTEMS = [
    ("Jenkinsfile", "pipeline {\n  stages {\n    stage('Test') {\n      steps { sh 'mvn test' }\n    }\n  }\n}\n"),
    ("bitbucket-pipelines.yml", "pipelines:\n  default:\n    - step:\n        script:\n          - go test ./...\n"),
    ("azure-pipelines.yml", "trigger: [main]\nsteps:\n  - script: tox\n"),
    (".circleci/config.yml", "version: 2.1\njobs:\n  t:\n    steps:\n      - run: cargo test\n"),
    (".travis.yml", "language: python\nscript:\n  - pytest\n"),
]


@pytest.mark.parametrize(("path", "content"), OTHER_SYSTEMS)
def test_other_systems_detect_tests(make_repo, path, content):
    repo = make_repo()
    repo.write(path, content).commit("ci")
    [f] = run_check("repo.pipeline", repo.path)
    assert f.outcome is Outcome.PASS, f.reason
    assert path in f.reason


def test_artefact_built_and_published(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", DEPLOY_NEEDS).commit("ci")
    [f] = run_check("repo.pipeline-artefact", repo.path)
    assert f.outcome is Outcome.PASS
    assert "docker push" in f.reason


def test_artefact_built_not_published_warns_and_none_fails(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", CI_OK.replace("pytest -q", "python -m build")).commit("ci")
    assert run_check("repo.pipeline-artefact", repo.path)[0].outcome is Outcome.WARN
    other = make_repo("other")
    other.write(".github/workflows/ci.yml", CI_OK).commit("ci")
    assert run_check("repo.pipeline-artefact", other.path)[0].outcome is Outcome.FAIL


def test_deploy_after_needs_test_passes(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", DEPLOY_NEEDS).commit("ci")
    [f] = run_check("repo.pipeline-deploy", repo.path)
    assert f.outcome is Outcome.PASS
    assert "test" in f.reason


def test_deploy_without_test_gate_fails_naming_line(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", DEPLOY_NEEDS.replace("    needs: test\n", "")).commit("ci")
    [f] = run_check("repo.pipeline-deploy", repo.path)
    assert f.outcome is Outcome.FAIL
    assert ".github/workflows/ci.yml:18" in f.reason
    assert f.evidence[0].start_line == 18


def test_deploy_after_soft_tests_fails(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", DEPLOY_NEEDS.replace("pytest -q", "pytest -q || true")).commit("ci")
    [f] = run_check("repo.pipeline-deploy", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "cannot fail" in f.reason


WF_RUN = """name: Deploy
on:
  workflow_run:
    workflows: [CI]
    types: [completed]
jobs:
  deploy:
    runs-on: ubuntu-latest
    if: ${{ github.event.workflow_run.conclusion == 'success' }}
    steps:
      - run: terraform apply -auto-approve
"""


def test_workflow_run_deploy_with_success_condition_passes(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", CI_OK).write(".github/workflows/deploy.yml", WF_RUN).commit("ci")
    [f] = run_check("repo.pipeline-deploy", repo.path)
    assert f.outcome is Outcome.PASS
    assert "CI" in f.reason


def test_workflow_run_deploy_without_success_condition_fails(make_repo):
    repo = make_repo()
    wf = WF_RUN.replace("    if: ${{ github.event.workflow_run.conclusion == 'success' }}\n", "")
    repo.write(".github/workflows/ci.yml", CI_OK).write(".github/workflows/deploy.yml", wf).commit("ci")
    [f] = run_check("repo.pipeline-deploy", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "conclusion" in f.reason


def test_gitlab_stage_order_gates_deploy(make_repo):
    repo = make_repo()
    gl = "stages: [test, deploy]\nunit:\n  stage: test\n  script: [pytest]\nship:\n  stage: deploy\n  script:\n"
    gl += "    - helm upgrade --install app chart/\n"
    repo.write(".gitlab-ci.yml", gl).commit("ci")
    [f] = run_check("repo.pipeline-deploy", repo.path)
    assert f.outcome is Outcome.PASS
    bad = make_repo("bad")
    bad.write(".gitlab-ci.yml", gl.replace("stage: deploy\n", "stage: deploy\n  needs: []\n")).commit("ci")
    assert run_check("repo.pipeline-deploy", bad.path)[0].outcome is Outcome.FAIL


def test_no_deploy_fails(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", CI_OK).commit("ci")
    assert run_check("repo.pipeline-deploy", repo.path)[0].outcome is Outcome.FAIL


def test_scheduled_rebuild_passes(make_repo):
    repo = make_repo()
    wf = "on:\n  schedule:\n    - cron: '0 3 * * 1'\njobs:\n  rebuild:\n    runs-on: ubuntu-latest\n    steps:\n"
    wf += "      - run: docker build --pull -t app .\n"
    repo.write(".github/workflows/rebuild.yml", wf).commit("ci")
    [f] = run_check("repo.automated-refresh", repo.path)
    assert f.outcome is Outcome.PASS
    assert "0 3 * * 1" in f.reason


def test_dependabot_with_auto_deploy_passes_without_it_warns(make_repo):
    bot = "version: 2\nupdates:\n  - package-ecosystem: pip\n    directory: /\n    schedule: {interval: weekly}\n"
    repo = make_repo()
    repo.write(".github/dependabot.yml", bot).write(".github/workflows/ci.yml", DEPLOY_NEEDS).commit("ci")
    [f] = run_check("repo.automated-refresh", repo.path)
    assert f.outcome is Outcome.PASS
    assert "Dependabot" in f.reason
    only_bot = make_repo("bot")
    only_bot.write(".github/dependabot.yml", bot).commit("bot")
    assert run_check("repo.automated-refresh", only_bot.path)[0].outcome is Outcome.WARN


def test_no_refresh_fails(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", CI_OK).commit("ci")
    assert run_check("repo.automated-refresh", repo.path)[0].outcome is Outcome.FAIL


def test_gitlab_schedule_rule_counts(make_repo):
    repo = make_repo()
    gl = 'nightly:\n  script:\n    - docker build -t app .\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "schedule"\n'
    repo.write(".gitlab-ci.yml", gl).commit("ci")
    assert run_check("repo.automated-refresh", repo.path)[0].outcome is Outcome.PASS
