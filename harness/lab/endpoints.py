"""What the lab exposes on loopback: Caddy's CA certificate, readiness through Caddy, and harness.toml."""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
import time

import docker
import docker.errors
import requests

from harness.lab.settings import (
    ALERTMANAGER_PORT,
    DSN_ENV,
    HTTP_PORT,
    HTTPS_PORT,
    LAB,
    PROMETHEUS_PORT,
    ROLE,
    Paths,
    app_instances,
)

CADDY_ROOT = "/data/caddy/pki/authorities/local/root.crt"
BASE_URL = f"https://localhost:{HTTPS_PORT}"
PROMETHEUS_URL = f"http://127.0.0.1:{PROMETHEUS_PORT}"
ALERTMANAGER_URL = f"http://127.0.0.1:{ALERTMANAGER_PORT}"
HTTP_TIMEOUT = (3, 10)


def write_ca(client: docker.DockerClient, paths: Paths, timeout_s: float = 60) -> None:
    """Copy Caddy's internal root certificate out of its container (it appears once Caddy has started)."""
    caddy = client.containers.get(f"{LAB}-caddy")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            stream, _ = caddy.get_archive(CADDY_ROOT)
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                member = tar.extractfile("root.crt")
                if member is None:
                    raise FileNotFoundError(CADDY_ROOT)
                paths.ca_cert.write_bytes(member.read())
            return
        except (docker.errors.NotFound, KeyError, FileNotFoundError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Caddy did not create its CA ({CADDY_ROOT}) within {timeout_s:.0f} s") from None
            time.sleep(0.5)


def base_url(variant: str = "") -> str:
    """Where users reach the lab: the plain-http variant has no HTTPS listener, only the plain HTTP port."""
    return f"http://localhost:{HTTP_PORT}" if variant == "plain-http" else BASE_URL


def wait_serving(paths: Paths, app_ips: set[str], timeout_s: float = 60, variant: str = "") -> None:
    """Until users get ready answers through Caddy, and Prometheus scrapes every app instance (`app_ips`)."""
    deadline = time.monotonic() + timeout_s
    problem = ""
    # Without the app's /metrics route Prometheus can scrape no instance: wait for the answers alone.
    instances = app_instances(variant)
    want_scraped = 0 if variant == "no-metrics" else instances
    # A fresh Prometheus needs two scrapes before rate() and the recording rules built on it have data;
    # until then its alert expressions return nothing, so monitoring is not ready yet.
    want_recorded = variant not in ("no-metrics", "no-alert-rules")
    while time.monotonic() < deadline:
        try:
            ready = requests.get(f"{base_url(variant)}/readyz", verify=str(paths.ca_cert), timeout=HTTP_TIMEOUT)
            up = requests.get(
                f"{PROMETHEUS_URL}/api/v1/query", params={"query": 'sum(up{job="app"})'}, timeout=HTTP_TIMEOUT
            ).json()["data"]["result"]
            scraped = float(up[0]["value"][1]) if up else 0.0
            # Replaced instances linger as targets until DNS-SD refreshes, looking up until their next scrape:
            # wait until Prometheus's app targets are exactly the running instances.
            settled = _settled(app_ips)
            recorded = not want_recorded or _has_series(RECORDED_ERROR_RATIO)
            if ready.status_code == 200 and scraped >= want_scraped and settled and recorded:
                return
            problem = (
                f"readyz {ready.status_code}, {scraped:.0f} app targets up, targets match the running instances: "
                f"{settled}, error ratio recorded: {recorded}"
            )
        except (requests.RequestException, ValueError, KeyError) as exc:
            problem = str(exc)[:200]
        time.sleep(1)
    raise TimeoutError(f"the lab is not serving after {timeout_s:.0f} s: {problem}")


RECORDED_ERROR_RATIO = "job:http_errors:ratio_rate1m"


def _has_series(query: str) -> bool:
    answer = requests.get(f"{PROMETHEUS_URL}/api/v1/query", params={"query": query}, timeout=HTTP_TIMEOUT).json()
    return bool(answer["data"]["result"])


def _settled(app_ips: set[str]) -> bool:
    """Prometheus's app targets are exactly these addresses, each scraped at least once (up or down)."""
    found = requests.get(f"{PROMETHEUS_URL}/api/v1/targets", params={"state": "active"}, timeout=HTTP_TIMEOUT).json()[
        "data"
    ]["activeTargets"]
    app = [t for t in found if t.get("labels", {}).get("job") == "app"]
    hosts = {str(t.get("labels", {}).get("instance", "")).rpartition(":")[0] for t in app}
    return hosts == app_ips and all(t.get("health", "unknown") != "unknown" for t in app)


def wait_monitored(app_ips: set[str], timeout_s: float = 20) -> bool:
    """Until Prometheus's app targets are exactly the running instances (a retired one dropped by its DNS
    discovery, a new one scraped once); False, after logging nothing, if that takes longer than `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if _settled(app_ips):
                return True
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.5)
    return False


def wait_switched(paths: Paths, hostnames: set[str], base: str = BASE_URL, timeout_s: float = 20) -> None:
    """Until Caddy answers from one of the new instances (their X-Instance-Id starts with the hostname)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            resp = requests.get(f"{base}/healthz", verify=str(paths.ca_cert), timeout=HTTP_TIMEOUT)
            if resp.headers.get("X-Instance-Id", "").split("-")[0] in hostnames:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"Caddy did not route to the new instances within {timeout_s:.0f} s")


