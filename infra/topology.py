"""The reference platform as data: one description read by the Pulumi program and the local lab.

Keeping the topology here (not in either deployer) is what makes "the lab and the Pulumi
program describe the same platform" true by construction; tests/test_infra_pulumi.py checks
that both deployers honour it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PLATFORM_DIR = REPO_ROOT / "reference_project" / "platform"
APP_ALIAS = "app"
NETWORK = "refplatform"
LABEL = "com.harness.lab"


@dataclass(frozen=True)
class Port:
    internal: int
    external_setting: str  # the stack setting giving the published port
    default_external: int


@dataclass(frozen=True)
class Service:
    name: str
    build_context: str  # relative to the repository root
    dockerfile: str = "Dockerfile"
    replicas: int = 1
    replaceable: bool = False  # immutable, replaced create-before-delete, no fixed name or port
    read_only: bool = True
    healthcheck: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    ports: tuple[Port, ...] = ()
    volumes: tuple[tuple[str, str], ...] = ()  # (named volume, mount path)
    # Mount points of in-memory filesystems inside the containers, not temporary files here.
    tmpfs: tuple[str, ...] = ("/tmp",)  # nosec B108
    env: dict[str, str] = field(default_factory=dict)


SERVICES: tuple[Service, ...] = (
    Service(
        name="postgres",
        build_context="reference_project/platform/postgres",
        read_only=False,  # PostgreSQL writes its socket and pid under /run; data is on the volume
        healthcheck=("CMD", "pg_isready", "-U", "taskapp", "-d", "taskapp"),
        aliases=("postgres",),
        volumes=(("refplatform-pgdata", "/var/lib/postgresql/data"),),
        tmpfs=("/tmp", "/run/postgresql"),  # nosec B108
    ),
    Service(
        name="app",
        build_context="reference_project",
        replicas=2,
        replaceable=True,
        healthcheck=("CMD", "python3", "-m", "taskapp.healthcheck"),
        aliases=(APP_ALIAS,),
    ),
    Service(
        name="proxy",
        build_context="reference_project/platform/caddy",
        healthcheck=("CMD", "caddy", "version"),
        aliases=("proxy",),
        ports=(Port(443, "https_port", 8443), Port(80, "http_port", 8080)),
        tmpfs=("/tmp", "/data", "/config"),  # nosec B108
    ),
    Service(
        name="prometheus",
        build_context="reference_project/platform/prometheus",
        healthcheck=("CMD", "prometheus-healthcheck"),
        aliases=("prometheus",),
        tmpfs=("/tmp", "/prometheus"),  # nosec B108
    ),
    Service(
        name="alertmanager",
        build_context="reference_project/platform/alertmanager",
        healthcheck=("CMD", "alertmanager-healthcheck"),
        aliases=("alertmanager",),
        tmpfs=("/tmp", "/alertmanager"),  # nosec B108
    ),
    Service(
        name="node-exporter",
        build_context="reference_project/platform/node-exporter",
        healthcheck=("CMD", "node-exporter-healthcheck"),
        aliases=("node-exporter",),
    ),
)


def by_name(name: str) -> Service:
    return next(s for s in SERVICES if s.name == name)
