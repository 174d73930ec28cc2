"""repo.code-and-iac and repo.unit-tests against real git repositories."""

from harness.model import Outcome
from tests.conftest import run_check

CFN = """AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub '${AWS::StackName}-data'
Outputs:
  Name:
    Value: !Ref Bucket
"""


def outcomes(findings):
    return {f.outcome for f in findings}


def test_python_and_pulumi_pass(make_repo):
    repo = make_repo()
    repo.write("app/main.py", "print('hi')\n")
    repo.write("infra/Pulumi.yaml", "name: web\nruntime: python\n")
    repo.write("infra/__main__.py", "import pulumi\nimport pulumi_docker as docker\n")
    repo.commit("init")
    [f] = run_check("repo.code-and-iac", repo.path)
    assert f.outcome is Outcome.PASS
    kinds = {e.data.get("iac_kind") for e in f.evidence}
    assert "pulumi" in kinds
    assert any(e.path == "infra/__main__.py" for e in f.evidence)


def test_cloudformation_with_short_tags_is_recognised(make_repo):
    repo = make_repo()
    repo.write("src/handler.ts", "export const x = 1;\n").write("template.yaml", CFN).commit("init")
    [f] = run_check("repo.code-and-iac", repo.path)
    assert f.outcome is Outcome.PASS
    assert any(e.path == "template.yaml" and e.data.get("iac_kind") == "cloudformation" for e in f.evidence)


def test_terraform_bicep_arm_k8s_helm_ansible_cdk(make_repo):
    repo = make_repo()
    repo.write("main.go", "package main\n")
    repo.write("tf/main.tf", 'resource "aws_s3_bucket" "b" {}\n')
    repo.write("az/main.bicep", "param location string\n")
    repo.write(
        "az/arm.json", '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"}'
    )
    repo.write("k8s/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n")
    repo.write("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n")
    repo.write("chart/templates/d.yaml", "apiVersion: apps/v1\nkind: {{ .Values.kind }}\n")
    repo.write("ansible/site.yml", "- hosts: web\n  tasks:\n    - name: ping\n      ping: {}\n")
    repo.write("cdk/app.py", "import aws_cdk as cdk\nfrom aws_cdk import aws_s3\n")
    repo.commit("init")
    [f] = run_check("repo.code-and-iac", repo.path)
    assert f.outcome is Outcome.PASS
    kinds = {e.data.get("iac_kind") for e in f.evidence}
    assert {"terraform", "bicep", "arm", "kubernetes", "helm", "ansible", "cdk"} <= kinds


