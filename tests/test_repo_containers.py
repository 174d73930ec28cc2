"""repo.containers and repo.immutable-images against real git repositories."""

from harness.model import Outcome
from tests.conftest import run_check

GOOD = """# syntax=docker/dockerfile:1
ARG PY=3.12.4
FROM python:${PY}-slim AS build
RUN pip install --no-cache-dir build \\
    && python -m build
FROM gcr.io/distroless/python3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
COPY --from=build /dist /app
USER 10001
HEALTHCHECK CMD ["/app/health"]
"""


def by_subject(findings):
    return {f.subject: f for f in findings}


def test_good_dockerfile_passes(make_repo):
    repo = make_repo()
    repo.write("Dockerfile", GOOD).commit("init")
    [f] = run_check("repo.containers", repo.path)
    assert f.outcome is Outcome.PASS, f.reason
    assert f.subject == "Dockerfile"


def test_latest_untagged_and_root_warn_with_lines_and_advice(make_repo):
    # Hygiene and security warnings, never an RP-1 failure: the image is an immutable unit either way.
    repo = make_repo()
    repo.write("services/api/Dockerfile.prod", "FROM node:latest AS deps\nFROM node\nRUN npm ci\nUSER root\n")
    repo.write("web.Dockerfile", "ARG BASE\nFROM $BASE\n")
    repo.write("Containerfile", "FROM alpine:3.20.1\nHEALTHCHECK CMD true\n")
    repo.commit("init")
    found = by_subject(run_check("repo.containers", repo.path))
    prod = found["services/api/Dockerfile.prod"]
    assert prod.outcome is Outcome.WARN and prod.remediation and "non-root" in prod.remediation
    lines = {e.start_line for e in prod.evidence}
    assert {1, 2, 4} <= lines
    assert "latest" in prod.reason and "no tag" in prod.reason and "root" in prod.reason
    web = found["web.Dockerfile"]
    assert web.outcome is Outcome.WARN and "no default" in web.reason
    cf = found["Containerfile"]
    assert cf.outcome is Outcome.WARN and "no USER" in cf.reason


def test_stage_inheritance_and_compose_healthcheck(make_repo):
    repo = make_repo()
    repo.write(
        "Dockerfile",
        "FROM python:3.12.4-slim AS base\nUSER app\nFROM base AS test\nRUN pytest\nFROM base\nCMD app\n",
    )
    repo.write(
        "compose.yaml",
        "services:\n  app:\n    build: .\n    healthcheck:\n      test: [CMD, curl, -f, http://localhost]\n",
    )
    repo.commit("init")
    [f] = run_check("repo.containers", repo.path)
    assert f.outcome is Outcome.PASS, f.reason
    assert any(e.path == "compose.yaml" for e in f.evidence)


def test_single_stage_with_build_tools_and_no_healthcheck_warns(make_repo):
    repo = make_repo()
    repo.write(
        "Dockerfile",
        "FROM python:3.12-slim\n"
        "RUN apt-get update \\\n && apt-get install -y --no-install-recommends gcc libpq-dev \\\n"
        " && pip install -r requirements.txt\n"
        "USER 1000\n",
    ).commit("init")
    [f] = run_check("repo.containers", repo.path)
    assert f.outcome is Outcome.WARN
    assert "single-stage" in f.reason and "gcc, libpq-dev" in f.reason and "HEALTHCHECK" in f.reason
    assert any(e.start_line == 2 and "single-stage" in e.summary for e in f.evidence)


def test_single_stage_build_steps_and_build_bases_warn(make_repo):
    cases = {
        "go.Dockerfile": "FROM golang:1.22.4\nCOPY . .\nRUN go build -o /app .\n",
        "node.Dockerfile": "FROM node:20.14-slim\nCOPY . .\nRUN npm ci && npm run build\n",
        "heredoc.Dockerfile": "FROM debian:12.5-slim\nRUN <<EOF\n./configure\nmake install\nEOF\n",
    }
    repo = make_repo()
    for path, text in cases.items():
        repo.write(path, text + "USER 1000\nHEALTHCHECK CMD true\n")
    repo.commit("init")
    found = by_subject(run_check("repo.containers", repo.path))
    for path in cases:
        assert found[path].outcome is Outcome.WARN and "single-stage" in found[path].reason, found[path].reason
    assert "npm ci" in found["node.Dockerfile"].reason and "npm run build" in found["node.Dockerfile"].reason
    assert "configure" in found["heredoc.Dockerfile"].reason


def test_single_stage_runtime_packages_only_passes(make_repo):
    repo = make_repo()
    repo.write(
        "platform/proxy.Dockerfile",
        "FROM debian:bookworm-20250520-slim\n"
        "RUN apt-get update \\\n && apt-get install -y --no-install-recommends caddy \\\n"
        " && rm -rf /var/lib/apt/lists/*\n"
        'COPY Caddyfile /etc/caddy/Caddyfile\nUSER caddy\nHEALTHCHECK CMD ["caddy", "version"]\n',
    )
    repo.write(
        "web.Dockerfile", "FROM node:20.14-alpine\nCOPY . .\nRUN npm ci --omit=dev\nUSER node\nHEALTHCHECK CMD true\n"
    )
    repo.commit("init")
    found = by_subject(run_check("repo.containers", repo.path))
    for f in found.values():
        assert f.outcome is Outcome.PASS, f.reason
    assert any("nothing to leave behind" in e.summary for e in found["platform/proxy.Dockerfile"].evidence)


