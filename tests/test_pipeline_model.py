"""Issue 9, classes 2 and 4: one model for every CI system, judged one trigger at a time.

Gitea/Forgejo and Azure-anywhere discovery, event and branch conditions, per-trigger gates, test
environments, and a missing gate reported under CI-1 only (repo.deploy-gate), not CI-2/AU-1.
"""

from harness import catalogue
from harness.model import Outcome
from tests.conftest import run_check

ACTIONS_CI = """name: CI
on: [push, pull_request]
jobs:
  test:
    runs-on: docker
    steps:
      - uses: actions/checkout@v4
      - run: python -m pytest -q
"""

UNGATED = """name: Ship
on:
  push:
    branches: [main]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: flyctl deploy --remote-only
"""


def outcome(check_id, repo):
    return [f.outcome for f in run_check(check_id, repo.path)]


def test_gitea_and_forgejo_workflows_are_pipelines(make_repo):
    for folder, name in ((".gitea/workflows", "Gitea Actions"), (".forgejo/workflows", "Forgejo Actions")):
        repo = make_repo(folder.split("/")[0].strip("."))
        repo.write(f"{folder}/ci.yaml", ACTIONS_CI).commit("ci")
        [f] = run_check("repo.pipeline", repo.path)
        assert f.outcome is Outcome.PASS, f.reason
        assert name in f.reason and f"{folder}/ci.yaml" in f.reason


AZURE = """trigger:
  branches:
    include: [main]
pool:
  vmImage: ubuntu-latest
stages:
  - stage: Test
    jobs:
      - job: unit
        steps:
          - script: python -m pytest -q
  - stage: Deploy
    dependsOn: Test
    jobs:
      - job: ship
        steps:
          - task: AzureWebApp@1
            inputs:
              appName: demo
"""


def test_azure_pipeline_in_any_yaml_file(make_repo):
    for path in ("pipelines/build.yml", ".azure/ci.yaml", ".azuredevops/main.yml"):
        repo = make_repo(path.replace("/", "_"))
        repo.write(path, AZURE).write("docker-compose.yml", "services:\n  web:\n    image: nginx\n").commit("ci")
        [f] = run_check("repo.pipeline", repo.path)
        assert f.outcome is Outcome.PASS, (path, f.reason)
        assert path in f.reason


