"""Issue 9, classes 2 and 20: what a deploy really releases, and RP-1 decided on immutability, not on `latest`."""

from __future__ import annotations

from harness.grading import MET, NOT_MET
from harness.model import Outcome
from tests.conftest import run_check
from tests.test_repo_immutable_releases import _repo, _rp1

DOCKERFILE = "FROM python:3.12.4-slim\nCOPY app.py /app.py\nCMD python /app.py\n"
TRAVIS = (
    "language: generic\nservices:\n  - docker\nscript:\n  - docker build -t me/app .\n"
    "deploy:\n  provider: script\n  script: bash docker_push\n  on:\n    branch: main\n"
)
HEROKU_PUSH = (
    '#!/bin/bash\ndocker login -u "$HEROKU_USERNAME" --password="$HEROKU_PASSWORD" registry.heroku.com\n'
    "docker build -t me/app .\ndocker tag me/app registry.heroku.com/my-app/web\n"
    "docker push registry.heroku.com/my-app/web\n"
)


def outcomes(check: str, repo) -> tuple[list[Outcome], str]:
    findings = run_check(check, repo.path)
    return [f.outcome for f in findings], " | ".join(f.reason for f in findings)


def test_a_heroku_registry_push_without_a_release_is_no_deploy(make_repo):
    repo = _repo(make_repo, {"Dockerfile": DOCKERFILE, ".travis.yml": TRAVIS, "docker_push": HEROKU_PUSH})
    outs, why = outcomes("repo.pipeline-deploy", repo)
    # Before: the Travis script provider was a deploy by its place alone.
    assert outs == [Outcome.FAIL], why
    assert "registry.heroku.com/my-app/web" in why and "nothing releases" in why
    repo.write("docker_push", HEROKU_PUSH + "heroku container:release web --app my-app\n").commit("release it")
    outs, why = outcomes("repo.pipeline-deploy", repo)
    assert outs == [Outcome.PASS], why


PLAYBOOK = "- hosts: web\n  become: yes\n  roles:\n    - app\n"
CLONE_AND_BUILD = (
    "- name: Clone the application\n  git:\n    repo: https://github.com/me/app.git\n    dest: /opt/app\n"
    "    version: main\n\n- name: Build and start\n  command: docker compose up -d --build\n"
    "  args:\n    chdir: /opt/app\n"
)
PULL_IMAGE = (
    "- name: Run the released image\n  community.docker.docker_container:\n    name: app\n"
    '    image: "ghcr.io/me/app:{{ image_tag }}"\n'
)
ANSIBLE_WORKFLOW = """on: push
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: docker build -t ghcr.io/me/app:${{ github.sha }} .
      - run: docker push ghcr.io/me/app:${{ github.sha }}
  deploy:
    needs: image
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: ansible-playbook -i inventory.ini ansible/site.yml -e image_tag=${{ github.sha }}
"""


def test_ansible_cloning_main_and_rebuilding_on_the_server_ships_no_artefact(make_repo):
    files = {
        "Dockerfile": DOCKERFILE,
        ".github/workflows/cd.yml": ANSIBLE_WORKFLOW,
        "ansible/site.yml": PLAYBOOK,
        "ansible/roles/app/tasks/main.yml": CLONE_AND_BUILD,
    }
    repo = _repo(make_repo, files)
    outs, why = outcomes("repo.pipeline-artefact", repo)
    # Before: the pushed image passed as the artefact that the `ansible-playbook` deploy ships.
    assert outs == [Outcome.FAIL], why
    assert "ansible/roles/app/tasks/main.yml:2" in why and "not what runs" in why
    deploy, _ = outcomes("repo.pipeline-deploy", repo)
    assert deploy == [Outcome.PASS]  # the deploy is automated (AU-1); what it ships is CI-2's question
    result, _ = _rp1(repo)
    assert result.status == NOT_MET  # change in place: RP-1 evidence against

    repo.write("ansible/roles/app/tasks/main.yml", PULL_IMAGE).commit("run the pushed image")
    outs, why = outcomes("repo.pipeline-artefact", repo)
    assert outs == [Outcome.PASS], why
    result, _ = _rp1(repo)
    assert result.status == MET, result.reason