def test_compose_alone_is_not_hosted_iac(make_repo):
    repo = make_repo()
    repo.write("app.py", "print(1)\n").write("docker-compose.yml", "services:\n  web:\n    build: .\n").commit("init")
    [f] = run_check("repo.code-and-iac", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "local automation" in f.reason


def test_iac_without_code_fails(make_repo):
    repo = make_repo()
    repo.write("main.tf", 'resource "null_resource" "x" {}\n').commit("init")
    [f] = run_check("repo.code-and-iac", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "no general purpose code" in f.reason


def test_malformed_candidate_is_not_a_pass(make_repo):
    repo = make_repo()
    repo.write("app.py", "x = 1\n").write("k8s/bad.yaml", "apiVersion: v1\nkind: [Service\n").commit("init")
    [f] = run_check("repo.code-and-iac", repo.path)
    assert f.outcome is Outcome.COULD_NOT_CHECK
    assert "k8s/bad.yaml" in f.reason


def test_uncommitted_iac_does_not_count(make_repo):
    repo = make_repo()
    repo.write("app.py", "x = 1\n").commit("init")
    (repo.path / "main.tf").write_text('resource "x" "y" {}\n')
    [f] = run_check("repo.code-and-iac", repo.path)
    assert f.outcome is Outcome.FAIL


# -- unit tests ---------------------------------------------------------------

UNIT_WITH_MOCK = """from unittest.mock import MagicMock

from app import service


def test_saves():
    store = MagicMock()
    service.save(store, 1)
    store.put.assert_called_once()
"""

PULUMI_MOCKS = """import pulumi


class MyMocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return [args.name + "_id", args.inputs]


pulumi.runtime.set_mocks(MyMocks())


def test_bucket():
    assert True
"""


def test_unit_tests_with_mock_pass(make_repo):
    repo = make_repo()
    repo.write("app/service.py", "def save(s, x):\n    s.put(x)\n")
    repo.write("tests/unit/test_service.py", UNIT_WITH_MOCK)
    repo.write("tests/unit/test_infra.py", PULUMI_MOCKS)
    repo.write("tests/e2e/test_site.py", "from playwright.sync_api import Page\n\ndef test_home(page):\n    pass\n")
    repo.commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    assert f.outcome is Outcome.PASS
    assert "unittest.mock" in f.reason and "Pulumi mocks" in f.reason
    pyramid = f.evidence[0].data["pyramid"]
    assert pyramid["unit"]["files"] == 2 and pyramid["e2e"]["files"] == 1
    mock_ev = [e for e in f.evidence if e.summary == "test double: unittest.mock"]
    assert mock_ev and mock_ev[0].path == "tests/unit/test_service.py" and mock_ev[0].start_line == 1


def test_e2e_tool_named_only_in_a_string_is_not_e2e(make_repo):
    repo = make_repo()
    repo.write(
        "tests/test_scanner.py",
        'FIXTURE = "from playwright.sync_api import Page"\n\ndef test_scan(monkeypatch):\n    assert FIXTURE\n',
    )
    repo.write("web/home.spec.ts", "import { test } from '@playwright/test';\ntest('home', async () => {});\n")
    repo.commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    levels = {t["path"]: (t["level"], t["why"]) for t in f.evidence[0].data["tests"]}
    assert levels["tests/test_scanner.py"][0] == "unit"
    assert levels["web/home.spec.ts"] == ("e2e", "uses import { test } from '@playwright/test'")


def test_hand_written_fake_counts(make_repo):
    repo = make_repo()
    repo.write("app.py", "def f(repo):\n    return repo.get()\n")
    repo.write("tests/fakes.py", "class InMemoryRepo:\n    def get(self):\n        return 1\n")
    repo.write("tests/test_app.py", "from tests.fakes import InMemoryRepo\n\ndef test_f():\n    InMemoryRepo()\n")
    repo.commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    assert f.outcome is Outcome.PASS
    assert any("InMemoryRepo" in e.summary and e.path == "tests/fakes.py" for e in f.evidence)


def test_a_stand_in_class_from_a_fixture_and_a_local_emulator_count(make_repo):
    fixture = (
        "import pytest\n\n\n@pytest.fixture\ndef lambda_context():\n    class LambdaContext:\n"
        "        function_name = 'test'\n\n    return LambdaContext()\n"
    )
    repo = make_repo()
    repo.write("tests/conftest.py", fixture)
    repo.write("tests/test_handler.py", "def test_handler(lambda_context):\n    assert lambda_context\n").commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    assert f.outcome is Outcome.PASS, f.reason
    assert any("LambdaContext" in e.summary and e.path == "tests/conftest.py" for e in f.evidence)
    emulator = make_repo("emulator")
    emulator.write(
        "tests/unit/test_store.py",
        "import boto3\n\ndef test_put():\n    boto3.resource('dynamodb', endpoint_url='http://localhost:8000')\n",
    ).commit("init")
    [f] = run_check("repo.unit-tests", emulator.path)
    assert f.outcome is Outcome.PASS and "local emulator" in f.reason, f.reason
    # A class at module level of a test file, or one in a plain function, is no fixture's stand-in.
    plain = make_repo("plain")
    plain.write(
        "tests/test_math.py",
        "def helper():\n    class Thing:\n        pass\n    return 1\n\ndef test_add():\n    assert helper() == 1\n",
    ).commit("init")
    [f] = run_check("repo.unit-tests", plain.path)
    assert f.outcome is Outcome.FAIL, f.reason


def test_jest_mock_counts(make_repo):
    repo = make_repo()
    repo.write("src/api.test.ts", "jest.mock('./db');\ntest('x', () => {});\n").commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    assert f.outcome is Outcome.PASS


def test_tests_without_doubles_fail(make_repo):
    repo = make_repo()
    repo.write("tests/test_math.py", "def test_add():\n    assert 1 + 1 == 2\n").commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "no test double" in f.reason


def test_no_tests_fail(make_repo):
    repo = make_repo()
    repo.write("app.py", "from unittest.mock import MagicMock\n").commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "no test files" in f.reason


def test_inverted_pyramid_warns(make_repo):
    repo = make_repo()
    repo.write("tests/unit/test_a.py", "from unittest import mock\n\ndef test_a():\n    pass\n")
    for i in range(3):
        repo.write(f"tests/e2e/test_e{i}.py", "def test_e():\n    pass\n")
    repo.commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    assert f.outcome is Outcome.WARN
    assert "inverted" in f.reason


def test_integration_classified_by_content(make_repo):
    repo = make_repo()
    repo.write(
        "tests/test_api.py",
        "import requests\n\ndef test_up():\n    requests.get('http://localhost:8000/healthz')\n",
    )
    repo.commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    assert f.outcome is Outcome.FAIL
    assert f.evidence[0].data["pyramid"]["integration"]["files"] == 1


def test_aws_sdk_client_mock_counts(make_repo):
    repo = make_repo()
    repo.write(
        "test/handler.test.ts",
        "import { mockClient } from 'aws-sdk-client-mock';\nconst ddb = mockClient(DynamoDBDocumentClient);\n"
        "test('get', () => {});\n",
    ).commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    assert f.outcome is Outcome.PASS, f.reason


def test_hand_written_stub_class_used_by_tests_counts(make_repo):
    repo = make_repo()
    repo.write(
        "tests/conftest.py",
        "class LambdaContextStub:\n    function_name = 'f'\n",
    ).write(
        "tests/test_handler.py",
        "from conftest import LambdaContextStub\n\ndef test_handler():\n    assert LambdaContextStub().function_name\n",
    ).commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    assert f.outcome is Outcome.PASS, f.reason


def test_a_class_merely_named_like_a_double_is_not_used(make_repo):
    repo = make_repo()
    repo.write("tests/helpers.py", "class MockingBird:\n    pass\n").write(
        "tests/test_math.py", "def test_add():\n    assert 1 + 1 == 2\n"
    ).commit("init")
    [f] = run_check("repo.unit-tests", repo.path)
    assert f.outcome is Outcome.FAIL
