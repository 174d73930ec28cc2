"""repo.secrets and repo.iac-state on real repositories: HEAD, history, placeholders, masking.

Every key and password in this file is fake, for tests only.
"""

from __future__ import annotations

import json

from harness.checks.repo.secrets import scan_text
from harness.model import Outcome
from tests.conftest import run_check

AWS_ID = "AKIA" + "Q3EGRTZL7XW2PN4M"  # split so that scanners of this repository do not flag the test
GH_TOKEN = "ghp_" + "r8Tq2LmZ0xW4vYk9PaB7nC3dE5fG1hJ6sU8o"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7q9Zx3Lw0Jt4Yp2Vn8Kc\n-----END RSA PRIVATE KEY-----\n"


def outcomes(findings) -> list[Outcome]:
    return [f.outcome for f in findings]


def all_text(findings) -> str:
    return json.dumps([f.to_dict() for f in findings])


def test_secret_at_head_fails_with_masked_value(make_repo):
    repo = make_repo()
    repo.write("app/settings.py", f'AWS_KEY = "{AWS_ID}"\nDEBUG = False\n').commit("settings")
    findings = run_check("repo.secrets", repo.path)
    fails = [f for f in findings if f.outcome is Outcome.FAIL]
    assert len(fails) == 1
    ev = fails[0].evidence[0]
    assert ev.path == "app/settings.py" and ev.start_line == 1 and ev.commit
    assert "AKIA***" in ev.excerpt
    assert AWS_ID not in all_text(findings)
    assert fails[0].remediation


def test_secret_only_in_history_warns_with_adding_and_removing_commits(make_repo):
    repo = make_repo()
    repo.write("README.md", "app\n").commit("init")
    added = repo.write("deploy/key.pem", PEM).commit("add deploy key")
    repo.write("ci.sh", f"export GITHUB_TOKEN={GH_TOKEN}\n").commit("ci script")
    removed = repo.remove("deploy/key.pem").commit("remove key")
    repo.write("ci.sh", "export GITHUB_TOKEN=$GITHUB_TOKEN\n").commit("read token from env")
    findings = run_check("repo.secrets", repo.path)
    assert Outcome.FAIL not in outcomes(findings)
    warns = [f for f in findings if f.outcome is Outcome.WARN]
    assert len(warns) == 2
    pem = next(f for f in warns if f.subject == "deploy/key.pem")
    assert [e.commit for e in pem.evidence] == [added, removed]
    assert "removed" in pem.evidence[1].summary
    assert GH_TOKEN not in all_text(findings) and "MIIEpAIBAAKC" not in all_text(findings)


def test_clean_repository_passes(make_repo):
    repo = make_repo()
    repo.write(
        "app/config.py",
        "import os\n\npassword = os.environ['DB_PASSWORD']\ntoken = get_token()\nsecret_name = 'db-secret'\n"
        "api_key = settings.API_KEY\n",
    )
    repo.write(".env.example", "DB_PASSWORD=changeme\nAPI_KEY=<your-api-key>\nSECRET_KEY=${SECRET_KEY}\n")
    repo.write("infra/prod.tfvars", 'db_password = "xxx"\nregion = "eu-west-2"\n')
    repo.write("docs/aws.md", "Use AKIAIOSFODNN7EXAMPLE as in the AWS docs.\n")
    repo.write("package-lock.json", '{"integrity": "sha512-Zm9vYmFyYmF6cXV4eHl6enk3MTIzNDU2Nzg5MGFiY2RlZmdo"}\n')
    repo.commit("clean")
    findings = run_check("repo.secrets", repo.path)
    assert outcomes(findings) == [Outcome.PASS], [f.reason for f in findings]


def test_credentials_files_are_flagged(make_repo):
    repo = make_repo()
    repo.write(".env", "DEBUG=true\nDB_PASSWORD=hunter22\n")
    repo.write("infra/prod.tfvars", 'region = "eu-west-2"\nclient_secret = "s3cr3tv4lue"\n')
    repo.write(".npmrc", "//registry.npmjs.org/:_authToken=npm_a1b2c3d4e5f6\n")
    repo.write("kubeconfig", "users:\n- name: admin\n  user:\n    token: eyJhbGciOiJSUzI1NiIsImtpZCI6\n")
    repo.commit("oops")
    findings = run_check("repo.secrets", repo.path)
    failed = {(f.evidence[0].path, f.evidence[0].start_line) for f in findings if f.outcome is Outcome.FAIL}
    assert failed == {(".env", 2), ("infra/prod.tfvars", 2), (".npmrc", 1), ("kubeconfig", 4)}
    assert "hunter22" not in all_text(findings)


def test_marked_fixture_and_allow_marker_are_skipped():
    fixture = "# fake key for tests only\n" + PEM
    assert scan_text("tests/fixtures/fake_key.pem", fixture) == []
    assert scan_text("deploy/key.pem", fixture)  # not a test folder: flagged
    assert scan_text("app.py", f'KEY = "{AWS_ID}"  # pragma: allowlist secret\n') == []


def test_generic_assignments_need_a_real_looking_literal():
    assert scan_text("app.py", 'password = "Tr0ub4dor&3xK"\n')[0].rule == "secret-assignment"
    assert scan_text("app.py", 'password = "password"\n') == []
    assert scan_text("app.py", "password = user.password\n") == []
    assert scan_text("app.py", 'password_reset_url = "https://x.example/reset/abc123XYZ"\n') == []
    assert scan_text("compose.yaml", "DATABASE_URL: postgres://app:Xk9v2LpQ7wZ@db/app\n")[0].rule == "url-password"
    assert scan_text("compose.yaml", "DATABASE_URL: postgres://app:postgres@db/app\n") == []