def test_azure_template_and_other_yaml_are_not_pipelines(make_repo):
    repo = make_repo()
    repo.write("templates/steps.yml", "parameters:\n  - name: x\nsteps:\n  - script: pytest\n")
    repo.write("k8s/app.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n").commit("yaml")
    [f] = run_check("repo.pipeline", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "no pipeline definition is committed" in f.reason


def test_azure_stage_skipped_on_schedule_is_no_refresh(make_repo):
    repo = make_repo()
    wf = AZURE + "schedules:\n  - cron: '0 3 * * 1'\n    branches:\n      include: [main]\n"
    wf = wf.replace(
        "    dependsOn: Test\n", "    dependsOn: Test\n    condition: ne(variables['Build.Reason'], 'Schedule')\n"
    )
    repo.write("azure-pipelines.yml", wf).commit("ci")
    [f] = run_check("repo.automated-refresh", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "skipped on schedule" in f.reason


SCHEDULED = """name: Nightly
on:
  push:
    branches: [main]
  schedule:
    - cron: '0 4 * * *'
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: pytest
  build:
    needs: test
    if: github.event_name != 'schedule'
    runs-on: ubuntu-latest
    steps:
      - run: docker build -t ghcr.io/me/app .
      - run: docker push ghcr.io/me/app
  deploy:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: kubectl set image deploy/app app=ghcr.io/me/app
"""


def test_schedule_whose_build_and_deploy_skip_schedule_is_no_refresh(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/nightly.yml", SCHEDULED).commit("ci")
    [f] = run_check("repo.automated-refresh", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "skipped on schedule" in f.reason and "github.event_name != 'schedule'" in f.reason
    good = make_repo("good")
    good.write(".github/workflows/nightly.yml", SCHEDULED.replace("    if: github.event_name != 'schedule'\n", ""))
    good.commit("ci")
    assert outcome("repo.automated-refresh", good) == [Outcome.PASS]


def test_branch_condition_keeps_scheduled_deploy(make_repo):
    repo = make_repo()
    wf = SCHEDULED.replace("github.event_name != 'schedule'", "github.ref == 'refs/heads/main'")
    repo.write(".github/workflows/nightly.yml", wf).commit("ci")
    assert outcome("repo.automated-refresh", repo) == [Outcome.PASS]


def test_gitlab_rules_skipping_schedules_is_no_refresh(make_repo):
    repo = make_repo()
    gl = (
        "stages: [test, deploy]\nunit:\n  stage: test\n  script: [pytest]\n"
        "nightly-audit:\n  stage: test\n  script: [pip-audit]\n  rules:\n"
        '    - if: $CI_PIPELINE_SOURCE == "schedule"\n'
        "ship:\n  stage: deploy\n  script: [helm upgrade --install app chart/]\n  rules:\n"
        '    - if: $CI_PIPELINE_SOURCE == "schedule"\n      when: never\n    - if: $CI_COMMIT_BRANCH == "main"\n'
    )
    repo.write(".gitlab-ci.yml", gl).commit("ci")
    [f] = run_check("repo.automated-refresh", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "skipped on schedule" in f.reason


def test_test_step_skipped_on_push_does_not_gate_push_deploy(make_repo):
    wf = (
        "on: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: pytest\n        if: github.event_name == 'pull_request'\n"
        "  deploy:\n    needs: test\n    if: github.event_name == 'push'\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: pulumi up --yes\n"
    )
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", wf).commit("ci")
    [f] = run_check("repo.deploy-gate", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "skipped on push" in f.reason
    good = make_repo("good")
    good.write(".github/workflows/ci.yml", wf.replace("        if: github.event_name == 'pull_request'\n", ""))
    good.commit("ci")
    assert outcome("repo.deploy-gate", good) == [Outcome.PASS]


def test_environment_created_and_destroyed_for_tests_is_no_deploy(make_repo):
    wf = (
        "on: [push]\njobs:\n  e2e:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: pulumi up --yes --stack ci\n      - run: pytest tests/e2e\n"
        "      - run: pulumi destroy --yes --stack ci\n        if: always()\n"
    )
    repo = make_repo()
    repo.write(".github/workflows/e2e.yml", wf).commit("ci")
    [f] = run_check("repo.pipeline-deploy", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "test environment" in f.reason and "pulumi destroy" in f.reason
    assert outcome("repo.deploy-gate", repo) == [Outcome.NOT_APPLICABLE]


def test_missing_gate_fails_ci1_only(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", ACTIONS_CI).write(".github/workflows/ship.yml", UNGATED).commit("ci")
    [deploy] = run_check("repo.pipeline-deploy", repo.path)
    assert deploy.outcome is Outcome.PASS
    assert "repo.deploy-gate" in deploy.reason
    [gate] = run_check("repo.deploy-gate", repo.path)
    assert gate.outcome is Outcome.FAIL
    assert ".github/workflows/ship.yml:10" in gate.reason
    crit = {c.id: c for c in catalogue.load().criteria}
    assert "repo.deploy-gate" in crit["CI-1"].checks
    assert "repo.deploy-gate" not in crit["CI-2"].checks and "repo.deploy-gate" not in crit["AU-1"].checks
    assert "repo.pipeline-deploy" in crit["CI-2"].checks and "repo.pipeline-deploy" in crit["AU-1"].checks


def test_azure_stage_depending_on_nothing_is_ungated(make_repo):
    repo = make_repo()
    repo.write("azure-pipelines.yml", AZURE).commit("ci")
    assert outcome("repo.deploy-gate", repo) == [Outcome.PASS]
    bad = make_repo("bad")
    bad.write("azure-pipelines.yml", AZURE.replace("dependsOn: Test", "dependsOn: []")).commit("ci")
    [f] = run_check("repo.deploy-gate", bad.path)
    assert f.outcome is Outcome.FAIL
    assert "AzureWebApp@1" in f.reason


def test_scheduled_forgejo_workflow_is_extra_automation(make_repo):
    repo = make_repo()
    wf = ACTIONS_CI.replace("on: [push, pull_request]", "on:\n  schedule:\n    - cron: '0 3 * * 1'")
    repo.write(".forgejo/workflows/nightly.yml", wf).write("app.py", "x = 1\n").commit("ci")
    [f] = run_check("repo.extra-automation", repo.path)
    assert f.outcome is Outcome.PASS, f.reason
    assert "scheduled Forgejo Actions pipeline .forgejo/workflows/nightly.yml (cron 0 3 * * 1)" in f.reason


def test_tests_skipped_on_push_and_pull_request_are_no_gate(make_repo):
    repo = make_repo()
    wf = ACTIONS_CI.replace("on: [push, pull_request]", "on: [push, pull_request, schedule]").replace(
        "      - run: python -m pytest -q\n",
        "      - run: python -m pytest -q\n        if: github.event_name == 'schedule'\n",
    )
    repo.write(".github/workflows/ci.yml", wf).commit("ci")
    [f] = run_check("repo.pipeline", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "never on push, pull_request" in f.reason


CIRCLE = """version: 2.1
jobs:
  test:
    docker: [{image: cimg/python:3.12}]
    steps: [checkout, {run: pytest}]
  ship:
    docker: [{image: cimg/base:current}]
    steps: [checkout, {run: docker build -t app .}, {run: flyctl deploy}]
workflows:
  ci:
    jobs: [test, {ship: {requires: [test]}}]
  nightly:
    triggers:
      - schedule:
          cron: "0 3 * * *"
          filters: {branches: {only: [main]}}
    jobs: [test]
"""


def test_circleci_scheduled_workflow_runs_only_its_own_jobs(make_repo):
    repo = make_repo()
    repo.write(".circleci/config.yml", CIRCLE).commit("ci")
    [f] = run_check("repo.automated-refresh", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "skipped on schedule" in f.reason
    good = make_repo("good")
    good.write(
        ".circleci/config.yml", CIRCLE.replace("    jobs: [test]\n", "    jobs: [test, {ship: {requires: [test]}}]\n")
    )
    good.commit("ci")
    assert outcome("repo.automated-refresh", good) == [Outcome.PASS]
