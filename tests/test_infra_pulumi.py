"""The Pulumi program, unit-tested with Pulumi's mocks (no CLI, no engine, no Docker)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pulumi
import pytest

INFRA = Path(__file__).resolve().parents[1] / "infra"
sys.path.insert(0, str(INFRA))

import topology  # noqa: E402

RESOURCES: list[pulumi.runtime.MockResourceArgs] = []


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        RESOURCES.append(args)
        outputs = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":
            digest = hashlib.sha256(args.inputs["name"].encode()).hexdigest()
            outputs["imageId"] = f"sha256:{digest}"
            outputs["repoDigest"] = f"{args.inputs['name'].split(':')[0]}@sha256:{digest}"
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def deploy(stack: str, git_sha: str, config: dict[str, str]) -> list[pulumi.runtime.MockResourceArgs]:
    RESOURCES.clear()
    pulumi.runtime.set_mocks(Mocks(), project="refplatform", stack=stack, preview=False)
    pulumi.runtime.set_all_config({f"refplatform:{k}": v for k, v in config.items()}, [])
    import refplatform

    @pulumi.runtime.test
    def run():
        out = refplatform.deploy(pulumi.Config(), git_sha)
        return out["app_containers"]

    run()
    return list(RESOURCES)


LOCAL = {
    "replicas": "2",
    "postgres_password": "test-only-password",  # pragma: allowlist secret
    "app_db_password": "test-only-password-2",  # pragma: allowlist secret
    "https_port": "8443",
    "http_port": "8080",
}


@pytest.fixture(scope="module")
def local():
    return deploy("local", "1111111", LOCAL)


def containers(resources, role: str | None = None):
    out = [r for r in resources if r.typ == "docker:index/container:Container"]
    if role:
        out = [r for r in out if role_of(r) == role]
    return out


def role_of(resource) -> str:
    return next(lb["value"] for lb in resource.inputs["labels"] if lb["label"] == topology.ROLE)


def test_at_least_two_app_containers_by_digest(local):
    apps = containers(local, "app")
    assert len(apps) >= 2
    for app in apps:
        assert app.inputs["image"].startswith("sha256:"), "app containers must run an image id/digest, not a tag"


def test_app_containers_are_replaceable_without_fixed_names_or_ports(local):
    import refplatform

    for app in containers(local, "app"):
        assert "name" not in app.inputs, "a fixed name would block create-before-delete"
        assert not app.inputs.get("ports"), "a fixed port would block create-before-delete"
        assert app.inputs["readOnly"] is True
        front = next(n for n in app.inputs["networksAdvanced"] if n["name"] == "refplatform-local-front")
        assert topology.APP_ALIAS in front["aliases"]
    opts = refplatform.container_options(topology.by_role("app"), [])
    assert opts.delete_before_replace is False  # pulumi_docker deletes first unless told otherwise
    assert refplatform.container_options(topology.by_role("postgres"), []).delete_before_replace is True


def test_replaced_containers_are_stopped_gracefully_not_removed_by_force(local):
    conf = (INFRA.parent / "reference_project" / "server.py").read_text(encoding="utf-8")
    graceful = int(conf.split("\ngraceful_timeout = ")[1].split()[0])
    for c in containers(local):
        assert c.inputs.get("destroyGraceSeconds", 0) > graceful, role_of(c)


def test_only_the_proxy_publishes_ports(local):
    published = {role_of(r) for r in containers(local) if r.inputs.get("ports")}
    assert published == {"caddy"}
    proxy = containers(local, "caddy")[0]
    assert sorted(p["internal"] for p in proxy.inputs["ports"]) == [8080, 8443]
    assert all(p["ip"] == "127.0.0.1" for p in proxy.inputs["ports"])


def test_every_container_has_a_health_check_and_the_database_a_volume(local):
    for c in containers(local):
        if c.inputs.get("healthcheck"):
            assert c.inputs["healthcheck"]["tests"], c.name
        else:  # the image's own HEALTHCHECK applies
            svc = topology.by_role(role_of(c))
            dockerfile = topology.REPO_ROOT / svc.build_context / svc.dockerfile
            assert "HEALTHCHECK" in dockerfile.read_text(), dockerfile
    pg = containers(local, "postgres")[0]
    assert pg.inputs["volumes"][0]["containerPath"] == "/var/lib/postgresql/data"
    assert any(r.typ == "docker:index/volume:Volume" for r in local)


def test_a_rebuilt_image_changes_the_app_image_reference():
    first = {c.inputs["image"] for c in containers(deploy("local", "1111111", LOCAL), "app")}
    second = {c.inputs["image"] for c in containers(deploy("local", "2222222", LOCAL), "app")}
    assert first and second and first.isdisjoint(second)  # new digest: Pulumi replaces the containers


def test_hosted_stack_runs_the_pushed_image_by_repo_digest(monkeypatch):
    monkeypatch.setenv("APP_IMAGE", "ghcr.io/example/refapp:3333333")
    hosted = deploy(
        "hosted", "3333333", {**LOCAL, "replicas": "3", "prebuilt_app_image": "true", "bind_address": "0.0.0.0"}
    )
    apps = containers(hosted, "app")
    assert len(apps) == 3
    assert all("@sha256:" in a.inputs["image"] for a in apps)


def test_the_proxy_redirects_to_the_port_users_reach(local):
    [proxy] = containers(local, "caddy")
    assert "PUBLIC_HTTPS_PORT=8443" in proxy.inputs["envs"]


def upstream_switch(resources):
    [switch] = [r for r in resources if r.typ == "pulumi-python:dynamic:Resource" and r.name == "caddy-upstream"]
    return switch


def test_the_proxy_is_reloaded_onto_the_new_instances_alias(local):
    switch = upstream_switch(local)
    upstream = switch.inputs["upstream"]
    assert upstream.startswith(topology.APP_ALIAS + "-")  # one deploy's instances, not the shared alias
    for app in containers(local, "app"):
        front = next(n for n in app.inputs["networksAdvanced"] if n["name"].endswith("-front"))
        assert sorted(front["aliases"]) == sorted([topology.APP_ALIAS, upstream])
    [proxy] = containers(local, "caddy")
    assert switch.inputs["container"] == f"{proxy.name}-id"  # by id: a replaced Caddy is reloaded as well
    assert f"APP_UPSTREAM={topology.APP_ALIAS}" in proxy.inputs["envs"]  # a restarted Caddy finds every instance


def test_a_rebuilt_image_moves_the_proxy_to_a_new_alias():
    first = upstream_switch(deploy("local", "1111111", LOCAL)).inputs["upstream"]
    second = upstream_switch(deploy("local", "2222222", LOCAL)).inputs["upstream"]
    assert first != second


def test_the_reload_is_graceful_and_only_when_the_upstream_changes():
    import proxyswitch

    argv = proxyswitch.reload_command("refplatform-local-caddy", "app-0123456789ab")
    assert argv[:2] == ["docker", "exec"] and "APP_UPSTREAM=app-0123456789ab" in argv
    assert argv[-6:] == ["caddy", "reload", "--config", proxyswitch.CADDYFILE, "--adapter", "caddyfile"]
    caddy_dockerfile = (INFRA.parent / "reference_project" / "platform" / "caddy.Dockerfile").read_text()
    assert f"COPY Caddyfile {proxyswitch.CADDYFILE}" in caddy_dockerfile
    provider = proxyswitch._Provider()
    same = {"container": "c", "upstream": "app-1"}
    assert provider.diff("id", same, dict(same)).changes is False
    assert provider.diff("id", same, same | {"upstream": "app-2"}).changes is True