PULUMI_MAIN = """import os
import pulumi
from pulumi_aws import ecr, ecs
from pulumi_docker import Image

repo = ecr.Repository("app")
tag = os.getenv("IMAGE_TAG", "latest")
image = Image("app-image", build={"context": "."}, image_name=repo.repository_url.apply(lambda u: f"{u}:{tag}"))
task = ecs.TaskDefinition("task", family="app", container_definitions=image.image_name.apply(lambda n: n))
service = ecs.Service("service", task_definition=task.arn, desired_count=1)
"""
PULUMI_WORKFLOW = """on:
  push:
    branches: [main]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "IMAGE_TAG=${GITHUB_SHA}" >> $GITHUB_ENV
      - run: pulumi up --yes
"""


def test_a_pulumi_docker_image_feeding_ecs_is_the_release_unit(make_repo):
    files = {
        "Dockerfile": DOCKERFILE,
        "Pulumi.yaml": "name: app\nruntime: python\n",
        "__main__.py": PULUMI_MAIN,
        ".github/workflows/deploy.yml": PULUMI_WORKFLOW,
    }
    repo = _repo(make_repo, files)
    outs, why = outcomes("repo.pipeline-artefact", repo)
    assert outs == [Outcome.PASS] and "__main__.py:8" in why, why  # before: "no build step"
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is Outcome.PASS and "ecs.TaskDefinition" in f.reason, f.reason
    result, _ = _rp1(repo)
    assert result.status == MET, result.reason  # before: undetermined

    repo.write("__main__.py", PULUMI_MAIN.split("task = ")[0]).commit("image only, nothing runs it")
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is not Outcome.PASS, f.reason


LATEST_AND_WEBHOOK = """language: generic
services:
  - docker
script:
  - docker build --target test -t me/app-test . && docker run me/app-test
deploy:
  provider: script
  script: bash deploy.sh
  on:
    branch: main
"""
DEPLOY_SH = (
    "#!/bin/bash\nset -e\ndocker build --target production -t me/app:latest .\ndocker push me/app:latest\n"
    'curl -dH -X POST "$AZURE_WEBHOOK"\n'
)


def test_latest_images_replaced_by_each_release_meet_rp1_with_advice(make_repo):
    """Class 20: a `latest` tag is a hygiene warning; the image built per release and replaced decides RP-1."""
    repo = _repo(make_repo, {"Dockerfile": DOCKERFILE, ".travis.yml": LATEST_AND_WEBHOOK, "deploy.sh": DEPLOY_SH})
    result, findings = _rp1(repo)
    [f] = findings["repo.immutable-releases"]
    assert f.outcome is Outcome.PASS and "docker push me/app:latest" in f.reason, f.reason
    assert any(i.outcome is Outcome.WARN for i in findings["repo.immutable-images"])  # the advice stays
    assert result.status == MET, result.reason  # before: undetermined, "no check found positive evidence"


def test_latest_images_with_a_deploy_that_changes_servers_in_place_fail_rp1(make_repo):
    ssh = DEPLOY_SH.replace('curl -dH -X POST "$AZURE_WEBHOOK"', "ssh deploy@web 'cd /srv/app && git pull'")
    repo = _repo(make_repo, {"Dockerfile": DOCKERFILE, ".travis.yml": LATEST_AND_WEBHOOK, "deploy.sh": ssh})
    result, findings = _rp1(repo)
    assert [f.outcome for f in findings["repo.immutable-releases"]] == [Outcome.FAIL]
    assert result.status == NOT_MET


def test_ansible_copying_a_site_into_the_web_root_is_change_in_place(make_repo):
    playbook = (
        "- name: web\n  hosts: web\n  tasks:\n    - name: Install nginx\n      apt:\n        name: nginx\n"
        "    - name: Deploy webserver\n      copy:\n        src: index.html\n        dest: /var/www/html/index.html\n"
    )
    repo = _repo(make_repo, {"ansible/install_webserver_playbook.yml": playbook, "Dockerfile": DOCKERFILE})
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is Outcome.FAIL and "web root" in f.reason, f.reason


