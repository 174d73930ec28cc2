"""The reference platform as data, read by the Pulumi program and checked against the local lab.

tests/test_infra_lab_equivalence.py asserts that the lab (harness/lab) and the Pulumi program
describe this same platform: services, images, public ports, health checks, read-only root
filesystems, volumes, networks and the app replica count. The one deliberate difference: the lab
also publishes the operator ports below on 127.0.0.1 so that harness can reach Prometheus,
Alertmanager and the database; a hosted stack keeps them private (reach them over the Docker host).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PLATFORM_CONTEXT = "reference_project/platform"
APP_ALIAS = "app"
FRONT, BACK = "front", "back"  # users reach only the front network, through the proxy
LABEL = "com.harness.lab"
ROLE = "com.harness.lab.role"
APP_HEALTHCHECK = ("CMD", "httpcheck", "8000", "/readyz")  # the image's bash probe: no interpreter per probe


@dataclass(frozen=True)
class Port:
    internal: int  # the port the (non-root) process listens on inside the container
    external_setting: str  # the stack setting giving the published port
    default_external: int


@dataclass(frozen=True)
class Service:
    role: str
    build_context: str  # relative to the repository root
    dockerfile: str
    networks: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    replicas: int = 1
    replaceable: bool = False  # immutable app instances: replaced create-before-delete, no fixed name
    healthcheck: tuple[str, ...] = ()  # empty: the image's own HEALTHCHECK
    public_ports: tuple[Port, ...] = ()
    operator_port: int | None = None  # published on 127.0.0.1 by the lab only
    volumes: tuple[tuple[str, str], ...] = ()  # (volume, mount path)
    host_mounts: tuple[tuple[str, str], ...] = ()  # (host path, mount path), read-only
    read_only: bool = True
    tmpfs: tuple[str, ...] = ("/tmp",)  # nosec B108 - container-private tmpfs mount points


SERVICES: tuple[Service, ...] = (
    Service(
        role="postgres",
        build_context=PLATFORM_CONTEXT,
        dockerfile="postgres.Dockerfile",
        networks=(BACK,),
        aliases=("postgres",),
        operator_port=5432,
        volumes=(("pgdata", "/var/lib/postgresql/data"),),
    ),
    Service(
        role="app",
        build_context="reference_project",
        dockerfile="Dockerfile",
        networks=(BACK, FRONT),
        aliases=(APP_ALIAS,),
        replicas=2,
        replaceable=True,
        healthcheck=APP_HEALTHCHECK,
    ),
    Service(
        role="caddy",
        build_context=PLATFORM_CONTEXT,
        dockerfile="caddy.Dockerfile",
        networks=(FRONT,),
        aliases=("caddy",),
        public_ports=(Port(8443, "https_port", 8443), Port(8080, "http_port", 8080)),
        volumes=(("caddy-data", "/data"),),
    ),
    Service(
        role="prometheus",
        build_context=PLATFORM_CONTEXT,
        dockerfile="prometheus.Dockerfile",
        networks=(FRONT,),
        aliases=("prometheus",),
        operator_port=9090,
        volumes=(("prometheus-data", "/prometheus"),),
    ),
    Service(
        role="alertmanager",
        build_context=PLATFORM_CONTEXT,
        dockerfile="alertmanager.Dockerfile",
        networks=(FRONT,),
        aliases=("alertmanager",),
        operator_port=9093,
    ),
    Service(
        role="node-exporter",
        build_context=PLATFORM_CONTEXT,
        dockerfile="node-exporter.Dockerfile",
        networks=(FRONT,),
        aliases=("node-exporter",),
        host_mounts=(("/proc", "/host/proc"), ("/sys", "/host/sys")),
    ),
)


def by_role(role: str) -> Service:
    return next(s for s in SERVICES if s.role == role)
