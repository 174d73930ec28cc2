"""Names and paths shared by the lab's modules: one place to read what the lab creates."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

LAB = "harness-lab"
LABEL = "com.harness.lab"
ROLE = "com.harness.lab.role"
APP_ALIAS = "app"  # the DNS name Caddy and Prometheus resolve to every ready app instance
# Blue/green: each instance of a colour joins under one of its slot aliases, Caddy's static upstreams (Caddyfile).
APP_COLOURS = ("blue", "green")
APP_INSTANCES = 2
HTTPS_PORT, HTTP_PORT = 8443, 8080
PROMETHEUS_PORT, ALERTMANAGER_PORT = 9090, 9093
POSTGRES_PORT = 55432  # loopback only, for the harness's database TLS check
DSN_ENV = "HARNESS_LAB_DATABASE_URL"
VARIANT = "com.harness.lab.variant"
# Deliberately broken labs, each failing specific criteria (tests/test_e2e_variants.py), and the parts each
# one changes: a part labelled with another variant (or none) is replaced when the lab switches variant.
VARIANT_ROLES: dict[str, frozenset[str]] = {
    "plain-http": frozenset({"caddy"}),
    "no-metrics": frozenset({"app"}),
    "one-replica": frozenset({"app"}),
    "no-alert-rules": frozenset({"prometheus"}),
    "in-place": frozenset({"app"}),
    "no-db-volume": frozenset({"postgres", "app"}),
}
VARIANTS = tuple(VARIANT_ROLES)
FROM_LINE = re.compile(r"^FROM\s+(\S+)", re.MULTILINE | re.IGNORECASE)


def role_variant(variant: str, role: str) -> str:
    """The variant a part of the topology runs as: "" (normal) unless the variant changes that part."""
    return variant if role in VARIANT_ROLES.get(variant, frozenset()) else ""


def colour_alias(colour: str) -> str:
    return f"{APP_ALIAS}-{colour}"


def slot_alias(colour: str, index: int) -> str:
    """The alias of a colour's instance `index` (from 0): each slot is one of Caddy's static upstreams. A name
    shared by a colour's instances would be a single upstream, and Caddy's kept-alive connection to it would
    send every request to the one instance it first reached."""
    return f"{colour_alias(colour)}-{index % APP_INSTANCES + 1}"


def app_upstreams(port: int) -> str:
    """Caddy's upstreams (its APP_UPSTREAMS): every instance slot of both colours; an empty slot fails its lookup."""
    return " ".join(f"{slot_alias(colour, i)}:{port}" for colour in APP_COLOURS for i in range(APP_INSTANCES))


def app_instances(variant: str = "") -> int:
    return 1 if variant == "one-replica" else APP_INSTANCES


def repo_root() -> Path:
    """The harness repository: the lab lives in it and deploys the reference project from it."""
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Paths:
    repo: Path
    state: Path

    @classmethod
    def default(cls) -> Paths:
        repo = repo_root()
        state = Path(os.environ.get("HARNESS_LAB_STATE", repo / ".lab"))
        return cls(repo=repo, state=state.resolve())

    @property
    def project(self) -> Path:
        return self.repo / "reference_project"

    @property
    def platform(self) -> Path:
        return self.project / "platform"

    @property
    def ca_cert(self) -> Path:
        return self.state / "caddy-root.crt"

    @property
    def config(self) -> Path:
        return self.state / "harness.toml"

    @property
    def secrets(self) -> Path:
        return self.state / "secrets.env"

    @property
    def db_env(self) -> Path:
        return self.state / "db.env"

    @property
    def remote(self) -> Path:
        return self.state / "remote.git"

    @property
    def lock(self) -> Path:
        return self.state / "lab.lock"

    @property
    def log(self) -> Path:
        return self.state / "lab.log"


def base_image_name(dockerfile: Path) -> str:
    """The image the Dockerfile's first FROM names: the one name the lab bootstraps when it is missing."""
    match = FROM_LINE.search(dockerfile.read_text(encoding="utf-8"))
    if not match:
        raise ValueError(f"{dockerfile}: no FROM line")
    return match.group(1)
