"""repo.persistence, repo.local-automation, repo.extra-automation, repo.https-config, repo.threat-model."""

from harness.model import Outcome
from tests.conftest import run_check

COMPOSE_DB = """services:
  app:
    build: .
  db:
    image: postgres:16.3
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata: {}
"""


def by_subject(findings):
    return {f.subject: f for f in findings}


# -- persistence ---------------------------------------------------------------


def test_postgres_on_named_volume_with_backup_and_state(make_repo):
    repo = make_repo()
    repo.write("compose.yaml", COMPOSE_DB)
    repo.write("scripts/backup.sh", "#!/bin/sh\npg_dump -Fc app > backup.dump\n")
    repo.write("infra/Pulumi.yaml", "name: app\nruntime: python\nbackend:\n  url: s3://acme-state\n")
    repo.write("infra/__main__.py", "import pulumi\n")
    repo.commit("init")
    found = by_subject(run_check("repo.persistence", repo.path))
    main = found[None]
    assert main.outcome is Outcome.PASS, main.reason
    assert any(e.path == "compose.yaml" and "named volume pgdata" in e.summary for e in main.evidence)
    assert found["backup"].outcome is Outcome.PASS
    assert found["backup"].evidence[0].path == "scripts/backup.sh" and found["backup"].evidence[0].start_line == 2
    assert found["state"].outcome is Outcome.PASS


def test_store_without_durable_storage_fails(make_repo):
    repo = make_repo()
    repo.write("compose.yaml", "services:\n  db:\n    image: postgres:16.3\n")
    repo.write("main.tf", 'terraform {\n  backend "local" {}\n}\nresource "null_resource" "x" {}\n')
    repo.commit("init")
    found = by_subject(run_check("repo.persistence", repo.path))
    assert found[None].outcome is Outcome.FAIL
    assert "outlives" in found[None].reason
    assert found["backup"].outcome is Outcome.WARN
    assert found["state"].outcome is Outcome.WARN


def test_in_memory_redis_is_not_a_store(make_repo):
    repo = make_repo()
    repo.write("compose.yaml", "services:\n  cache:\n    image: redis:7.2\n").write("app.py", "x = 1\n")
    repo.commit("init")
    found = by_subject(run_check("repo.persistence", repo.path))
    assert found[None].outcome is Outcome.FAIL
    assert "in-memory" in found[None].reason


def test_managed_database_in_terraform(make_repo):
    repo = make_repo()
    repo.write(
        "main.tf",
        'terraform {\n  backend "s3" {\n    bucket = "state"\n  }\n}\n'
        'resource "aws_db_instance" "db" {\n  backup_retention_period = 7\n}\n',
    )
    repo.commit("init")
    found = by_subject(run_check("repo.persistence", repo.path))
    assert found[None].outcome is Outcome.PASS
    assert found["backup"].outcome is Outcome.PASS
    assert found["state"].outcome is Outcome.PASS


# -- local automation -------------------------------------------------------------

MAKEFILE = "setup:\n\tpython -m venv .venv\n\nup: setup\n\tdocker compose up -d\n\ntest:\n\tpytest -q\n"


def test_makefile_setup_and_test_pass(make_repo):
    repo = make_repo()
    repo.write("Makefile", MAKEFILE).write("README.md", "Run `make setup` then `make test`.\n").commit("init")
    findings = run_check("repo.local-automation", repo.path)
    assert [f.outcome for f in findings] == [Outcome.PASS], [f.reason for f in findings]
    assert any(e.path == "Makefile" and e.start_line == 7 for e in findings[0].evidence)
    assert any(e.path == "README.md" for e in findings[0].evidence)


def test_au1_asks_for_the_hosted_infrastructure_as_code_too(make_repo):
    """AU-1 is set-up and deploy "(infrastructure and applications) from scratch": a local set-up and an
    automated deploy onto infrastructure made by hand (no code describes it) do not meet it."""
    from harness import catalogue
    from harness.grading import grade
    from tests.test_pipeline_model import UNGATED  # an automated deploy (flyctl) with no IaC behind it

    cat = catalogue.load()
    au1 = next(c for c in cat.criteria if c.id == "AU-1")

    def judged(repo):
        findings = [f for check in au1.checks for f in run_check(check, repo.path)]
        results, _ = grade(cat, findings, set(au1.checks))
        return next(r for r in results if r.criterion.id == "AU-1")

    by_hand = make_repo("by-hand")
    by_hand.write("Makefile", MAKEFILE).write("app.py", "print('hi')\n").write(".github/workflows/ship.yml", UNGATED)
    by_hand.commit("init")
    result = judged(by_hand)
    assert result.status == "not_met", result.reason
    assert [h["check_id"] for h in result.held_back_by] == ["repo.code-and-iac"], result.held_back_by
    coded = make_repo("coded")
    coded.write("Makefile", MAKEFILE).write("app.py", "print('hi')\n").write(".github/workflows/ship.yml", UNGATED)
    coded.write("infra/main.tf", 'resource "aws_instance" "app" {\n  ami = "ami-1"\n}\n').commit("init")
    result = judged(coded)
    assert result.status == "met", result.reason


