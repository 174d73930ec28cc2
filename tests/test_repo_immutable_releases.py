"""RP-1 is about immutability (issue 9): repo.immutable-releases, and root / `latest` as warnings, on real repos."""

from __future__ import annotations

from harness.catalogue import load as load_catalogue
from harness.grading import MET, NOT_MET, judge_criterion
from harness.model import Outcome
from tests.conftest import run_check

RP1_REPO_CHECKS = ("repo.containers", "repo.immutable-images", "repo.immutable-releases")

SSH_ACTION = """name: deploy
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: appleboy/ssh-action@v1.0.3
        with:
          host: ${{ secrets.HOST }}
          script: |
            cd /srv/app
            git pull origin main
            sudo systemctl restart app
"""

PUSH_SHA_AND_LATEST = """name: release
on: push
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: docker build -t ghcr.io/me/app:${{ github.sha }} -t ghcr.io/me/app:latest .
      - run: docker push ghcr.io/me/app:${{ github.sha }}
      - run: docker push ghcr.io/me/app:latest
      - run: kubectl set image deployment/app app=ghcr.io/me/app:${{ github.sha }}
"""

SERVERLESS = """service: notes
provider:
  name: aws
  runtime: python3.12
functions:
  create:
    handler: handler.create
    events:
      - httpApi: POST /notes
"""


def _repo(make_repo, files: dict[str, str]):
    repo = make_repo()
    repo.write("app.py", "print('app')\n")
    for path, text in files.items():
        repo.write(path, text)
    repo.commit("project")
    return repo


def _rp1(repo):
    findings = {cid: run_check(cid, repo.path) for cid in RP1_REPO_CHECKS}
    crit = next(c for c in load_catalogue().criteria if c.id == "RP-1")
    return judge_criterion(crit, findings, set(RP1_REPO_CHECKS)), findings


def test_rp1_maps_the_new_check():
    crit = next(c for c in load_catalogue().criteria if c.id == "RP-1")
    assert "repo.immutable-releases" in crit.checks


def test_ssh_then_git_pull_fails_rp1(make_repo):
    repo = _repo(make_repo, {".github/workflows/deploy.yml": SSH_ACTION})
    result, findings = _rp1(repo)
    [f] = findings["repo.immutable-releases"]
    assert f.outcome is Outcome.FAIL and ".github/workflows/deploy.yml:12" in f.reason and f.remediation
    assert f.evidence[0].start_line == 12
    assert result.status == NOT_MET


def test_inline_ssh_git_pull_and_rsync_of_code_fail(make_repo):
    make = "deploy:\n\tssh deploy@web1 'cd app && git pull && pm2 restart app'\n"
    sync = "#!/bin/sh\nrsync -az ./src/ deploy@web1:/srv/app/\nssh deploy@web1 systemctl restart app\n"
    repo = _repo(make_repo, {"Makefile": make, "scripts/deploy.sh": sync})
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is Outcome.FAIL and "Makefile:2" in f.reason and "scripts/deploy.sh:2" in f.reason


def test_copying_a_compose_file_then_pulling_images_is_not_in_place(make_repo):
    script = (
        "#!/bin/sh\nscp compose.yaml deploy@web1:/srv/\nssh deploy@web1 'docker compose pull && docker compose up -d'\n"
    )
    compose = "services:\n  app:\n    image: ghcr.io/me/app:1.4.2\n"
    repo = _repo(make_repo, {"scripts/deploy.sh": script, "compose.yaml": compose})
    result, findings = _rp1(repo)
    assert [f.outcome for f in findings["repo.immutable-releases"]] == [Outcome.NOT_APPLICABLE]
    assert result.status == MET


def test_ansible_changing_live_servers_fails_unless_it_bakes_an_image(make_repo):
    playbook = "- hosts: web\n  tasks:\n    - name: code\n      git:\n        repo: https://x/app.git\n"
    repo = _repo(make_repo, {"deploy/site.yml": playbook})
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is Outcome.FAIL and "deploy/site.yml:4" in f.reason

    packer = 'source "amazon-ebs" "web" {\n  ami_name = "web-${var.sha}"\n}\n'
    packer += 'build {\n  sources = ["source.amazon-ebs.web"]\n}\n'
    other = make_repo("baked")
    other.write("deploy/site.yml", playbook).write("image.pkr.hcl", packer)
    other.write("Makefile", "ami:\n\tpacker build image.pkr.hcl\n").commit("image")
    [g] = run_check("repo.immutable-releases", other.path)
    assert g.outcome is Outcome.PASS and "packer build" in g.reason


def test_serverless_project_meets_rp1(make_repo):
    repo = _repo(make_repo, {"serverless.yml": SERVERLESS, "handler.py": "def create(e, c):\n    return {}\n"})
    result, findings = _rp1(repo)
    [f] = findings["repo.immutable-releases"]
    assert f.outcome is Outcome.PASS and "serverless.yml:5" in f.reason
    assert result.status == MET, result.reason


def test_sam_template_is_an_immutable_release(make_repo):
    sam = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
    repo = _repo(make_repo, {"template.yaml": sam + "    Properties:\n      AutoPublishAlias: live\n"})
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is Outcome.PASS


def test_root_container_with_extra_latest_tag_is_a_warning_not_an_rp1_failure(make_repo):
    files = {
        "Dockerfile": "FROM python:3.12.4-slim\nCOPY app.py /app.py\nCMD python /app.py\n",
        ".github/workflows/release.yml": PUSH_SHA_AND_LATEST,
    }
    repo = _repo(make_repo, files)
    result, findings = _rp1(repo)
    [c] = findings["repo.containers"]
    assert c.outcome is Outcome.WARN and "root" in c.reason
    images = findings["repo.immutable-images"]
    assert {f.outcome for f in images} == {Outcome.WARN, Outcome.PASS}
    assert any("beside immutable tags" in f.reason for f in images)
    assert result.status == MET, result.reason


def test_nothing_released_at_all_is_not_met(make_repo):
    repo = _repo(make_repo, {})
    result, findings = _rp1(repo)
    [f] = findings["repo.immutable-releases"]
    assert f.outcome is Outcome.FAIL and "nothing in the repository" in f.reason
    assert result.status == NOT_MET


def test_ansible_role_tasks_outside_a_roles_folder_are_read(make_repo):
    playbook = "- hosts: web\n  roles:\n    - gitpull\n"
    tasks = "- name: pull\n  git:\n    repo: '{{ git_link }}'\n    dest: /srv/app\n"
    repo = _repo(make_repo, {"deploy.yml": playbook, "deploy/app/gitpull/tasks/main.yml": tasks})
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is Outcome.FAIL and "deploy/app/gitpull/tasks/main.yml:2" in f.reason


def test_commented_out_dockerfile_is_a_warning(make_repo):
    repo = _repo(make_repo, {"Dockerfile": "# FROM node:16\n# CMD npm start\n"})
    [f] = run_check("repo.containers", repo.path)
    assert f.outcome is Outcome.WARN and "no FROM" in f.reason and f.remediation


def test_puppet_and_salt_against_live_servers_fail(make_repo):
    workflow = "on: push\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: salt 'web*' state.apply\n"
    repo = _repo(make_repo, {".github/workflows/converge.yml": workflow})
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is Outcome.FAIL and ".github/workflows/converge.yml:6" in f.reason
