"""repo.pipeline, repo.pipeline-artefact, repo.deploy-gate, repo.automated-refresh on real git repos."""

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
    assert run_check("repo.deploy-gate", repo.path)[0].outcome is Outcome.COULD_NOT_CHECK


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
    [f] = run_check("repo.deploy-gate", repo.path)
    assert f.outcome is Outcome.PASS
    assert "test" in f.reason


def test_deploy_without_test_gate_fails_naming_line(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", DEPLOY_NEEDS.replace("    needs: test\n", "")).commit("ci")
    [f] = run_check("repo.deploy-gate", repo.path)
    assert f.outcome is Outcome.FAIL
    assert ".github/workflows/ci.yml:18" in f.reason
    assert f.evidence[0].start_line == 18


def test_deploy_after_soft_tests_fails(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", DEPLOY_NEEDS.replace("pytest -q", "pytest -q || true")).commit("ci")
    [f] = run_check("repo.deploy-gate", repo.path)
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
    [f] = run_check("repo.deploy-gate", repo.path)
    assert f.outcome is Outcome.PASS
    assert "CI" in f.reason


def test_workflow_run_deploy_without_success_condition_fails(make_repo):
    repo = make_repo()
    wf = WF_RUN.replace("    if: ${{ github.event.workflow_run.conclusion == 'success' }}\n", "")
    repo.write(".github/workflows/ci.yml", CI_OK).write(".github/workflows/deploy.yml", wf).commit("ci")
    [f] = run_check("repo.deploy-gate", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "conclusion" in f.reason


def test_gitlab_stage_order_gates_deploy(make_repo):
    repo = make_repo()
    gl = "stages: [test, deploy]\nunit:\n  stage: test\n  script: [pytest]\nship:\n  stage: deploy\n  script:\n"
    gl += "    - helm upgrade --install app chart/\n"
    repo.write(".gitlab-ci.yml", gl).commit("ci")
    [f] = run_check("repo.deploy-gate", repo.path)
    assert f.outcome is Outcome.PASS
    bad = make_repo("bad")
    bad.write(".gitlab-ci.yml", gl.replace("stage: deploy\n", "stage: deploy\n  needs: []\n")).commit("ci")
    assert run_check("repo.deploy-gate", bad.path)[0].outcome is Outcome.FAIL


def test_no_deploy_fails(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", CI_OK).commit("ci")
    assert run_check("repo.pipeline-deploy", repo.path)[0].outcome is Outcome.FAIL
    # CI without CD: nothing deploys or publishes, so CI-1's "CI-CD pipeline" is not there.
    [gate] = run_check("repo.deploy-gate", repo.path)
    assert gate.outcome is Outcome.FAIL and "CI without CD" in gate.reason


@pytest.mark.parametrize(
    ("path", "text", "said"),
    [
        ("netlify.toml", "[build]\n  command = 'npm run build'\n", "netlify.toml"),
        (
            ".github/workflows/release.yml",
            "on: workflow_dispatch\njobs:\n  ship:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: kubectl apply -f k8s/\n",
            "by hand",
        ),
    ],
)
def test_delivery_outside_an_automatic_deploy_is_no_ci_only_failure(make_repo, path, text, said):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", CI_OK).write(path, text).write("k8s/app.yaml", "kind: Deployment\n")
    repo.commit("ci")
    [gate] = run_check("repo.deploy-gate", repo.path)
    assert gate.outcome is Outcome.NOT_APPLICABLE and said in gate.reason


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


# -- reusable workflows (jobs.<id>.uses) ---------------------------------------
REUSABLE_CI = """name: ci
on:
  workflow_call:
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: ruff check .
  unit:
    needs: lint
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pytest -q
"""

CALLING_DEPLOY = """name: deploy
on:
  push:
    branches: [main]
  workflow_call:
jobs:
  ci:
    uses: ./.github/workflows/ci.yml
  deploy:
    needs: ci
    runs-on: ubuntu-latest
    steps:
      - run: docker build -t ghcr.io/me/app .
      - run: docker push ghcr.io/me/app
      - uses: pulumi/actions@v5
        with:
          command: up
"""

SCHEDULED_REDEPLOY = """name: refresh
on:
  schedule:
    - cron: "17 4 * * 1"
jobs:
  refresh:
    uses: ./.github/workflows/deploy.yml
    secrets: inherit
"""


def reusable_repo(make_repo, ci: str = REUSABLE_CI, deploy: str = CALLING_DEPLOY, name: str = "repo"):
    repo = make_repo(name)
    repo.write(".github/workflows/ci.yml", ci).write(".github/workflows/deploy.yml", deploy)
    return repo


def test_deploy_gated_by_reusable_ci_workflow_passes(make_repo):
    repo = reusable_repo(make_repo)
    repo.commit("ci")
    [f] = run_check("repo.deploy-gate", repo.path)
    assert f.outcome is Outcome.PASS, f.reason
    assert ".github/workflows/deploy.yml:15" in f.reason and ".github/workflows/ci.yml:14" in f.reason
    # The gate's evidence points into the called file, at the test line.
    assert (f.evidence[1].path, f.evidence[1].start_line) == (".github/workflows/ci.yml", 14)
    # The called-only CI runs on deploy.yml's push trigger: that is the pipeline gating changes.
    [p] = run_check("repo.pipeline", repo.path)
    assert p.outcome is Outcome.PASS, p.reason
    assert "ci.yml (called from .github/workflows/deploy.yml job `ci`) runs on push" in p.reason


def test_reusable_ci_with_continue_on_error_tests_does_not_gate(make_repo):
    soft = REUSABLE_CI.replace("      - run: pytest -q\n", "      - run: pytest -q\n        continue-on-error: true\n")
    repo = reusable_repo(make_repo, ci=soft)
    repo.commit("ci")
    [f] = run_check("repo.deploy-gate", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "cannot fail" in f.reason and "continue-on-error" in f.reason and "ci.yml:14" in f.reason


def test_schedule_calling_deploy_workflow_is_a_scheduled_redeploy(make_repo):
    repo = reusable_repo(make_repo)
    repo.write(".github/workflows/refresh.yml", SCHEDULED_REDEPLOY).commit("ci")
    [f] = run_check("repo.automated-refresh", repo.path)
    assert f.outcome is Outcome.PASS, f.reason
    assert "refresh.yml:4 on schedule (17 4 * * 1) rebuilds or redeploys" in f.reason
    # The redeploy it triggers (two calls deep) is gated too, and reported once per deploy step.
    [d] = run_check("repo.deploy-gate", repo.path)
    assert d.outcome is Outcome.PASS, d.reason


def test_scheduled_call_of_an_ungated_deploy_fails(make_repo):
    # deploy-only.yml has no tests: gated when push.yml calls it after tests, not when the schedule does.
    deploy_only = "on: workflow_call\njobs:\n  ship:\n    runs-on: ubuntu-latest\n    steps:\n"
    deploy_only += "      - run: helm upgrade --install app chart/\n"
    push = CI_OK + "  deploy:\n    needs: test\n    uses: ./.github/workflows/deploy-only.yml\n"
    nightly = SCHEDULED_REDEPLOY.replace("deploy.yml", "deploy-only.yml")
    repo = make_repo()
    repo.write(".github/workflows/deploy-only.yml", deploy_only).write(".github/workflows/push.yml", push)
    repo.write(".github/workflows/nightly.yml", nightly).commit("ci")
    [f] = run_check("repo.deploy-gate", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "deploy-only.yml:6 (called from .github/workflows/nightly.yml job `refresh`)" in f.reason


def test_remote_reusable_workflow_is_not_a_test_gate(make_repo):
    remote = CALLING_DEPLOY.replace("./.github/workflows/ci.yml", "acme/workflows/.github/workflows/ci.yml@v1")
    repo = make_repo()
    repo.write(".github/workflows/deploy.yml", remote).commit("ci")
    [f] = run_check("repo.deploy-gate", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "remote reusable workflow acme/workflows/.github/workflows/ci.yml@v1" in f.reason
    assert "cannot be read offline" in f.reason
    assert any("not counted as a test gate" in e.summary and e.start_line == 7 for e in f.evidence)


def test_missing_called_workflow_is_reported(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/deploy.yml", CALLING_DEPLOY).commit("ci")
    found = run_check("repo.pipeline", repo.path)
    bad = [f for f in found if f.outcome is Outcome.FAIL and "deploy.yml" in f.reason]
    assert bad and "./.github/workflows/ci.yml, which is not committed" in bad[0].reason
    assert bad[0].evidence[0].start_line == 7
    [d] = run_check("repo.deploy-gate", repo.path)
    assert d.outcome is Outcome.FAIL and "not committed" in d.reason


def test_reusable_workflow_cycle_is_bounded_and_reported(make_repo):
    a = "on: [push, workflow_call]\njobs:\n  b:\n    uses: ./.github/workflows/b.yml\n"
    b = "on: workflow_call\njobs:\n  a:\n    uses: ./.github/workflows/a.yml\n  t:\n    runs-on: x\n"
    b += "    steps:\n      - run: pytest\n"
    repo = make_repo()
    repo.write(".github/workflows/a.yml", a).write(".github/workflows/b.yml", b).commit("ci")
    found = run_check("repo.pipeline", repo.path)
    assert any(f.outcome is Outcome.FAIL and "cycle" in f.reason for f in found)


def test_uncalled_workflow_call_only_is_not_a_pipeline_of_its_own(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", REUSABLE_CI).commit("ci")
    [f] = run_check("repo.pipeline", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "reusable workflow (`on: workflow_call` only) that no workflow here calls" in f.reason