def test_each_services_own_npm_scripts_are_no_set_up_of_the_project(make_repo):
    pkg = '{"scripts": {"start": "node index.js", "dev": "nodemon", "test": "jest"}}\n'
    scattered = make_repo("scattered")
    for service in ("client", "server", "worker"):
        scattered.write(f"{service}/package.json", pkg)
    scattered.commit("services")
    [f] = run_check("repo.local-automation", scattered.path)
    assert f.outcome is Outcome.FAIL, f.reason
    assert "client/package.json, server/package.json, worker/package.json" in f.reason
    tied = make_repo("tied")
    for service in ("client", "server"):
        tied.write(f"{service}/package.json", pkg)
    tied.write("docker-compose.yml", "services:\n  client:\n    build: client\n  server:\n    build: server\n")
    tied.commit("services")
    assert [f.outcome for f in run_check("repo.local-automation", tied.path)] == [Outcome.PASS]
    single = make_repo("single")
    single.write("app/package.json", pkg).commit("one package")
    assert [f.outcome for f in run_check("repo.local-automation", single.path)] == [Outcome.PASS]


def test_readme_claim_alone_is_not_evidence(make_repo):
    repo = make_repo()
    repo.write("README.md", "Run `make setup` and `./scripts/test.sh`.\n").commit("init")
    found = by_subject(run_check("repo.local-automation", repo.path))
    assert found[None].outcome is Outcome.FAIL
    assert found["README"].outcome is Outcome.WARN


def test_scripts_and_package_json(make_repo):
    repo = make_repo()
    repo.write("scripts/setup.sh", "#!/bin/sh\nnpm ci\n")
    repo.write("package.json", '{"scripts": {"test": "vitest run", "start": "node server.js"}}')
    repo.commit("init")
    [f] = run_check("repo.local-automation", repo.path)
    assert f.outcome is Outcome.PASS
    assert "npm run test" in f.reason


def test_default_npm_test_and_empty_script_do_not_count(make_repo):
    repo = make_repo()
    repo.write("package.json", '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}')
    repo.write("scripts/setup.sh", "#!/bin/sh\n# todo\n")
    repo.commit("init")
    [f] = run_check("repo.local-automation", repo.path)
    assert f.outcome is Outcome.FAIL


def test_malformed_package_json_is_reported(make_repo):
    repo = make_repo()
    repo.write("package.json", '{"scripts": {"test": ').write("Makefile", MAKEFILE).commit("init")
    found = by_subject(run_check("repo.local-automation", repo.path))
    assert found["package.json"].outcome is Outcome.WARN
    assert found[None].outcome is Outcome.PASS


RUN_SH = """#!/usr/bin/env bash
set -euo pipefail
log() { printf '== %s\\n' "$*" >&2; }
setup() {
  python3 -m venv .venv
  .venv/bin/pip install -e '.[dev]'
}
run_tests() {
  log tests
  .venv/bin/python -m pytest -q "$@"
}
case "${1:-}" in
  demo)
    shift
    setup
    exec docker compose up -d
    ;;
  test) shift; setup; run_tests "$@" ;;
  setup)
    setup
    ;;
  *)
    echo "usage: ./run.sh demo|test|setup" >&2
    exit 2
    ;;
esac
"""
RUN_README = """# App

```sh
./run.sh demo    # set everything up and make the stack run
./run.sh test    # run every test
```

The demo is how we make the grade; see `./run.sh setup` too.
"""


def test_case_dispatch_script_with_test_and_setup_subcommands_passes(make_repo):
    repo = make_repo()
    repo.write("run.sh", RUN_SH).write("README.md", RUN_README).commit("init")
    findings = run_check("repo.local-automation", repo.path)
    assert [f.outcome for f in findings] == [Outcome.PASS], [f.reason for f in findings]
    [f] = findings
    assert "./run.sh test" in f.reason and "./run.sh demo" in f.reason and "./run.sh setup" in f.reason
    where = {(e.path, e.start_line, e.summary) for e in f.evidence}
    assert ("run.sh", 18, "test: `./run.sh test`") in where
    assert {("README.md", n) for n in (4, 5, 8)} <= {(e.path, e.start_line) for e in f.evidence}


