"""Container specs and Docker helpers: what each part of the topology runs with, and waiting for health."""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from harness.lab.settings import (
    ALERTMANAGER_PORT,
    APP_COLOURS,
    APP_INSTANCES,
    HTTP_PORT,
    HTTPS_PORT,
    LAB,
    LABEL,
    POSTGRES_PORT,
    PROMETHEUS_PORT,
    ROLE,
    VARIANT,
    app_upstreams,
    role_variant,
    slot_alias,
)

log = logging.getLogger(__name__)
FRONT, BACK = f"{LAB}-front", f"{LAB}-back"
PG_VOLUME, CADDY_VOLUME, PROM_VOLUME = f"{LAB}-pgdata", f"{LAB}-caddy-data", f"{LAB}-prometheus-data"
DB_NAME = DB_USER = "taskapp"
SECOND_NS = 1_000_000_000
APP_PORT, READY_PATH = 8000, "/readyz"
# Each Docker health probe is a `docker exec` costing about 27 ms of CPU in the container (runc's setup and bash):
# every 2 s that alone was 1.4 % of a core per idle instance. Deploys do not wait on it (see `answers_ready`).
APP_PROBE_INTERVAL_S = 10
TMP = "/tmp"  # nosec B108 - the container's own tmpfs, not the host's shared /tmp
HARDENING: dict[str, Any] = {
    "read_only": True,
    "security_opt": ["no-new-privileges:true"],
    "cap_drop": ["ALL"],
    "restart_policy": {"Name": "unless-stopped"},
    "log_config": {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}},
}


# The plain-http variant's Caddyfile: the same proxy on plain HTTP only (no TLS listener, no redirect, no HSTS).
PLAIN_CADDYFILE = """{
	http_port 8080
	auto_https off
	admin localhost:2019
	servers {
		metrics
	}
}
:8080 {
	@metrics_outside {
		path /metrics
		not remote_ip 127.0.0.0/8 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 ::1/128
	}
	respond @metrics_outside 403
	respond /internal/* 404
	reverse_proxy {
		to {$APP_UPSTREAMS}
		health_uri /readyz
		health_interval 1s
		health_timeout 3s
		health_status 2xx
		lb_policy round_robin
		lb_try_duration 10s
		lb_try_interval 100ms
	}
}
"""
PG_DATA = "/var/lib/postgresql/data"
VERSION_FILE = f"{TMP}/version"  # the in-place variant's "deploy" rewrites it inside running app containers
DRAIN_FILE = f"{TMP}/draining"  # while it exists the app's /readyz answers 503 (taskapp/settings.py)


SETTINGS_LABEL = f"{LABEL}.settings"


def settings_digest(kwargs: dict[str, Any]) -> str:
    """A digest of what a container runs with (environment, volumes, command): changes mean a new container."""
    relevant = {k: kwargs.get(k) for k in ("environment", "volumes", "command", "entrypoint")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


class HealthError(RuntimeError):
    """A container did not become healthy in time."""


def labels(role: str, variant: str = "", **extra: str) -> dict[str, str]:
    # Only a broken variant is labelled, so a normal lab's containers are exactly as they always were.
    return {LABEL: LAB, ROLE: role, **extra} | ({VARIANT: variant} if variant else {})


def variant_of(container: Container) -> str:
    return str(container.labels.get(VARIANT, ""))


def tmpfs(*paths: str) -> dict[str, str]:
    # Paths inside the container, mounted as private tmpfs: not the host's shared /tmp.
    return {p: "rw,nosuid,nodev,size=64m,mode=1777" for p in paths}  # nosec B108


def http_ports() -> list[tuple[str, int]]:
    """Plain HTTP on the lab port, and on 80 too when it is free, so the bare host redirects as well."""
    ports = [("127.0.0.1", HTTP_PORT)]
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 80))
            ports.append(("127.0.0.1", 80))
        except OSError:
            pass  # taken (or not ours to bind): the lab port alone is enough
    return ports


def platform_kwargs(role: str, secrets: dict[str, str], variant: str = "") -> tuple[str, dict[str, Any]]:
    """(network, create kwargs) for one platform container; the image is passed separately."""
    network, kwargs = _platform_kwargs(role, secrets)
    broken = role_variant(variant, role)
    if not broken:
        return network, kwargs
    kwargs["labels"] = labels(role, broken)
    if broken == "no-db-volume":
        # An anonymous volume instead of the named one: it goes with the container, and the data with it.
        del kwargs["volumes"]
        kwargs["anonymous_volumes"] = [PG_DATA]
    elif broken == "plain-http":
        kwargs["environment"] = kwargs["environment"] | {"CADDYFILE": PLAIN_CADDYFILE}
        kwargs["command"] = [
            "sh",
            "-c",
            'printf "%s" "$CADDYFILE" > /tmp/Caddyfile && exec caddy run --config /tmp/Caddyfile --adapter caddyfile',
        ]
        kwargs["ports"] = {"8080/tcp": kwargs["ports"]["8080/tcp"]}
        kwargs["healthcheck"] = {
            "test": ["CMD", "httpcheck", "8080", "/healthz"],
            "interval": 2 * SECOND_NS,
            "timeout": 3 * SECOND_NS,
            "retries": 3,
            "start_period": 30 * SECOND_NS,
        }
    elif broken == "no-alert-rules":
        # An empty tmpfs over the rules folder: the configured glob matches no rule file.
        kwargs["tmpfs"] = tmpfs(TMP, "/etc/prometheus/rules")
    return network, kwargs


