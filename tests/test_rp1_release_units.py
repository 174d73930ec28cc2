"""Issue 9, RP-1: CDK Lambda constructs are release units; servers cloning a branch head at boot are not."""

from __future__ import annotations

from harness.grading import MET, NOT_MET
from harness.model import Outcome
from tests.conftest import run_check
from tests.test_repo_immutable_releases import _repo, _rp1

CDK_TS = """import { Stack } from 'aws-cdk-lib'
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs'

export class Api extends Stack {
  constructor(scope: any, id: string) {
    super(scope, id)
    new NodejsFunction(this, 'Get', { entry: 'src/get.ts' })
  }
}
"""
CDK_PY = """from aws_cdk import Stack
from aws_cdk import aws_lambda as _lambda


class Api(Stack):
    def __init__(self, scope, id):
        super().__init__(scope, id)
        _lambda.Function(self, "Handler", code=_lambda.Code.from_asset("runtime"), handler="app.handler")
"""
CDK_JSON = '{"app": "npx ts-node stacks/index.ts"}\n'
MAIN_TF = """resource "aws_instance" "web" {
  ami       = "ami-0abcdef1234567890"
  user_data = "${file("deploy.sh")}"
}
"""
BOOT = (
    "#!/bin/bash\nsudo apt -y install git python3-pip\ngit clone https://github.com/me/app.git\n"
    "cd app && pip install -r requirements.txt\n"
)


def test_cdk_nodejs_function_is_a_new_release_unit(make_repo):
    repo = _repo(make_repo, {"cdk.json": CDK_JSON, "stacks/api.ts": CDK_TS})
    result, findings = _rp1(repo)
    [f] = findings["repo.immutable-releases"]
    assert f.outcome is Outcome.PASS and "stacks/api.ts:7" in f.reason
    assert result.status == MET, result.reason


def test_cdk_python_lambda_function_is_a_new_release_unit(make_repo):
    repo = _repo(make_repo, {"cdk.json": '{"app": "python3 app.py"}\n', "infrastructure/stack.py": CDK_PY})
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is Outcome.PASS and "infrastructure/stack.py:8" in f.reason


def test_cdk_stack_without_functions_stays_undecided(make_repo):
    bucket = "import { Stack } from 'aws-cdk-lib'\nimport { Bucket } from 'aws-cdk-lib/aws-s3'\nnew Bucket(this, 'B')\n"
    repo = _repo(make_repo, {"cdk.json": CDK_JSON, "stacks/site.ts": bucket})
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is Outcome.WARN


def test_instances_cloning_a_branch_head_at_boot_fail_rp1(make_repo):
    repo = _repo(make_repo, {"infra/main.tf": MAIN_TF, "infra/deploy.sh": BOOT})
    result, findings = _rp1(repo)
    [f] = findings["repo.immutable-releases"]
    assert f.outcome is Outcome.FAIL and "infra/deploy.sh:3" in f.reason and "user_data" in f.reason
    assert result.status == NOT_MET, result.reason


def test_instances_cloning_a_release_tag_at_boot_are_not_flagged(make_repo):
    pinned = BOOT.replace("git clone", "git clone --branch v1.4.2")
    repo = _repo(make_repo, {"infra/main.tf": MAIN_TF, "infra/deploy.sh": pinned})
    [f] = run_check("repo.immutable-releases", repo.path)
    assert f.outcome is not Outcome.FAIL, f.reason
