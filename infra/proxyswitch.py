"""Blue/green app slots behind a Caddy that is never reloaded, as the lab does (harness/lab/lab.py).

Caddy lists static upstreams, one network alias per app instance of each colour (`app-blue-1:8000` ...,
APP_UPSTREAMS), with active health checks on /readyz; an empty slot fails its lookup and is unused. (One alias
shared by a colour would be one upstream, and Caddy's kept-alive connection would pin it to one instance.)
`Slot` picks the colour new app containers join under: blue first, then the other colour each time the image
changes. `Drain`
runs once the new containers are healthy (`wait=True`): it gives Caddy's checks time to see them, then creates
the drain file in each container it held before, so their /readyz answers 503 while they keep serving, and
waits until Caddy has taken them out and requests in flight are done. Pulumi deletes the replaced containers
(stopped with a grace period) only at the end of the update, after that. A graceful `caddy reload` would close
every user's idle kept-alive connection, losing a request sent on one in that instant.
`docker exec` goes through the Docker CLI, which honours DOCKER_HOST (the hosted stack's ssh://).
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

COLOURS = ("blue", "green")
APP_PORT = 8000
DRAIN_FILE = "/tmp/draining"  # nosec B108 - in the app container's private tmpfs
HEALTH_INTERVAL_S = 1.0  # the Caddyfile's health_interval
SEEN_S = 3 * HEALTH_INTERVAL_S  # Caddy's checks have seen a change (a colour up, or draining)
IN_FLIGHT_S = 1.0
EXEC_TIMEOUT_S = 60


def colour_alias(shared: str, colour: str) -> str:
    return f"{shared}-{colour}"


def slot_alias(shared: str, colour: str, index: int) -> str:
    """The alias of a colour's instance `index` (from 0): one of Caddy's upstreams, as the lab's slot_alias."""
    return f"{colour_alias(shared, colour)}-{index + 1}"


def upstreams(shared: str, replicas: int) -> str:
    """Caddy's APP_UPSTREAMS: every instance slot of both colours."""
    return " ".join(f"{slot_alias(shared, c, i)}:{APP_PORT}" for c in COLOURS for i in range(replicas))


def drain_command(container: str) -> list[str]:
    return ["docker", "exec", container, "touch", DRAIN_FILE]


class _SlotProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_="app-slot", outs=props | {"colour": COLOURS[0]})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds.get("image") != news.get("image"), replaces=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        idle = COLOURS[1] if olds.get("colour") == COLOURS[0] else COLOURS[0]
        return UpdateResult(outs=news | {"colour": idle})


class Slot(Resource):
    """The colour the app containers of `image` serve in; it alternates when the image changes."""

    colour: pulumi.Output[str]

    def __init__(self, name: str, image: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(_SlotProvider(), name, {"image": image, "colour": None}, opts)


def drain(containers: list[str]) -> None:
    """Let Caddy see the new colour, drain `containers` (the old colour), wait until Caddy has taken them out."""
    if not containers:
        return
    time.sleep(SEEN_S)
    for container in containers:
        # A container already gone takes no traffic; any other failure leaves it to its graceful stop.
        subprocess.run(  # nosec B603 - a fixed argv, no shell
            drain_command(container), capture_output=True, timeout=EXEC_TIMEOUT_S, check=False
        )
    time.sleep(SEEN_S + IN_FLIGHT_S)


class _DrainProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_="app-drain", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds.get("containers") != news.get("containers"), replaces=[])

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        drain([c for c in olds.get("containers", []) if c not in news.get("containers", [])])
        return UpdateResult(outs=news)


class Drain(Resource):
    """Holds the app containers' ids; when they change, the ones it held before are drained."""

    def __init__(
        self, name: str, containers: pulumi.Input[list[str]], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(_DrainProvider(), name, {"containers": containers}, opts)