def _toml_list(items: list[str]) -> str:
    # A JSON string is a valid TOML basic string, so paths with quotes or backslashes stay intact.
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def harness_command(*args: str) -> list[str]:
    """This very interpreter and package, so the commands work however harness was started (PATH or not)."""
    return [sys.executable, "-m", "harness", *args]


def write_config(paths: Paths, variant: str = "") -> None:
    """The harness.toml that points `harness verify` at this lab (a variant's differs only where it must)."""
    url = base_url(variant)
    # A variant's redeploys stay that variant (and in-place / no-db-volume redeploys are the breakage).
    redeploy = harness_command("lab", "redeploy", *(["--break", variant] if variant else []))
    docker_host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    text = f"""# Generated by `harness lab up`: the reference project deployed on the local Docker engine.
# Regenerated on every `lab up`; edit harness/lab/endpoints.py instead.

[project]
repo = "{paths.repo}"
name = "reference project (lab)"

[run]
# The lab deploys with the Docker SDK, not Pulumi: there is no Pulumi state to read here. The hosted
# stack's verification (deploy.yml) reads the exported state of the real `pulumi up`.
skip = ["live.pulumi-state"]

[repository]
# No advisory service is reachable offline: audit the pins against the project's dated snapshot.
advisory_file = "{paths.project / "security" / "advisories.json"}"

[live]
urls = ["{url}"]
ca_bundle = "{paths.ca_cert}"
metrics_url = "{url}/metrics"
prometheus_url = "{PROMETHEUS_URL}"
alertmanager_url = "{ALERTMANAGER_URL}"
docker_host = "{docker_host}"
docker_label = "{ROLE}=app"
# The DSN is in {paths.db_env} (mode 0600); `harness demo` loads it, or: set -a; . {paths.db_env}; set +a
database_dsn_env = "{DSN_ENV}"

[live.redeploy]
command = {_toml_list(redeploy)}
timeout_s = 300

[live.fault]
command = {_toml_list(harness_command("lab", "fault"))}
restore_command = {_toml_list(harness_command("lab", "restore"))}
alert = "AppInstancesBelowMinimum"
timeout_s = 300

[live.persistence]
expect = "{{token}}"

[live.persistence.write]
method = "POST"
path = "/api/tasks"
json = {{ title = "harness probe {{token}}" }}
expect_status = [201]

[live.persistence.read]
method = "GET"
path = "/api/tasks"
expect_status = [200]

[live.source_to_user]
remote = "{paths.remote}"
branch = "main"
# The lab's remote exists to be pushed to: a canary commit on its main is the point.
allow_protected = true
timeout_s = 300
poll_interval_s = 1.0
"""
    paths.config.write_text(text, encoding="utf-8")


def summary(paths: Paths) -> str:
    return "\n".join(
        [
            f"  app          {BASE_URL}/  (CA: {paths.ca_cert})",
            f"  http         http://127.0.0.1:{HTTP_PORT}/ (redirects to HTTPS)",
            f"  prometheus   {PROMETHEUS_URL}/consoles/index.html",
            f"  alertmanager {ALERTMANAGER_URL}/",
            f"  config       {paths.config}",
            f"  git remote   {paths.remote} (push to main deploys)",
            f"  python       {sys.executable}",
        ]
    )
