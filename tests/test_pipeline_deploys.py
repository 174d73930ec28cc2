"""Issue 9, class 3: deploys and artefacts recognised widely (hooks, platform CLIs, IaC images, archives)."""

from harness.model import Outcome
from tests.conftest import run_check


def workflow(*steps: str) -> str:
    body = "".join(f"      - {s}\n" for s in steps)
    return (
        "name: CD\non:\n  push:\n    branches: [main]\njobs:\n  ship:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: pytest\n" + body
    )


def check(make_repo, check_id, wf, name="repo", extra=None):
    repo = make_repo(name)
    for path, text in (extra or {}).items():
        repo.write(path, text)
    repo.write(".github/workflows/cd.yml", wf).commit("ci")
    return run_check(check_id, repo.path)


def test_deploy_hooks_and_platform_clis_are_deploys(make_repo):
    deploys = (
        'run: curl -fsS -X POST "$RENDER_DEPLOY_HOOK"',
        "run: curl -X POST ${{ secrets.RENDER_DEPLOY_HOOK_URL }}",
        "run: az webapp deployment source config-zip -g rg -n app --src app.zip",
        "run: aws elasticbeanstalk update-environment --environment-name prod --version-label v1",
        "run: render deploys create srv-123 --wait",
        "uses: johnbeynon/render-deploy-action@v0.0.8",
    )
    for i, step in enumerate(deploys):
        [f] = check(make_repo, "repo.pipeline-deploy", workflow(step), f"d{i}")
        assert f.outcome is Outcome.PASS, (step, f.reason)


def test_plain_requests_are_not_deploys(make_repo):
    wf = workflow("run: curl -fsS https://example.com/health", "run: pip install awscli azure-cli")
    [f] = check(make_repo, "repo.pipeline-deploy", wf)
    assert f.outcome is Outcome.FAIL
    assert "no automated deploy step" in f.reason


def test_archive_uploaded_as_artefact(make_repo):
    wf = workflow(
        "run: zip -r app.zip src requirements.txt",
        "uses: actions/upload-artifact@v4\n        with:\n          name: app\n          path: app.zip",
    )
    [f] = check(make_repo, "repo.pipeline-artefact", wf)
    assert f.outcome is Outcome.PASS, f.reason
    assert "zip -r app.zip" in f.reason and "actions/upload-artifact" in f.reason


def test_release_asset_alone_is_an_artefact(make_repo):
    [f] = check(make_repo, "repo.pipeline-artefact", workflow("run: gh release create v1.0 dist/app.tar.gz"))
    assert f.outcome is Outcome.PASS, f.reason
    assert "gh release create" in f.reason


PULUMI_PROGRAM = """import pulumi
import pulumi_docker as docker

image = docker.Image(
    "app",
    build=docker.DockerBuildArgs(context=".."),
    image_name="ghcr.io/me/app:latest",
)
"""


def test_image_built_by_pulumi_program(make_repo):
    wf = workflow("uses: pulumi/actions@v5\n        with:\n          command: up\n          stack-name: prod")
    extra = {"infra/Pulumi.yaml": "name: app\nruntime: python\n", "infra/__main__.py": PULUMI_PROGRAM}
    [f] = check(make_repo, "repo.pipeline-artefact", wf, extra=extra)
    assert f.outcome is Outcome.PASS, f.reason
    assert "infra/__main__.py:4" in f.reason


def test_image_built_by_terraform_resource(make_repo):
    tf = 'resource "docker_registry_image" "app" {\n  name = docker_image.app.name\n}\n'
    [f] = check(
        make_repo, "repo.pipeline-artefact", workflow("run: terraform apply -auto-approve"), extra={"main.tf": tf}
    )
    assert f.outcome is Outcome.PASS, f.reason
    assert "main.tf:1" in f.reason


def test_iac_deploy_without_image_is_no_artefact(make_repo):
    tf = 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n'
    [f] = check(
        make_repo, "repo.pipeline-artefact", workflow("run: terraform apply -auto-approve"), extra={"main.tf": tf}
    )
    assert f.outcome is Outcome.FAIL


AZURE_RENDER = """trigger:
  branches:
    include: [main]
pool:
  name: self_hosted
steps:
- script: python -m pytest
- task: Docker@0
  inputs:
    imageName: '$(DOCKERHUB_REPO):$(Build.BuildId)'
- task: Docker@0
  inputs:
    action: 'Push an image'
    imageName: '$(DOCKERHUB_REPO):$(Build.BuildId)'
- script: |
    curl.exe $(RENDER_WEBHOOK)
  displayName: Deploy to render.com
"""


def test_azure_docker_task_and_render_webhook_macro(make_repo):
    repo = make_repo()
    repo.write("ci/python_dockerhub_render.yml", AZURE_RENDER).commit("ci")
    [deploy] = run_check("repo.pipeline-deploy", repo.path)
    assert deploy.outcome is Outcome.PASS, deploy.reason
    assert "curl.exe $(RENDER_WEBHOOK)" in deploy.reason
    [artefact] = run_check("repo.pipeline-artefact", repo.path)
    assert artefact.outcome is Outcome.PASS, artefact.reason
    assert "Docker@0" in artefact.reason


def test_ssh_heredoc_running_docker_is_a_deploy(make_repo):
    wf = workflow(
        "run: |\n          ssh ubuntu@app.example.org <<'EOF'\n          cd /srv/app\n"
        "          docker compose pull\n          docker compose up -d\n          EOF"
    )
    [f] = check(make_repo, "repo.pipeline-deploy", wf)
    assert f.outcome is Outcome.PASS, f.reason
    assert "ssh ubuntu@app.example.org" in f.reason
    [local] = check(make_repo, "repo.pipeline-deploy", workflow("run: docker compose up -d"), "local")
    assert local.outcome is Outcome.FAIL
