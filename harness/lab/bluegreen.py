"""Blue/green app instances behind a Caddy that is never reloaded: start, switch over, drain, retire."""

from __future__ import annotations

import contextlib
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker
import docker.errors
from docker.models.containers import Container

from harness.lab import containers, endpoints
from harness.lab.containers import BACK, FRONT
from harness.lab.settings import (
    APP_ALIAS,
    APP_COLOURS,
    LAB,
    Paths,
    app_instances,
    colour_alias,
    role_variant,
    slot_alias,
)

HEALTH_INTERVAL_S = 1.0  # the Caddyfile's health_interval
# A draining colour is marked down at Caddy's next active check; three intervals leave room for a slow one.
MARKED_DOWN_S = 3 * HEALTH_INTERVAL_S
IN_FLIGHT_S = 1.0  # requests Caddy sent to the old colour before it was marked down finish
STOP_TIMEOUT_S = 25  # above the app server's graceful timeout (server.py: 20 s)


def app_name(commit: str) -> str:
    return f"{LAB}-app-{commit[:8]}-{uuid.uuid4().hex[:4]}"


def start_apps(
    c: docker.DockerClient, image_id: str, commit: str, secrets: dict[str, str], variant: str = ""
) -> list[Container]:
    """New app instances on the back network only (they reach the database, no user reaches them), ready."""
    new = [
        containers.run(
            c, image_id, BACK, [], containers.app_kwargs(app_name(commit), image_id, commit, secrets, variant)
        )
        for _ in range(app_instances(variant))
    ]
    try:
        containers.wait_healthy(new, timeout_s=120, ready=containers.answers_ready)
    except containers.HealthError:
        for bad in new:
            bad.remove(force=True)
        raise
    return new


def promote(c: docker.DockerClient, new: list[Container], colour: str) -> None:
    """Join the front network under the shared alias (Prometheus's discovery), the colour's (which colour
    serves) and each instance's slot in it (one of Caddy's static upstreams): Caddy's active health checks find
    them within an interval."""
    front = c.networks.get(FRONT)
    for index, container in enumerate(new):
        front.connect(container, aliases=[APP_ALIAS, colour_alias(colour), slot_alias(colour, index)])


def idle_colour(old: list[Container]) -> str:
    """The slot the running instances do not use (blue when none has a colour)."""
    used = {containers.colour_of(o) for o in old}
    return APP_COLOURS[1] if APP_COLOURS[0] in used else APP_COLOURS[0]


def caddy_running(c: docker.DockerClient) -> bool:
    try:
        return c.containers.get(f"{LAB}-caddy").status == "running"
    except docker.errors.NotFound:
        return False


def switch_over(c: docker.DockerClient, paths: Paths, old: list[Container], new: list[Container], variant: str) -> None:
    """New in before old out, and Caddy is never reloaded (a reload closes every user's idle kept-alive
    connection, and a request sent on one in that instant is lost): the new instances join under the idle
    colour, Caddy's checks find them healthy, the old instances' /readyz turns 503 while they keep serving,
    Caddy's checks take them out, requests already sent to them finish, and only then are they stopped."""
    colour = idle_colour(old)
    # Both colours in use (an interrupted switch-over): empty the one the new instances take first, so that no
    # slot they join still names an old instance (Caddy's kept-alive connection to it would stay there).
    if new and (clash := [o for o in old if containers.colour_of(o) == colour]):
        switch_over(c, paths, clash, [], variant)
        old = [o for o in old if o not in clash]
    promote(c, new, colour)
    if old and caddy_running(c):
        if new:
            hostnames = {str(n.attrs["Config"]["Hostname"]) for n in new}
            endpoints.wait_switched(paths, hostnames, endpoints.base_url(variant))
        for container in old:
            containers.drain(container)
        time.sleep(MARKED_DOWN_S + IN_FLIGHT_S)
    retire(old)


def retire(old: list[Container]) -> None:
    """Stop old instances gracefully (the app server finishes in-flight requests), all at once, then remove them."""

    def one(container: Container) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            container.stop(timeout=STOP_TIMEOUT_S)
            container.remove(force=True)

    with ThreadPoolExecutor(max_workers=max(1, len(old))) as pool:
        list(pool.map(one, old))


def ensure_apps(
    c: docker.DockerClient, paths: Paths, image_id: str, commit: str, secrets: dict[str, str], variant: str
) -> None:
    """The variant's instances, running in one colour; any other app container (another image or variant, the
    other colour, stopped, from before blue/green) is drained and retired, so Caddy routes to exactly these."""
    everything = containers.find(c, "app")
    kept = [
        a
        for a in everything
        if a.status == "running"
        and containers.image_of(a) == image_id
        and containers.variant_of(a) == role_variant(variant, "app")
        and containers.colour_of(a)  # instances from before per-instance slots are not in Caddy's upstreams
    ]
    if len(kept) == app_instances(variant) and len({containers.colour_of(a) for a in kept}) == 1:
        if stale := [a for a in everything if a not in kept]:
            switch_over(c, paths, stale, [], variant)
        return
    switch_over(c, paths, everything, start_apps(c, image_id, commit, secrets, variant), variant)
