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
        if args.name == "app-slot":  # the mocks run no provider: the first deploy's colour
            outputs["colour"] = "blue"
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


def dynamic(resources, name):
    [found] = [r for r in resources if r.typ == "pulumi-python:dynamic:Resource" and r.name == name]
    return found


def test_app_instances_join_the_slots_colour_and_caddy_is_never_reloaded(local):
    slots = set()
    for app in containers(local, "app"):
        front = next(n for n in app.inputs["networksAdvanced"] if n["name"].endswith("-front"))
        [slot] = set(front["aliases"]) - {topology.APP_ALIAS, f"{topology.APP_ALIAS}-blue"}
        assert len(front["aliases"]) == 3 and slot.startswith(f"{topology.APP_ALIAS}-blue-")
        slots.add(f"{slot}:8000")
        assert "DRAIN_FILE=/tmp/draining" in app.inputs["envs"]["value"]  # a secret: it holds the DSN
    [proxy] = containers(local, "caddy")
    # One upstream per instance (a colour-wide name would pin Caddy's kept-alive connection to one instance).
    [upstreams] = [e.partition("=")[2].split() for e in proxy.inputs["envs"] if e.startswith("APP_UPSTREAMS=")]
    assert len(slots) == 2 and slots == {u for u in upstreams if "-blue-" in u}
    assert len(upstreams) == 4 and all(":8000" in u for u in upstreams)
    assert not [r for r in local if r.name == "caddy-upstream"]  # no reload resource any more
    drain = dynamic(local, "app-drain")
    assert sorted(drain.inputs["containers"]) == sorted(f"{a.name}-id" for a in containers(local, "app"))


def test_the_slot_alternates_colours_when_the_image_changes():
    import proxyswitch

    slot = proxyswitch._SlotProvider()
    first = slot.create({"image": "sha256:1", "colour": None}).outs
    assert first["colour"] == "blue"
    assert slot.diff("app-slot", first, {"image": "sha256:1", "colour": None}).changes is False
    second = slot.update("app-slot", first, {"image": "sha256:2", "colour": None}).outs
    third = slot.update("app-slot", second, {"image": "sha256:3", "colour": None}).outs
    assert (second["colour"], third["colour"]) == ("green", "blue")
    caddyfile = (INFRA.parent / "reference_project" / "platform" / "Caddyfile").read_text()
    assert proxyswitch.upstreams("app", 2) in caddyfile  # the default is the Pulumi program's two replicas


def test_the_drain_touches_only_the_replaced_containers(tmp_path, monkeypatch):
    import proxyswitch

    # A `docker` on PATH that records its arguments: the real CLI would need an engine.
    log = tmp_path / "argv"
    fake = tmp_path / "docker"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr(proxyswitch, "SEEN_S", 0.0)
    monkeypatch.setattr(proxyswitch, "IN_FLIGHT_S", 0.0)
    provider = proxyswitch._DrainProvider()
    provider.update("app-drain", {"containers": ["old1", "keep"]}, {"containers": ["keep", "new1"]})
    assert log.read_text().splitlines() == [f"exec old1 touch {proxyswitch.DRAIN_FILE}"]
    assert provider.diff("app-drain", {"containers": ["a"]}, {"containers": ["a"]}).changes is False
