"""Build the lab's images with the Docker SDK: the app from reference_project/, the platform from its platform/."""

from __future__ import annotations

import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from harness.lab.settings import LAB, LABEL, ROLE, Paths

log = logging.getLogger(__name__)
BUILD_TIMEOUT_S = 900
PLATFORM = ("postgres", "caddy", "prometheus", "alertmanager", "node-exporter")


class BuildError(RuntimeError):
    """An image did not build; the message carries the builder's last output."""


@dataclass(frozen=True)
class ImageSpec:
    role: str
    context: Path
    dockerfile: str

    def repository(self) -> str:
        return f"{LAB}/{self.role}"


def app_spec(project: Path) -> ImageSpec:
    return ImageSpec("app", project, "Dockerfile")


def platform_specs(paths: Paths) -> list[ImageSpec]:
    return [ImageSpec(role, paths.platform, f"{role}.Dockerfile") for role in PLATFORM]


def build(client: docker.DockerClient, spec: ImageSpec, tag: str, buildargs: dict[str, str]) -> str:
    """Build one image (layers cached by the engine) and return its id."""
    started, deadline = time.monotonic(), time.monotonic() + BUILD_TIMEOUT_S
    ref = f"{spec.repository()}:{tag}"
    tail: list[str] = []
    stream = client.api.build(
        path=str(spec.context),
        dockerfile=spec.dockerfile,
        tag=ref,
        buildargs=buildargs,
        labels={LABEL: LAB, ROLE: spec.role},
        rm=True,
        forcerm=True,
        decode=True,
        timeout=BUILD_TIMEOUT_S,
    )
    for item in stream:
        if "error" in item:
            raise BuildError(f"{ref}: {item['error'].strip()}\n" + "".join(tail[-15:]))
        if "stream" in item:
            tail.append(item["stream"])
        if time.monotonic() > deadline:
            raise BuildError(f"{ref}: build took longer than {BUILD_TIMEOUT_S} s")
    image_id = str(client.images.get(ref).id)
    log.info("built %s (%s) in %.0f s", ref, image_id[7:19], time.monotonic() - started)
    return image_id


def build_all(
    client: docker.DockerClient, specs: list[ImageSpec], tag: str, buildargs: dict[str, str]
) -> dict[str, str]:
    """Build several images at once (their apt downloads overlap); returns role -> image id."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {s.role: pool.submit(build, client, s, tag, buildargs) for s in specs}
        return {role: f.result() for role, f in futures.items()}


def prune_app_images(client: docker.DockerClient, keep: set[str], max_kept: int = 3) -> None:
    """Drop old app images beyond the newest few (kept for rollback); never one in use."""
    images = client.images.list(filters={"label": [f"{LABEL}={LAB}", f"{ROLE}=app"]})
    images.sort(key=lambda i: i.attrs.get("Created", ""), reverse=True)
    for image in images[max_kept:]:
        if image.id is None or image.id in keep:
            continue
        # Still used by a container, or by another tag: keep it.
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image.id, force=False, noprune=False)