def test_readme_naming_a_missing_script_or_subcommand_is_flagged(make_repo):
    repo = make_repo()
    repo.write("README.md", "```sh\n./run.sh test\n```\n").commit("init")
    found = by_subject(run_check("repo.local-automation", repo.path))
    assert found[None].outcome is Outcome.FAIL
    assert found["README"].outcome is Outcome.WARN and "./run.sh test" in found["README"].reason

    other = make_repo("other")
    other.write("run.sh", RUN_SH).write("README.md", RUN_README + "\nThen `./run.sh deploy`.\n").commit("init")
    found = by_subject(run_check("repo.local-automation", other.path))
    assert found[None].outcome is Outcome.PASS
    readme = found["README"]
    assert readme.outcome is Outcome.WARN and "no sub-command 'deploy' in run.sh" in readme.reason
    assert [(e.path, e.start_line) for e in readme.evidence] == [("README.md", 10)]


def test_dispatch_test_arm_without_a_test_runner_does_not_count(make_repo):
    repo = make_repo()
    script = '#!/bin/sh\ncase "$1" in\n  setup) pip install -r requirements.txt ;;\n  test) echo "todo" ;;\nesac\n'
    repo.write("dev.sh", script).commit("init")
    [f] = run_check("repo.local-automation", repo.path)
    assert f.outcome is Outcome.FAIL and "no local test automation" in f.reason


# -- extra automation --------------------------------------------------------------

SCHEDULED = "name: nightly\non:\n  schedule:\n    - cron: '0 3 * * 1'\njobs:\n  x:\n    runs-on: ubuntu-24.04\n"