def test_no_dockerfile_is_not_applicable(make_repo):
    # No Dockerfile is nothing to judge here; whether releases are immutable is repo.immutable-releases' verdict.
    repo = make_repo()
    repo.write("app.py", "x = 1\n").commit("init")
    [f] = run_check("repo.containers", repo.path)
    assert f.outcome is Outcome.NOT_APPLICABLE and "no Dockerfile" in f.reason

    other = make_repo("serverless")
    other.write("handler.py", "def h(e, c):\n    return 1\n")
    other.write("main.tf", 'resource "aws_lambda_function" "f" {\n  runtime = "python3.12"\n}\n').commit("init")
    [f] = run_check("repo.containers", other.path)
    assert f.outcome is Outcome.NOT_APPLICABLE


# -- immutable images -----------------------------------------------------------

WORKFLOW = """name: deploy
on: push
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - run: docker build -t ghcr.io/acme/app:${{ github.sha }} .
      - run: docker push ghcr.io/acme/app:${{ github.sha }}
      - uses: docker/build-push-action@v6
        with:
          tags: |
            ghcr.io/acme/app:${{ github.sha }}
"""

PULUMI = """import pulumi
import pulumi_docker as docker

image = docker.Image("app", image_name="registry.example/app:latest", build=docker.DockerBuildArgs(context=".."))
container = docker.Container("app", image=image.repo_digest)
"""

K8S_BAD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:latest
        - name: side
          image: busybox
"""


def test_digest_and_sha_tags_pass(make_repo):
    repo = make_repo()
    repo.write(".github/workflows/deploy.yml", WORKFLOW)
    repo.write("infra/Pulumi.yaml", "name: app\nruntime: python\n").write("infra/__main__.py", PULUMI)
    repo.write("Dockerfile", "FROM python:3.12.4\n")
    repo.commit("init")
    findings = run_check("repo.immutable-images", repo.path)
    assert [f.outcome for f in findings] == [Outcome.PASS], [f.reason for f in findings]
    paths = {e.path for e in findings[0].evidence}
    # The workflow's build tags are no release unit: nothing deploys ghcr.io/acme/app (issue 9); Pulumi's digest is.
    assert paths == {"infra/__main__.py"}


def test_latest_and_untagged_in_manifests_warn(make_repo):
    repo = make_repo()
    repo.write("k8s/web.yaml", K8S_BAD)
    repo.write("docker-compose.prod.yml", "services:\n  db:\n    image: postgres:16\n")
    repo.write("docker-compose.dev.yml", "services:\n  db:\n    image: postgres\n")
    repo.commit("init")
    findings = run_check("repo.immutable-images", repo.path)
    assert not [f for f in findings if f.outcome is Outcome.FAIL]
    bad = [f for f in findings if f.outcome is Outcome.WARN and "`latest`" in f.reason]
    assert len(bad) == 1 and bad[0].remediation
    where = {(e.path, e.start_line) for e in bad[0].evidence}
    assert where == {("k8s/web.yaml", 10), ("k8s/web.yaml", 12)}
    assert any(f.outcome is Outcome.WARN and "docker-compose.prod.yml" in f.reason for f in findings)


def test_no_image_references_warns_with_advice(make_repo):
    # Everything was read: found nothing is a verdict with advice, not could-not-check.
    repo = make_repo()
    repo.write("Dockerfile", "FROM python:3.12.4\n").write("app.py", "x = 1\n").commit("init")
    [f] = run_check("repo.immutable-images", repo.path)
    assert f.outcome is Outcome.WARN and f.remediation


def test_no_containers_not_applicable(make_repo):
    repo = make_repo()
    repo.write("app.py", "x = 1\n").commit("init")
    [f] = run_check("repo.immutable-images", repo.path)
    assert f.outcome is Outcome.NOT_APPLICABLE


def test_malformed_compose_is_not_a_pass(make_repo):
    repo = make_repo()
    repo.write("compose.yaml", "services:\n  web: [\n").write("Dockerfile", "FROM python:3.12.4\n").commit("init")
    findings = run_check("repo.immutable-images", repo.path)
    assert [f.outcome for f in findings] == [Outcome.COULD_NOT_CHECK]
    assert "compose.yaml" in findings[0].reason


def test_date_stamped_base_tag_counts_as_pinned(make_repo):
    repo = make_repo()
    repo.write("Dockerfile", "FROM debian:bookworm-20250520-slim AS b\nFROM b\nUSER 1000\nHEALTHCHECK CMD true\n")
    repo.commit("init")
    [f] = run_check("repo.containers", repo.path)
    assert f.outcome is Outcome.PASS, f.reason