AZURE_ZIP_DEPLOY = """trigger:
- main
stages:
- stage: Deploy
  jobs:
  - deployment: Api
    environment: test
    strategy:
      runOnce:
        deploy:
          steps:
          - task: AzureRMWebAppDeployment@4
            inputs:
              WebappName: my-api
              packageForLinux: $(Pipeline.Workspace)/drop/api.zip
"""


def test_azure_task_names_are_matched_whatever_their_case(make_repo):
    """Azure Pipelines ignores the case of task names: `AzureRMWebAppDeployment@4` is the App Service deploy."""
    repo = _repo(make_repo, {"azure-pipelines.yaml": AZURE_ZIP_DEPLOY})
    outs, why = outcomes("repo.pipeline-deploy", repo)
    assert outs == [Outcome.PASS] and "AzureRMWebAppDeployment@4" in why, why


def test_a_code_package_zip_deployed_onto_app_service_is_change_in_place(make_repo):
    repo = _repo(make_repo, {"azure-pipelines.yaml": AZURE_ZIP_DEPLOY})
    result, findings = _rp1(repo)
    [f] = findings["repo.immutable-releases"]
    # Before: "nothing shows how a release replaces what runs" (a warning), and RP-1 undetermined.
    assert f.outcome is Outcome.FAIL and "App Service" in f.reason, f.reason
    assert result.status == NOT_MET

    package = "packageForLinux: $(Pipeline.Workspace)/drop/api.zip"
    image = AZURE_ZIP_DEPLOY.replace(package, "images: me/api:$(Build.BuildId)")
    repo.write("azure-pipelines.yaml", image).write("Dockerfile", DOCKERFILE).commit("deploy the image instead")
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is not Outcome.FAIL, f.reason  # an App Service running a new image is replaced by it


def test_azd_deploying_code_to_app_service_is_change_in_place(make_repo):
    workflow = "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
    workflow += "      - run: azd deploy --no-prompt\n"
    azure_yaml = "name: todo\nservices:\n  api:\n    project: ./src/api\n    language: py\n    host: appservice\n"
    repo = _repo(make_repo, {".github/workflows/deploy.yml": workflow, "azure.yaml": azure_yaml})
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is Outcome.FAIL and "deploy.yml:6" in f.reason and "App Service" in f.reason, f.reason
    repo.write("azure.yaml", azure_yaml.replace("appservice", "containerapp")).write("Dockerfile", DOCKERFILE)
    repo.commit("container apps")
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is not Outcome.FAIL, f.reason


FEATURE_STACKS = """on:
  push:
    branches: [develop, 'feature**']
  delete:
    branches: ['feature**']
jobs:
  deploy:
    if: github.event_name == 'push'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pytest
      - run: cdk deploy --require-approval never
  delete-feature-stack:
    if: github.event_name == 'delete'
    runs-on: ubuntu-latest
    steps:
      - run: cdk destroy --force
"""


def test_a_teardown_on_another_event_leaves_the_deploy_standing(make_repo):
    """`cdk destroy` when a feature branch is deleted does not undo the deploy made on push."""
    cdk = '{"app": "python app.py"}\n'
    repo = _repo(make_repo, {".github/workflows/pipeline.yaml": FEATURE_STACKS, "cdk.json": cdk})
    outs, why = outcomes("repo.pipeline-deploy", repo)
    assert outs == [Outcome.PASS] and "cdk deploy" in why, why  # before: "stands up a test environment"
    same_run = FEATURE_STACKS.replace("    if: github.event_name == 'delete'\n", "    needs: deploy\n")
    repo.write(".github/workflows/pipeline.yaml", same_run).commit("tear down in the same run")
    outs, why = outcomes("repo.pipeline-deploy", repo)
    assert outs == [Outcome.FAIL] and "test environment" in why, why
