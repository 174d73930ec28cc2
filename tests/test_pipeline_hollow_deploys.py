"""Issue 9: deploy steps that deploy nothing real (absent manifests, placeholder images) are no deploy."""

import pytest

from harness.model import Outcome
from tests.conftest import run_check

MANIFEST = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n"
JENKINS = """pipeline {
    agent any
    environment {
        DOCKER_IMAGE = '%s'
    }
    triggers { pollSCM('H/5 * * * *') }
    stages {
        stage('Test') { steps { sh 'pytest tests/' } }
        stage('Build') { steps { sh 'docker build -t $DOCKER_IMAGE:$BUILD_NUMBER .' } }
        stage('Deploy') {
            steps {
                sh \"\"\"
                    kubectl apply -f %s
                    kubectl set image deployment/app \\
                    app=$DOCKER_IMAGE:$BUILD_NUMBER -n prod
                \"\"\"
            }
        }
    }
}
"""


def deploy(make_repo, image: str, manifests: str, files: dict[str, str]) -> tuple[list[Outcome], str]:
    repo = make_repo()
    repo.write("tests/test_app.py", "def test_ok():\n    assert True\n")
    for path, text in files.items():
        repo.write(path, text)
    repo.write("Jenkinsfile", JENKINS % (image, manifests)).commit("ci")
    findings = run_check("repo.pipeline-deploy", repo.path)
    return [f.outcome for f in findings], " | ".join(f.reason for f in findings)


def test_real_image_and_committed_manifests_deploy(make_repo):
    outs, why = deploy(make_repo, "ghcr.io/acme/app", "k8s/prod/", {"k8s/prod/app.yaml": MANIFEST})
    assert Outcome.PASS in outs, why


@pytest.mark.parametrize(
    ("image", "manifests", "said"),
    [
        ("your-registry/flask-app", "k8s/prod/", "placeholder image `your-registry/flask-app`"),
        ("example/app", "k8s/prod/", "placeholder image `example/app`"),
        ("ghcr.io/acme/app", "k8s/staging/", "k8s/staging/, which the repository does not hold"),
    ],
)
def test_placeholder_image_or_absent_manifests_deploy_nothing(make_repo, image, manifests, said):
    outs, why = deploy(make_repo, image, manifests, {"k8s/prod/app.yaml": MANIFEST})
    assert outs == [Outcome.FAIL] and said in why, why


def test_unquoted_angle_bracket_blank_is_a_placeholder(make_repo):
    repo = make_repo()
    wf = (
        "on:\n  push:\n    branches: [main]\njobs:\n  ship:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: kubectl set image deployment/app app=<your-image>:1.0\n"
    )
    repo.write(".github/workflows/cd.yml", wf).commit("ci")
    [f] = run_check("repo.pipeline-deploy", repo.path)
    assert f.outcome == Outcome.FAIL and "placeholder" in f.reason, f.reason


def test_hollow_deploy_is_no_release_unit_and_no_functioning_pipeline(make_repo):
    """RP-1's `kubectl set image` sign and CI-1's gate: a placeholder deploy credits neither."""
    for image, released in (("your-registry/flask-app", False), ("ghcr.io/acme/app", True)):
        repo = make_repo(image.split("/")[0])
        repo.write("Dockerfile", "FROM python:3.12-slim\nCMD python app.py\n")
        repo.write("tests/test_app.py", "def test_ok():\n    assert True\n")
        repo.write("k8s/prod/app.yaml", MANIFEST)
        repo.write("Jenkinsfile", JENKINS % (image, "k8s/prod/")).commit("ci")
        [rel] = run_check("repo.immutable-releases", repo.path)
        gate = run_check("repo.deploy-gate", repo.path)
        assert (rel.outcome is Outcome.PASS) is released, rel.reason
        if not released:
            assert [f.outcome for f in gate] == [Outcome.FAIL] and "placeholder" in gate[0].reason, gate


GITLAB = """stages: [build, deploy, destroy]
variables:
  IMAGE: registry.gitlab.com/acme/app
build:
  stage: build
  script:
    - docker build -t $IMAGE:$CI_COMMIT_SHORT_SHA .
    - docker push $IMAGE:$CI_COMMIT_SHORT_SHA
deploy:
  stage: deploy
  script:
    - terraform init
    - terraform apply -auto-approve -var="image=$IMAGE:$CI_COMMIT_SHORT_SHA"
"""
DESTROY = """destroy:
  stage: destroy
  script:
    - terraform destroy -auto-approve -var="image=$IMAGE:$CI_COMMIT_SHORT_SHA"
"""
ECS = 'resource "aws_ecs_service" "app" {\n  name = "app"\n}\n'


@pytest.mark.parametrize("teardown", [True, False])
def test_apply_then_destroy_in_one_pipeline_is_a_test_environment_not_a_release(make_repo, teardown):
    repo = make_repo()
    repo.write("Dockerfile", "FROM python:3.12-slim\nCMD python app.py\n").write("main.tf", ECS)
    repo.write(".gitlab-ci.yml", GITLAB + (DESTROY if teardown else "")).commit("ci")
    [rel] = run_check("repo.immutable-releases", repo.path)
    images = run_check("repo.immutable-images", repo.path)
    if teardown:
        assert rel.outcome is Outcome.FAIL and "throwaway test environment" in rel.reason, rel.reason
        assert Outcome.PASS not in [f.outcome for f in images], images
        assert "nothing deploys them" in images[0].reason, images
    else:
        assert rel.outcome is not Outcome.FAIL, rel.reason
        assert Outcome.PASS in [f.outcome for f in images], images


@pytest.mark.parametrize(
    "deploy", ["", "      - run: kubectl set image deployment/app app=ghcr.io/acme/app:${{ github.sha }}\n"]
)
def test_build_tag_is_a_release_unit_only_when_something_deploys_it(make_repo, deploy):
    repo = make_repo()
    repo.write("Dockerfile", "FROM python:3.12-slim\nCMD python app.py\n")
    wf = (
        "on:\n  push:\n    branches: [main]\njobs:\n  ship:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: pytest\n"
        "      - run: docker build -t flask-app:${{ github.sha }} ./app\n" + deploy
    )
    repo.write(".github/workflows/ci.yml", wf).commit("ci")
    outs = [f.outcome for f in run_check("repo.immutable-images", repo.path)]
    assert (Outcome.PASS in outs) is bool(deploy), outs
    [rel] = run_check("repo.immutable-releases", repo.path)
    assert (rel.outcome is Outcome.FAIL) is not bool(deploy), rel.reason
    assert deploy or "no pipeline step deploys it" in rel.reason


def test_gitops_controller_deploys_what_the_pipeline_builds(make_repo):
    """Argo CD pulling new images is a deploy outside the pipeline: RP-1 is not failed for want of a deploy step."""
    repo = make_repo()
    repo.write("Dockerfile", "FROM python:3.12-slim\nCMD python app.py\n")
    repo.write("argocd/app.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: app\n")
    wf = (
        "on:\n  push:\n    branches: [main]\njobs:\n  ship:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: docker build -t ghcr.io/acme/app:${{ github.sha }} .\n"
        "      - run: docker push ghcr.io/acme/app:${{ github.sha }}\n"
    )
    repo.write(".github/workflows/ci.yml", wf).commit("ci")
    [rel] = run_check("repo.immutable-releases", repo.path)
    assert rel.outcome is not Outcome.FAIL, rel.reason