def _platform_kwargs(role: str, secrets: dict[str, str]) -> tuple[str, dict[str, Any]]:
    common: dict[str, Any] = {"name": f"{LAB}-{role}", "labels": labels(role), "tmpfs": tmpfs(TMP), **HARDENING}
    if role == "postgres":
        return BACK, common | {
            "environment": {
                "POSTGRES_PASSWORD": secrets["POSTGRES_PASSWORD"],
                "APP_DB_NAME": DB_NAME,
                "APP_DB_USER": DB_USER,
                "APP_DB_PASSWORD": secrets["APP_DB_PASSWORD"],
            },
            "volumes": {PG_VOLUME: {"bind": "/var/lib/postgresql/data", "mode": "rw"}},
            "ports": {"5432/tcp": ("127.0.0.1", POSTGRES_PORT)},
            "mem_limit": "512m",
            "stop_signal": "SIGINT",
        }
    if role == "caddy":
        return FRONT, common | {
            # The Caddyfile's default upstreams are these too; the lab says so rather than rely on it.
            "environment": {"PUBLIC_HTTPS_PORT": str(HTTPS_PORT), "APP_UPSTREAMS": app_upstreams(APP_PORT)},
            "volumes": {CADDY_VOLUME: {"bind": "/data", "mode": "rw"}},
            "ports": {"8443/tcp": [("127.0.0.1", HTTPS_PORT)], "8080/tcp": http_ports()},
            "mem_limit": "256m",
        }
    if role == "prometheus":
        return FRONT, common | {
            # A volume, not a tmpfs: it takes the image's ownership of /prometheus, and history survives a restart.
            "volumes": {PROM_VOLUME: {"bind": "/prometheus", "mode": "rw"}},
            "ports": {"9090/tcp": ("127.0.0.1", PROMETHEUS_PORT)},
            "mem_limit": "512m",
        }
    if role == "alertmanager":
        return FRONT, common | {"ports": {"9093/tcp": ("127.0.0.1", ALERTMANAGER_PORT)}, "mem_limit": "128m"}
    if role == "node-exporter":
        return FRONT, common | {
            "volumes": {"/proc": {"bind": "/host/proc", "mode": "ro"}, "/sys": {"bind": "/host/sys", "mode": "ro"}},
            "mem_limit": "64m",
        }
    raise ValueError(f"unknown platform role {role!r}")


def app_dsn(secrets: dict[str, str], host: str = "postgres", port: int = 5432) -> str:
    return f"postgresql://{DB_USER}:{secrets['APP_DB_PASSWORD']}@{host}:{port}/{DB_NAME}?sslmode=require"


def app_kwargs(name: str, image_id: str, commit: str, secrets: dict[str, str], variant: str = "") -> dict[str, Any]:
    dsn = app_dsn(secrets)
    broken = role_variant(variant, "app")
    extra_env = {"no-metrics": {"METRICS_ROUTE": "off"}, "in-place": {"VERSION_FILE": VERSION_FILE}}.get(broken, {})
    return {
        "name": name,
        "labels": labels("app", broken, **{"com.harness.lab.commit": commit}),
        "environment": {
            "DATABASE_URL": dsn,
            "IMAGE_DIGEST": image_id,  # the image this container runs, as the engine identifies it
            "FEATURE_DUE_DATES": "true",
            "DRAIN_FILE": DRAIN_FILE,
            **extra_env,
        },
        "tmpfs": tmpfs(TMP),
        "mem_limit": "256m",
        # The engine's probe marks a stuck instance unhealthy; a rollout polls readiness itself (wait_healthy).
        "healthcheck": {
            "test": ["CMD", "httpcheck", str(APP_PORT), READY_PATH],  # bash, not Python
            "interval": APP_PROBE_INTERVAL_S * SECOND_NS,
            "timeout": 2 * SECOND_NS,
            "retries": 3,
            "start_period": 30 * SECOND_NS,
        },
        **HARDENING,
    }


def run(client: docker.DockerClient, image: str, network: str, aliases: list[str], kwargs: dict[str, Any]) -> Container:
    """Create on `network` (with `aliases`), then start: the container never exists outside its network."""
    # types-docker types endpoints_config as one EndpointConfig; docker-py takes (and documents) a map of
    # network name -> EndpointConfig, sent as the Engine API's EndpointsConfig.
    networking = client.api.create_networking_config(
        {network: client.api.create_endpoint_config(aliases=aliases)}  # type: ignore[arg-type]
    )
    host_config = client.api.create_host_config(
        **{k: v for k, v in _host_options(kwargs).items() if v is not None},
    )
    created = client.api.create_container(
        image=image,
        name=kwargs["name"],
        labels=kwargs["labels"],
        environment=kwargs.get("environment"),
        command=kwargs.get("command"),
        volumes=kwargs.get("anonymous_volumes"),
        healthcheck=kwargs.get("healthcheck"),
        stop_signal=kwargs.get("stop_signal"),
        ports=[int(p.split("/")[0]) for p in kwargs.get("ports", {})] or None,
        host_config=host_config,
        networking_config=networking,
    )
    client.api.start(created["Id"])
    return client.containers.get(created["Id"])


