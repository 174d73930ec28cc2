"""Switch Caddy to one deploy's app instances by a graceful reload, as the lab does (harness/lab/endpoints.py).

Every app container carries the shared alias and a per-deploy alias named after its image. Once the new
containers are healthy, Caddy is reloaded with APP_UPSTREAM set to the new alias: requests in flight finish on
the old configuration, new ones go only to the new instances, and Pulumi deletes the replaced containers
(stopped with a grace period) only at the end of the update. Relying on the shared alias alone lets Caddy dial
an instance that has just gone (its upstream list is refreshed each second) and retry a write without its body.
The reload runs `docker exec` through the Docker CLI, which honours DOCKER_HOST (the hosted stack's ssh://).
"""

from __future__ import annotations

import hashlib
import subprocess
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

CADDYFILE = "/etc/caddy/Caddyfile"  # where caddy.Dockerfile puts it
RELOAD_TIMEOUT_S = 120


def deploy_alias(shared: str, image: str) -> str:
    """A DNS-safe alias naming only the containers of one app image."""
    return f"{shared}-{hashlib.sha256(image.encode()).hexdigest()[:12]}"


def reload_command(container: str, upstream: str) -> list[str]:
    # `caddy reload` adapts the Caddyfile in the exec'd process, so its environment picks the upstream name.
    return [
        "docker",
        "exec",
        "-e",
        f"APP_UPSTREAM={upstream}",
        container,
        *("caddy", "reload", "--config", CADDYFILE, "--adapter", "caddyfile"),
    ]


def _reload(props: dict[str, Any]) -> None:
    done = subprocess.run(  # nosec B603 - a fixed argv, no shell
        reload_command(str(props["container"]), str(props["upstream"])),
        capture_output=True,
        text=True,
        timeout=RELOAD_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"Caddy did not reload onto {props['upstream']}: {done.stderr[-500:]}")


class _Provider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        _reload(props)
        return CreateResult(id_=f"{props['container']}/upstream", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = any(olds.get(k) != news.get(k) for k in ("container", "upstream"))
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _reload(news)
        return UpdateResult(outs=news)


class ProxyUpstream(Resource):
    """Caddy routes to `upstream` (a network alias); changing it reloads Caddy gracefully."""

    def __init__(
        self,
        name: str,
        container: pulumi.Input[str],
        upstream: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(_Provider(), name, {"container": container, "upstream": upstream}, opts)