def test_secrets_not_git_or_empty_could_not_check(make_repo, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / ".env").write_text(f"AWS={AWS_ID}\n")
    for check_id in ("repo.secrets", "repo.iac-state"):
        for path in (plain, make_repo("empty").path if check_id == "repo.secrets" else tmp_path / "empty"):
            [f] = run_check(check_id, path)
            assert f.outcome is Outcome.COULD_NOT_CHECK, (check_id, f.reason)


# -- repo.iac-state --------------------------------------------------------------

TFSTATE = json.dumps({"version": 4, "resources": [{"instances": [{"attributes": {"password": "Zq8!vL2m"}}]}]})


def test_iac_without_state_passes(make_repo):
    repo = make_repo()
    repo.write("infra/main.tf", 'resource "aws_s3_bucket" "b" {}\n').write(".terraform.lock.hcl", "# lock\n")
    repo.write("infra/Pulumi.yaml", "name: app\nruntime: python\n")
    repo.write("infra/Pulumi.prod.yaml", "config:\n  aws:region: eu-west-2\n  app:dbPassword:\n    secure: AAABAKx9\n")
    repo.commit("iac")
    [f] = run_check("repo.iac-state", repo.path)
    assert f.outcome is Outcome.PASS, f.reason


def test_no_iac_is_not_applicable(make_repo):
    repo = make_repo()
    repo.write("app.py", "print(1)\n").commit("app")
    [f] = run_check("repo.iac-state", repo.path)
    assert f.outcome is Outcome.NOT_APPLICABLE


def test_state_and_plaintext_stack_secret_at_head_fail(make_repo):
    repo = make_repo()
    repo.write("infra/main.tf", "# tf\n").write("infra/terraform.tfstate", TFSTATE)
    repo.write("infra/.terraform/providers/x", "bin")
    repo.write("infra/Pulumi.dev.yaml", "config:\n  aws:region: eu-west-2\n  app:dbPassword: Sup3rS3cret\n")
    repo.commit("everything")
    findings = run_check("repo.iac-state", repo.path)
    fails = {f.subject: f for f in findings if f.outcome is Outcome.FAIL}
    assert set(fails) == {"infra/terraform.tfstate", "infra/.terraform/providers/x", "infra/Pulumi.dev.yaml"}
    stack = fails["infra/Pulumi.dev.yaml"].evidence[0]
    assert stack.start_line == 3 and "Sup3***" in stack.excerpt
    assert "Sup3rS3cret" not in all_text(findings)


def test_state_only_in_history_warns_with_removing_commit(make_repo):
    repo = make_repo()
    repo.write("infra/main.tf", "# tf\n").commit("tf")
    added = repo.write("infra/terraform.tfstate", TFSTATE).commit("apply")
    removed = repo.remove("infra/terraform.tfstate").commit("untrack state")
    findings = run_check("repo.iac-state", repo.path)
    assert outcomes(findings) == [Outcome.WARN]
    assert [e.commit for e in findings[0].evidence] == [added, removed]


def test_malformed_stack_file_could_not_check(make_repo):
    repo = make_repo()
    repo.write("Pulumi.yaml", "name: x\n").write("Pulumi.dev.yaml", "config: [unclosed\n").commit("bad")
    findings = run_check("repo.iac-state", repo.path)
    assert outcomes(findings) == [Outcome.COULD_NOT_CHECK]
    assert "Pulumi.dev.yaml" in findings[0].reason


def test_test_code_passwords_ignored_but_real_token_formats_flagged():
    assert scan_text("tests/test_db.py", 'dsn = "postgresql://u:s3cr3t-pass@db/x"\npassword = "Tr0ub4dor&3xK"\n') == []
    assert scan_text("tests/test_ci.py", f'TOKEN = "{GH_TOKEN}"\n')[0].rule == "github-token"
    assert scan_text("run.sh", "postgres -c password_encryption=scram-sha-256\n") == []


def test_state_in_test_fixtures_is_not_committed_state(make_repo):
    repo = make_repo()
    repo.write("infra/main.tf", "# tf\n").write("tests/fixtures/.pulumi/stacks/app/dev.json", "{}\n").commit("fx")
    [f] = run_check("repo.iac-state", repo.path)
    assert f.outcome is Outcome.PASS


def test_secret_marked_allowed_later_is_not_a_history_warning(make_repo):
    repo = make_repo()
    repo.write("app.py", f'KEY = "{AWS_ID}"\n').commit("key")
    repo.write("app.py", f'KEY = "{AWS_ID}"  # pragma: allowlist secret\n').commit("allow")
    assert outcomes(run_check("repo.secrets", repo.path)) == [Outcome.PASS]


def test_malformed_pulumi_project_file_is_no_evidence(make_repo):
    repo = make_repo()
    repo.write("infra/Pulumi.yaml", "name: [app\n").write("infra/__main__.py", "import pulumi\n").commit("iac")
    findings = run_check("repo.iac-state", repo.path)
    assert all(f.outcome is not Outcome.PASS for f in findings)
    assert any(f.outcome is Outcome.COULD_NOT_CHECK and "infra/Pulumi.yaml" in f.reason for f in findings)


def test_psql_variable_interpolation_is_not_a_secret():
    assert scan_text("init.sh", "ALTER ROLE postgres PASSWORD :'su_password';\n") == []
    assert scan_text("config.yml", 'password: "Zq9xKp2hunterWv7"\n')  # YAML with a real-looking value still fails
