"""Docker engine snapshots of the application's containers, and judging a redeploy from two of them.

The snapshot is plain data (so the judging is pure and unit-tested); the engine is
reached with the docker SDK, bounded by its client timeout.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, cast

from harness.model import Outcome


class DockerUnavailable(Exception):
    pass


@dataclass
class ContainerInfo:
    id: str
    name: str
    started_at: str
    config_image: str  # what the container was created from (tag or digest reference)
    image_id: str
    repo_digests: list[str] = field(default_factory=list)
    readonly_rootfs: bool = False
    diff: list[str] = field(default_factory=list)  # paths changed in the container's writable layer
    labels: dict[str, str] = field(default_factory=dict)
    image_labels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["diff"] = self.diff[:20]
        out.pop("labels")
        return out


def snapshot(docker_host: str, label: str, timeout: float = 20.0, with_diff: bool = True) -> list[ContainerInfo]:
    """The running containers carrying `label` (key or key=value), as seen by the engine now."""
    try:
        import docker
        from docker.errors import DockerException, NotFound
    except ImportError as exc:  # pragma: no cover - docker SDK is a dependency
        raise DockerUnavailable(f"the docker SDK is not installed: {exc}") from None
    try:
        client = docker.DockerClient(base_url=docker_host, timeout=max(1, int(timeout)))
        try:
            # Listed sparse, then inspected one by one: a container removed in between (a rollout retiring
            # it) is no longer running, not an engine failure.
            found = client.containers.list(filters={"label": label} if label else {}, sparse=True)
            out = []
            for c in found:
                try:
                    c.reload()
                    diff = [f"{d.get('Path')}" for d in (c.diff() or [])] if with_diff else []
                except NotFound:
                    continue
                a = c.attrs
                image: dict[str, Any] = {}
                with contextlib.suppress(DockerException):
                    image = client.images.get(a.get("Image", "")).attrs
                out.append(
                    ContainerInfo(
                        # Listed containers always carry the engine's Id and Name (types-docker allows None).
                        id=cast(str, c.id),
                        name=cast(str, c.name),
                        started_at=(a.get("State") or {}).get("StartedAt", ""),
                        config_image=(a.get("Config") or {}).get("Image", ""),
                        image_id=a.get("Image", ""),
                        repo_digests=list(image.get("RepoDigests") or []),
                        readonly_rootfs=bool((a.get("HostConfig") or {}).get("ReadonlyRootfs")),
                        diff=diff,
                        labels=dict((a.get("Config") or {}).get("Labels") or {}),
                        image_labels=dict(((image.get("Config") or {}).get("Labels")) or {}),
                    )
                )
            return out
        finally:
            client.close()
    except DockerException as exc:
        raise DockerUnavailable(f"the Docker engine at {docker_host} did not answer: {exc}") from None


def by_digest(c: ContainerInfo) -> tuple[Outcome, str]:
    """Is the container's image pinned to content (digest) rather than a movable tag?"""
    if "@sha256:" in c.config_image or c.config_image.startswith("sha256:"):
        return Outcome.PASS, f"{c.name} runs {c.config_image} (by digest)"
    if c.repo_digests:
        return (
            Outcome.WARN,
            f"{c.name} was created from the tag {c.config_image}; its image has the digest "
            f"{c.repo_digests[0]} but the tag could move: deploy by digest",
        )
    return Outcome.FAIL, f"{c.name} runs {c.config_image}: a tag with no registry digest (built in place?)"


def judge_replacement(before: list[ContainerInfo], after: list[ContainerInfo]) -> list[tuple[Outcome, str]]:
    """Replaced (new ids) is the goal; the same id restarted or untouched means nothing was replaced."""
    if not before or not after:
        side = "before" if not before else "after"
        return [(Outcome.COULD_NOT_CHECK, f"no labelled container was running {side} the redeploy")]
    old = {c.id: c for c in before}
    out: list[tuple[Outcome, str]] = []
    for c in after:
        prev = old.get(c.id)
        if prev is None:
            continue
        if prev.started_at != c.started_at:
            out.append((Outcome.FAIL, f"{c.name} ({c.id[:12]}) was restarted, not replaced (StartedAt changed)"))
        else:
            out.append((Outcome.FAIL, f"{c.name} ({c.id[:12]}) kept running through the redeploy: not replaced"))
    if not out:
        out.append(
            (
                Outcome.PASS,
                f"every container was replaced: {', '.join(c.id[:12] for c in before)} -> "
                f"{', '.join(c.id[:12] for c in after)}",
            )
        )
    return out


def judge_hardening(after: list[ContainerInfo]) -> list[tuple[Outcome, str]]:
    """Read-only root filesystem and an empty `docker diff`: nothing can be (or was) changed inside."""
    out: list[tuple[Outcome, str]] = []
    for c in after:
        if not c.readonly_rootfs:
            out.append((Outcome.WARN, f"{c.name}: root filesystem is writable (set read_only / ReadonlyRootfs)"))
        if c.diff:
            shown = ", ".join(c.diff[:5]) + (" …" if len(c.diff) > 5 else "")
            out.append((Outcome.WARN, f"{c.name}: {len(c.diff)} path(s) changed inside the container: {shown}"))
    if not out and after:
        out.append((Outcome.PASS, "every container has a read-only root filesystem and an empty `docker diff`"))
    return out