def test_schedule_and_dependabot_pass(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/nightly.yml", SCHEDULED)
    repo.write(".github/dependabot.yml", "version: 2\nupdates:\n  - package-ecosystem: pip\n    directory: /\n")
    repo.write("scripts/rotate.py", "import requests\nrequests.post('https://api.example.com/rotate')\n")
    repo.commit("init")
    [f] = run_check("repo.extra-automation", repo.path)
    assert f.outcome is Outcome.PASS
    paths = {e.path for e in f.evidence}
    assert {".github/workflows/nightly.yml", ".github/dependabot.yml", "scripts/rotate.py"} <= paths


def test_no_extra_automation_fails(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", "on: push\njobs: {}\n").write("app.py", "x = 1\n").commit("init")
    [f] = run_check("repo.extra-automation", repo.path)
    assert f.outcome is Outcome.FAIL


def test_malformed_dependabot_does_not_pass(make_repo):
    repo = make_repo()
    repo.write(".github/dependabot.yml", "version: 2\nupdates: [\n").commit("init")
    [f] = run_check("repo.extra-automation", repo.path)
    assert f.outcome is Outcome.COULD_NOT_CHECK


# -- https ---------------------------------------------------------------------

CADDY_GOOD = "{\n  email ops@example.org\n}\n\napp.example.org {\n  reverse_proxy app:8000\n}\n"
CADDY_BAD = "http://app.example.org {\n  reverse_proxy app:8000\n}\n"
NGINX = """server {
    listen 80;
    return 301 https://$host$request_uri;
}
server {
    listen 443 ssl;
    ssl_certificate /etc/ssl/cert.pem;
}
"""


def test_caddy_site_with_hostname_passes(make_repo):
    repo = make_repo()
    repo.write("Caddyfile", CADDY_GOOD).commit("init")
    findings = run_check("repo.https-config", repo.path)
    assert [f.outcome for f in findings] == [Outcome.PASS]
    assert findings[0].evidence[0].start_line == 5


def test_caddy_plain_http_and_auto_https_off_fail(make_repo):
    repo = make_repo()
    repo.write("proxy/Caddyfile", "{\n  auto_https off\n}\n" + CADDY_BAD).commit("init")
    [f] = run_check("repo.https-config", repo.path)
    assert f.outcome is Outcome.FAIL
    lines = {(e.path, e.start_line) for e in f.evidence}
    assert ("proxy/Caddyfile", 2) in lines and ("proxy/Caddyfile", 4) in lines


def test_nginx_redirect_passes_and_plain_listener_fails(make_repo):
    repo = make_repo()
    repo.write("nginx/default.conf", NGINX).commit("init")
    assert [f.outcome for f in run_check("repo.https-config", repo.path)] == [Outcome.PASS]
    bad = make_repo("bad")
    bad.write("nginx/default.conf", "server {\n    listen 80;\n    location / { proxy_pass http://app; }\n}\n")
    bad.commit("init")
    findings = run_check("repo.https-config", bad.path)
    assert findings[0].outcome is Outcome.FAIL
    assert findings[0].evidence[0].start_line == 1


def test_terraform_https_settings(make_repo):
    repo = make_repo()
    repo.write(
        "main.tf",
        'resource "azurerm_linux_web_app" "app" {\n  https_only = true\n}\n'
        'resource "aws_lb_listener" "http" {\n  port = 80\n  protocol = "HTTP"\n'
        '  default_action {\n    type = "forward"\n  }\n}\n',
    )
    repo.commit("init")
    findings = run_check("repo.https-config", repo.path)
    outcomes = {f.outcome for f in findings}
    assert outcomes == {Outcome.PASS, Outcome.FAIL}
    fail = next(f for f in findings if f.outcome is Outcome.FAIL)
    assert fail.evidence[0].start_line == 4


def test_ingress_without_tls_fails(make_repo):
    repo = make_repo()
    repo.write(
        "k8s/ingress.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\nspec:\n  rules: []\n",
    )
    repo.commit("init")
    [f] = run_check("repo.https-config", repo.path)
    assert f.outcome is Outcome.FAIL and "no TLS" in f.reason


def test_no_proxy_config_could_not_check(make_repo):
    repo = make_repo()
    repo.write("app.py", "x = 1\n").commit("init")
    [f] = run_check("repo.https-config", repo.path)
    assert f.outcome is Outcome.COULD_NOT_CHECK


# -- threat model ---------------------------------------------------------------


def test_threat_model_documented_is_manual(make_repo):
    repo = make_repo()
    repo.write(
        "docs/security.md",
        "# Threat model\n\nWe used STRIDE.\n\n## Encryption at rest\n\n"
        "We decided not to encrypt data at rest because it holds no personal data.\n",
    )
    repo.write("main.tf", 'resource "aws_db_instance" "db" {\n  storage_encrypted = true\n}\n')
    repo.commit("init")
    [f] = run_check("repo.threat-model", repo.path)
    assert f.outcome is Outcome.MANUAL
    summaries = {e.summary for e in f.evidence}
    assert {"threat model", "encryption-at-rest decision", "storage encryption in IaC"} <= summaries
    assert f.remediation


def test_nothing_documented_fails(make_repo):
    repo = make_repo()
    repo.write("README.md", "# App\n").commit("init")
    [f] = run_check("repo.threat-model", repo.path)
    assert f.outcome is Outcome.FAIL


RELEASE_CONFIG = "module.exports = { branches: ['main'], plugins: ['@semantic-release/commit-analyzer'] };\n"
CI_ONLY = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n"


def test_release_configuration_that_nothing_runs_is_not_automation(make_repo):
    """Issue 9, class 6: a semantic-release config that no pipeline invokes earns nothing (a warning says so)."""
    repo = make_repo()
    repo.write(".github/workflows/ci.yml", CI_ONLY).write("release.config.js", RELEASE_CONFIG)
    repo.write("package.json", '{"scripts": {"test": "jest", "release": "semantic-release"}}\n').commit("init")
    findings = run_check("repo.extra-automation", repo.path)
    outcomes = {f.outcome for f in findings}
    assert Outcome.PASS not in outcomes and Outcome.FAIL in outcomes, [f.reason for f in findings]
    [idle] = [f for f in findings if f.outcome is Outcome.WARN]
    assert idle.subject == "release.config.js" and "no pipeline or script runs it" in idle.reason


def test_release_configuration_a_pipeline_runs_is_automation(make_repo):
    repo = make_repo()
    release = CI_ONLY + "  release:\n    needs: test\n    runs-on: ubuntu-latest\n"
    release += "    steps:\n      - run: npm run release\n"
    repo.write(".github/workflows/ci.yml", release).write("release.config.js", RELEASE_CONFIG)
    repo.write("package.json", '{"scripts": {"test": "jest", "release": "semantic-release"}}\n').commit("init")
    [f] = run_check("repo.extra-automation", repo.path)
    assert f.outcome is Outcome.PASS and "semantic-release" in f.reason


def test_the_deploy_hook_script_is_the_deploy_not_extra_automation(make_repo):
    """Issue 9, class 6: the script a deploy step runs (a webhook call) is the deploy itself."""
    repo = make_repo()
    travis = (
        "jobs:\n  include:\n    - stage: test\n      script: pytest\n    - stage: deploy\n      script: skip\n"
        "      deploy:\n        provider: script\n        script: bash ./deploy_prod.sh\n"
    )
    hook = 'curl -dH -X POST "https://$APP:$PASSWORD@$APP.scm.azurewebsites.net/docker/hook"\n'
    repo.write(".travis.yml", travis).write("deploy_prod.sh", hook).write("app.py", "x = 1\n").commit("init")
    [f] = run_check("repo.extra-automation", repo.path)
    assert f.outcome is Outcome.FAIL, f.reason
    # The same script, run by nothing that deploys, is an API script.
    repo.write("refresh_cache.sh", hook).commit("a chore")
    [f] = run_check("repo.extra-automation", repo.path)
    assert f.outcome is Outcome.PASS and "refresh_cache.sh" in f.reason
