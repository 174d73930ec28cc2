"""Issue 9, DS-1: AppSync is HTTPS-only; an image's nginx behind an HTTPS-only App Service is not plain HTTP."""

from __future__ import annotations

from harness.model import Outcome
from tests.conftest import run_check

NGINX = "server {\n    listen 80;\n    root /usr/share/nginx/html;\n}\n"
DOCKERFILE = "FROM nginx:1.27-alpine\nCOPY nginx/nginx.conf /etc/nginx/conf.d/default.conf\n"
APP_SERVICE = """resource "azurerm_linux_web_app" "web" {
  name       = "todo-web"
  https_only = %s
}
"""


def outcomes(repo) -> tuple[set[Outcome], str]:
    findings = run_check("repo.https-config", repo.path)
    return {f.outcome for f in findings}, " | ".join(f.reason for f in findings)


def test_appsync_graphql_api_is_https_only(make_repo):
    stack = (
        "from aws_cdk import Stack\nimport aws_cdk.aws_appsync_alpha as appsync\n\n\nclass Api(Stack):\n"
        "    def build(self):\n        return appsync.GraphqlApi(self, 'Api', name='accounts')\n"
    )
    repo = make_repo()
    repo.write("cdk.json", '{"app": "python3 app.py"}\n').write("infrastructure/stack.py", stack).commit("cdk")
    outs, why = outcomes(repo)
    assert outs == {Outcome.PASS}, why
    assert "infrastructure/stack.py:7" in why and "AppSync" in why


def test_image_nginx_listener_behind_https_only_app_service_is_not_plain_http(make_repo):
    repo = make_repo()
    repo.write("web/nginx/nginx.conf", NGINX).write("web/Dockerfile", DOCKERFILE)
    repo.write("infra/web.tf", APP_SERVICE % "true").commit("web")
    outs, why = outcomes(repo)
    assert outs == {Outcome.PASS}, why
    assert "behind" in why or "https_only" in why


def test_image_nginx_listener_without_an_https_only_front_is_plain_http(make_repo):
    repo = make_repo()
    repo.write("web/nginx/nginx.conf", NGINX).write("web/Dockerfile", DOCKERFILE)
    repo.write("infra/web.tf", APP_SERVICE % "false").commit("web")
    outs, why = outcomes(repo)
    assert Outcome.FAIL in outs and "listens on 80" in why


def test_host_nginx_listener_is_plain_http_even_beside_an_https_only_app(make_repo):
    repo = make_repo()
    repo.write("deploy/nginx.conf", NGINX).write("infra/web.tf", APP_SERVICE % "true").commit("web")
    outs, why = outcomes(repo)
    assert Outcome.FAIL in outs and "deploy/nginx.conf:1" in why
