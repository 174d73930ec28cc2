"""The local lab and the Pulumi program describe the same platform (infra/topology.py).

Compared: services, images (build context and Dockerfile), public ports, health checks,
read-only root filesystems, volumes, networks and aliases, and the app replica count. The lab's
loopback-only operator ports are the one documented difference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.lab import containers, images, settings
from tests.test_infra_pulumi import LOCAL, deploy, role_of
from tests.test_infra_pulumi import containers as pulumi_containers

INFRA = Path(__file__).resolve().parents[1] / "infra"
sys.path.insert(0, str(INFRA))

import topology  # noqa: E402

SECRETS = {"POSTGRES_PASSWORD": "x" * 12, "APP_DB_PASSWORD": "y" * 12}  # pragma: allowlist secret
PLATFORM_ROLES = set(images.PLATFORM)


@pytest.fixture(scope="module")
def pulumi_local():
    return deploy("local", "1111111", LOCAL)


def lab_spec(role: str) -> tuple[str, dict]:
    if role == "app":
        return containers.BACK, containers.app_kwargs("app-x", "sha256:" + "0" * 64, "c0ffee", SECRETS)
    return containers.platform_kwargs(role, SECRETS)


def test_same_services(pulumi_local):
    lab_roles = PLATFORM_ROLES | {"app"}
    assert {s.role for s in topology.SERVICES} == lab_roles
    assert {role_of(c) for c in pulumi_containers(pulumi_local)} == lab_roles


def test_same_images():
    lab_images = {s.role: (s.context, s.dockerfile) for s in images.platform_specs(settings.Paths.default())}
    lab_images["app"] = (images.app_spec(settings.Paths.default().project).context, "Dockerfile")
    for svc in topology.SERVICES:
        context, dockerfile = lab_images[svc.role]
        assert (topology.REPO_ROOT / svc.build_context).resolve() == context.resolve(), svc.role
        assert svc.dockerfile == dockerfile, svc.role


def test_same_replica_count(pulumi_local):
    assert settings.APP_INSTANCES == topology.by_role("app").replicas == len(pulumi_containers(pulumi_local, "app"))


def test_same_public_ports_and_operator_ports_only_on_loopback(pulumi_local):
    for svc in topology.SERVICES:
        _, spec = lab_spec(svc.role)
        lab_ports = {int(p.split("/")[0]): v for p, v in spec.get("ports", {}).items()}
        public = {p.internal for p in svc.public_ports}
        assert public <= set(lab_ports), svc.role
        operator = set(lab_ports) - public
        assert operator == ({svc.operator_port} if svc.operator_port else set()), svc.role
        for port in operator:  # reachable by the verifier on this machine, by nobody else
            bindings = lab_ports[port] if isinstance(lab_ports[port], list) else [lab_ports[port]]
            assert all(host == "127.0.0.1" for host, _ in bindings), svc.role
        published = {
            p["internal"] for c in pulumi_containers(pulumi_local, svc.role) for p in c.inputs.get("ports", [])
        }
        assert published == public, svc.role


def test_same_health_checks(pulumi_local):
    for svc in topology.SERVICES:
        _, spec = lab_spec(svc.role)
        lab_test = tuple(spec["healthcheck"]["test"]) if "healthcheck" in spec else ()
        assert lab_test == svc.healthcheck, svc.role
        for c in pulumi_containers(pulumi_local, svc.role):
            assert tuple(c.inputs.get("healthcheck", {}).get("tests", ())) == svc.healthcheck, svc.role


def test_same_read_only_root_filesystems_and_tmpfs(pulumi_local):
    for svc in topology.SERVICES:
        _, spec = lab_spec(svc.role)
        assert bool(spec.get("read_only")) == svc.read_only, svc.role
        assert set(spec.get("tmpfs", {})) == set(svc.tmpfs), svc.role
        for c in pulumi_containers(pulumi_local, svc.role):
            assert c.inputs["readOnly"] is svc.read_only, svc.role


def test_same_volumes(pulumi_local):
    for svc in topology.SERVICES:
        _, spec = lab_spec(svc.role)
        lab_mounts = {v["bind"] for v in spec.get("volumes", {}).values()}
        assert lab_mounts == {path for _, path in svc.volumes} | {path for _, path in svc.host_mounts}, svc.role
        for c in pulumi_containers(pulumi_local, svc.role):
            assert {v["containerPath"] for v in c.inputs.get("volumes", [])} == lab_mounts, svc.role


def test_same_networks_and_aliases(pulumi_local):
    lab_networks = {containers.FRONT: topology.FRONT, containers.BACK: topology.BACK}
    for svc in topology.SERVICES:
        network, _ = lab_spec(svc.role)
        # App instances start on the back network and join the front one under the alias when promoted.
        expected = {topology.BACK, topology.FRONT} if svc.role == "app" else {lab_networks[network]}
        assert set(svc.networks) == expected, svc.role
        for c in pulumi_containers(pulumi_local, svc.role):
            names = {n["name"].rsplit("-", 1)[-1] for n in c.inputs["networksAdvanced"]}
            assert names == expected, svc.role
    assert settings.APP_ALIAS == topology.APP_ALIAS