def _host_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    binds = {src: spec for src, spec in kwargs.get("volumes", {}).items()}
    return {
        "binds": binds or None,
        "port_bindings": {int(p.split("/")[0]): hp for p, hp in kwargs.get("ports", {}).items()} or None,
        "tmpfs": kwargs.get("tmpfs"),
        "read_only": kwargs.get("read_only"),
        "security_opt": kwargs.get("security_opt"),
        "cap_drop": kwargs.get("cap_drop"),
        "restart_policy": kwargs.get("restart_policy"),
        "log_config": kwargs.get("log_config"),
        "mem_limit": kwargs.get("mem_limit"),
    }


def health(container: Container) -> str:
    container.reload()
    state = container.attrs.get("State", {})
    if state.get("Status") != "running":
        return str(state.get("Status", "unknown"))
    return str(state.get("Health", {}).get("Status", "running"))


def answers_ready(container: Container) -> bool:
    """The app instance answers 200 on /readyz at one of its addresses (the host reaches bridge networks).

    One cheap HTTP request instead of waiting up to a probe interval for the engine's own verdict."""
    for address in addresses(container):
        conn = http.client.HTTPConnection(address, APP_PORT, timeout=1)
        try:
            conn.request("GET", READY_PATH)
            if conn.getresponse().status == 200:
                return True
        except OSError:
            continue  # not listening yet, or this network is not routable from here: the engine's probe decides
        finally:
            conn.close()
    return False


def wait_healthy(
    containers: list[Container], timeout_s: float = 120.0, ready: Callable[[Container], bool] | None = None
) -> None:
    """Until each container is healthy (or running, without a health check); `ready` may say so sooner."""
    deadline = time.monotonic() + timeout_s
    pending = list(containers)
    while pending:
        for c in list(pending):
            status = health(c)
            if status in ("healthy", "running") or (status == "starting" and ready is not None and ready(c)):
                pending.remove(c)
            elif status in ("exited", "dead", "unhealthy"):
                raise HealthError(f"{c.name} is {status}:\n{_logs(c)}")
        if pending and time.monotonic() > deadline:
            names = ", ".join(f"{c.name} ({health(c)})" for c in pending)
            raise HealthError(f"not healthy after {timeout_s:.0f} s: {names}\n{_logs(pending[0])}")
        if pending:
            time.sleep(0.5)


def _logs(c: Container) -> str:
    try:
        return c.logs(tail=20).decode("utf-8", "replace")
    except docker.errors.APIError:
        return "(no logs)"


def find(client: docker.DockerClient, role: str | None = None, all_states: bool = True) -> list[Container]:
    filters = [f"{LABEL}={LAB}"] + ([f"{ROLE}={role}"] if role else [])
    return client.containers.list(all=all_states, filters={"label": filters})


def addresses(container: Container) -> list[str]:
    """The container's addresses on every network it is on."""
    networks = (container.attrs.get("NetworkSettings") or {}).get("Networks") or {}
    return [str(n["IPAddress"]) for n in networks.values() if n and n.get("IPAddress")]


def colour_of(container: Container) -> str:
    """The colour an app instance serves in, by its slot alias on the front network (one of Caddy's upstreams);
    "" for none, as for an instance from before per-instance slots, which Caddy does not route to."""
    network = (container.attrs.get("NetworkSettings") or {}).get("Networks", {}).get(FRONT) or {}
    aliases = set(network.get("Aliases") or [])
    slots = {colour: {slot_alias(colour, i) for i in range(APP_INSTANCES)} for colour in APP_COLOURS}
    return next((colour for colour in APP_COLOURS if aliases & slots[colour]), "")


def drain(container: Container) -> None:
    """Make the instance's /readyz answer 503 (it keeps serving), so the proxy's health checks take it out."""
    # Not drained (stopped by a fault, gone, an image without the drain file): it is still stopped gracefully.
    try:
        code = container.exec_run(["touch", DRAIN_FILE]).exit_code
    except docker.errors.APIError as exc:
        code, problem = -1, str(exc)[:200]
    else:
        problem = f"touch exited {code}"
    if code != 0:
        log.warning("%s: not drained (%s)", container.name, problem)


def front_ips(found: list[Container]) -> set[str]:
    """The containers' addresses on the front network, where Prometheus and Caddy reach them."""
    ips = set()
    for container in found:
        network = (container.attrs.get("NetworkSettings") or {}).get("Networks", {}).get(FRONT) or {}
        if network.get("IPAddress"):
            ips.add(str(network["IPAddress"]))
    return ips


def image_of(container: Container) -> str:
    return str(container.attrs.get("Image", ""))
