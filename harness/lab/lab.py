"""The lab's operations: up, redeploy (immutable, zero-downtime), fault/restore, status, down."""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import secrets as secretslib
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from harness.lab import baseimage, containers, endpoints, images
from harness.lab.bluegreen import STOP_TIMEOUT_S, ensure_apps, start_apps, switch_over
from harness.lab.containers import BACK, CADDY_VOLUME, FRONT, PG_VOLUME, PROM_VOLUME
from harness.lab.settings import (
    DSN_ENV,
    LAB,
    LABEL,
    POSTGRES_PORT,
    VARIANTS,
    Paths,
    base_image_name,
    role_variant,
)

log = logging.getLogger(__name__)
GIT_TIMEOUT_S = 60
LOCK_TIMEOUT_S = 900


@dataclass(frozen=True)
class Source:
    """What to deploy: a reference_project folder and the commit it came from."""

    project: Path
    commit: str


def client() -> docker.DockerClient:
    return docker.from_env(timeout=images.BUILD_TIMEOUT_S)


@contextmanager
def locked(paths: Paths) -> Iterator[None]:
    """One lab operation at a time (a push-triggered deploy may overlap a manual one)."""
    paths.state.mkdir(parents=True, exist_ok=True)
    with open(paths.lock, "w", encoding="utf-8") as fh:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another lab operation holds {paths.lock}") from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def git(paths: Paths, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(paths.repo), *args], check=True, capture_output=True, text=True, timeout=GIT_TIMEOUT_S
    )
    return out.stdout.strip()


def working_tree(paths: Paths) -> Source:
    """The checked-out reference project; its commit is HEAD, marked -dirty if the project has local edits."""
    head = git(paths, "rev-parse", "HEAD")
    dirty = git(paths, "status", "--porcelain", "--", "reference_project")
    return Source(paths.project, head + ("-dirty" if dirty else ""))


@contextmanager
def exported(git_dir: Path, commit: str) -> Iterator[Source]:
    """A pushed commit's reference_project, extracted with `git archive` into a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="harness-lab-src-") as tmp:
        archive = Path(tmp) / "src.tar"
        subprocess.run(
            ["git", "--git-dir", str(git_dir), "archive", "-o", str(archive), commit, "reference_project"],
            check=True,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
        )
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        full = subprocess.run(
            ["git", "--git-dir", str(git_dir), "rev-parse", commit],
            check=True,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
        ).stdout.strip()
        yield Source(Path(tmp) / "reference_project", full)


def load_secrets(paths: Paths) -> dict[str, str]:
    """Database passwords, generated once per lab and kept (mode 0600) in the git-ignored state folder."""
    if paths.secrets.exists():
        pairs = (line.split("=", 1) for line in paths.secrets.read_text(encoding="utf-8").splitlines() if "=" in line)
        return dict(pairs)
    values = {"POSTGRES_PASSWORD": secretslib.token_urlsafe(24), "APP_DB_PASSWORD": secretslib.token_urlsafe(24)}
    write_private(paths.secrets, values)
    return values


def write_private(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.writelines(f"{k}={v}\n" for k, v in values.items())


def load_db_env(paths: Paths) -> None:
    """Put the lab's database DSN in this process's environment (for live.db-tls), never on the command line."""
    if paths.secrets.exists():
        os.environ[DSN_ENV] = containers.app_dsn(load_secrets(paths), "127.0.0.1", POSTGRES_PORT)


def build_args(commit: str) -> dict[str, str]:
    return {"GIT_SHA": commit, "BUILD_TIME": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def ensure_networks_and_volumes(c: docker.DockerClient) -> None:
    for name in (FRONT, BACK):
        if not c.networks.list(names=[name]):
            # Caddy and Prometheus are only on the front network, so they cannot reach the database.
            # (Not `internal`: the database publishes a loopback port for the harness's TLS check.)
            c.networks.create(name, driver="bridge", labels={LABEL: LAB})
    for name in (PG_VOLUME, CADDY_VOLUME, PROM_VOLUME):
        try:
            c.volumes.get(name)
        except docker.errors.NotFound:
            c.volumes.create(name, labels={LABEL: LAB})


def ensure_platform(
    c: docker.DockerClient, role: str, image_id: str, secrets: dict[str, str], variant: str = ""
) -> Container:
    """Run the platform container from `image_id`, replacing one built from an older image or as another variant."""
    # Same image, variant and settings (secrets included, by digest): keep it. Otherwise replace it, so that a
    # checkout with other secrets sharing this engine never meets a database that rejects its password.
    wanted = containers.settings_digest(containers.platform_kwargs(role, secrets, variant)[1])
    for old in containers.find(c, role):
        if (
            containers.image_of(old) == image_id
            and old.status == "running"
            and containers.variant_of(old) == role_variant(variant, role)
            and old.labels.get(containers.SETTINGS_LABEL) == wanted
        ):
            return old
        # A variant's anonymous volumes (no-db-volume) go with it; a normal container has none.
        old.remove(force=True, v=bool(containers.variant_of(old)))
    network, kwargs = containers.platform_kwargs(role, secrets, variant)  # after the removal: it probes free ports
    kwargs["labels"] = {**kwargs["labels"], containers.SETTINGS_LABEL: wanted}
    return containers.run(c, image_id, network, [role], kwargs)


def rollout(c: docker.DockerClient, paths: Paths, source: Source, variant: str = "") -> dict[str, str]:
    """Immutable, zero-downtime: build, start new instances, wait until ready, switch traffic, retire the old."""
    started = time.monotonic()
    image_id = images.build(c, images.app_spec(source.project), source.commit[:12], build_args(source.commit))
    old = containers.find(c, "app")
    built = time.monotonic()
    if variant == "no-db-volume":
        recycle_database(c, load_secrets(paths))
    new = start_apps(c, image_id, source.commit, load_secrets(paths), variant)
    ready = time.monotonic()
    switch_over(c, paths, old, new, variant)
    # Done when monitoring sees the new instances only: a retired one still listed reads as a down target.
    if not endpoints.wait_monitored(containers.front_ips(containers.find(c, "app", all_states=False))):
        log.warning("Prometheus's app targets did not settle on the new instances within 20 s")
    switched = time.monotonic()
    log.info(
        "build %.1f s, new instances ready %.1f s, switched and old drained and retired %.1f s",
        built - started,
        ready - built,
        switched - ready,
    )
    images.prune_app_images(c, keep={image_id})
    log.info(
        "deployed %s (%s) as %s in %.0f s",
        source.commit[:12],
        image_id[7:19],
        ", ".join(str(n.name) for n in new),
        time.monotonic() - started,
    )
    return {"commit": source.commit, "image": image_id, "seconds": f"{time.monotonic() - started:.1f}"}


def recycle_database(c: docker.DockerClient, secrets: dict[str, str]) -> None:
    """The no-db-volume variant's redeploy also replaces the database container, and with it (a tmpfs) the data."""
    old = containers.find(c, "postgres")
    if not old:
        raise RuntimeError("no database container to recycle")
    image_id = containers.image_of(old[0])
    for container in old:
        container.remove(force=True, v=True)  # v: its anonymous data volume too
    network, kwargs = containers.platform_kwargs("postgres", secrets, "no-db-volume")
    containers.wait_healthy([containers.run(c, image_id, network, ["postgres"], kwargs)], timeout_s=120)


def in_place(c: docker.DockerClient, source: Source) -> dict[str, str]:
    """The in-place variant's "redeploy": rewrite the running instances' reported version, replacing nothing."""
    started = time.monotonic()
    running = containers.find(c, "app", all_states=False)
    if not running:
        raise RuntimeError("no running app instance to change in place")
    version = f"{source.commit}-inplace-{int(time.time())}"
    for container in running:
        code, out = container.exec_run(["sh", "-c", f'printf "%s" "{version}" > {containers.VERSION_FILE}'])
        if code != 0:
            assert isinstance(out, bytes)  # exec_run without stream=True returns the whole output
            raise RuntimeError(f"{container.name}: could not rewrite its version: {out.decode(errors='replace')}")
    log.info("changed %d running instance(s) in place to report %s", len(running), version)
    return {"commit": version, "image": containers.image_of(running[0]), "seconds": f"{time.monotonic() - started:.1f}"}


def check_variant(variant: str) -> None:
    if variant and variant not in VARIANTS:
        raise ValueError(f"unknown lab variant {variant!r} (one of {', '.join(VARIANTS)})")


def up(paths: Paths, variant: str = "") -> dict[str, str]:
    """Everything from whatever exists: base image, images, networks, volumes, containers; waits for health.

    `variant` deploys a deliberately broken lab (settings.VARIANT_ROLES); "" is the normal one."""
    check_variant(variant)
    started = time.monotonic()
    c = client()
    with locked(paths):
        source = working_tree(paths)
        if baseimage.ensure(c, base_image_name(paths.project / "Dockerfile")):
            log.info("base image ready after %.0f s", time.monotonic() - started)
        # Platform images carry the last commit that changed the platform, not HEAD: an unrelated commit
        # must not rebuild them and restart Prometheus and Caddy.
        platform_commit = git(paths, "log", "-1", "--format=%H", "--", "reference_project/platform") or source.commit
        built = images.build_all(c, images.platform_specs(paths), platform_commit[:12], {"GIT_SHA": platform_commit})
        built["app"] = images.build(c, images.app_spec(source.project), source.commit[:12], build_args(source.commit))
        secrets = load_secrets(paths)
        ensure_networks_and_volumes(c)
        db = ensure_platform(c, "postgres", built["postgres"], secrets, variant)
        platform = [ensure_platform(c, role, built[role], secrets) for role in ("alertmanager", "node-exporter")]
        containers.wait_healthy([db], timeout_s=120)
        # The proxy and monitoring of the asked variant before any app switch-over: new instances are switched
        # to through the Caddy users will reach (a plain-http one has no HTTPS listener to wait on, and the
        # normal one after it must not be waited on through the variant's).
        platform += [ensure_platform(c, role, built[role], secrets, variant) for role in ("prometheus", "caddy")]
        if variant != "plain-http":  # no TLS listener: the CA from the last normal lab stays as it is
            endpoints.write_ca(c, paths)
        ensure_apps(c, paths, built["app"], source.commit, secrets, variant)
        containers.wait_healthy(platform, timeout_s=120)  # plain-http's Caddy is healthy only with apps behind it
        running = containers.find(c, "app", all_states=False)
        endpoints.wait_serving(paths, containers.front_ips(running), timeout_s=120, variant=variant)
        endpoints.write_config(paths, variant)
        write_private(paths.db_env, {DSN_ENV: containers.app_dsn(secrets, "127.0.0.1", POSTGRES_PORT)})
    from harness.lab import remote

    remote.ensure(paths)
    return {"commit": source.commit, "seconds": f"{time.monotonic() - started:.1f}"}


def redeploy(paths: Paths, git_dir: Path | None = None, commit: str | None = None, variant: str = "") -> dict[str, str]:
    check_variant(variant)
    c = client()
    with locked(paths):
        if git_dir is not None and commit:
            with exported(git_dir, commit) as source:
                return in_place(c, source) if variant == "in-place" else rollout(c, paths, source, variant)
        source = working_tree(paths)
        return in_place(c, source) if variant == "in-place" else rollout(c, paths, source, variant)


def fault(paths: Paths) -> str:
    """Stop one running app instance (the alert test's fault); `restore` starts it again.

    Under the lab lock: a push-triggered deploy still retiring old instances would otherwise make the
    fault land on an instance that is going anyway."""
    c = client()
    with locked(paths):
        running = sorted(containers.find(c, "app", all_states=False), key=lambda x: str(x.name))
        if not running:
            raise RuntimeError("no running app instance to stop")
        victim = running[0]
        victim.stop(timeout=STOP_TIMEOUT_S)
    return str(victim.name)


def restore(paths: Paths) -> list[str]:
    c = client()
    with locked(paths):
        stopped = [x for x in containers.find(c, "app") if x.status != "running"]
        for container in stopped:
            container.start()  # it rejoins its networks, alias included
        containers.wait_healthy(stopped, timeout_s=120, ready=containers.answers_ready)
    return [str(x.name) for x in stopped]


def status(paths: Paths) -> list[dict[str, str]]:
    c = client()
    rows = []
    for container in sorted(containers.find(c), key=lambda x: str(x.name)):
        tags = c.images.get(containers.image_of(container)).tags if containers.image_of(container) else []
        rows.append(
            {
                "name": str(container.name),
                "role": container.labels.get("com.harness.lab.role", ""),
                "image": (tags[0] if tags else "") + f" ({containers.image_of(container)[7:19]})",
                "state": containers.health(container),
            }
        )
    return rows


def down(paths: Paths, volumes: bool = False, remove_images: bool = False) -> list[str]:
    """Remove everything labelled for the lab; the database volume (and its secrets) only with `volumes`."""
    c = client()
    removed = []
    with locked(paths):
        for container in containers.find(c):
            container.remove(force=True)
            removed.append(str(container.name))
        for net in c.networks.list(filters={"label": f"{LABEL}={LAB}"}):
            net.remove()
            removed.append(str(net.name))
        if volumes:
            for vol in c.volumes.list(filters={"label": f"{LABEL}={LAB}"}):
                vol.remove(force=True)
                removed.append(str(vol.name))
            paths.secrets.unlink(missing_ok=True)
            paths.db_env.unlink(missing_ok=True)
            paths.ca_cert.unlink(missing_ok=True)
        if remove_images:
            for image in c.images.list(filters={"label": f"{LABEL}={LAB}"}):
                if image.id is None:
                    continue
                try:
                    c.images.remove(image.id, force=True)
                    removed.append(image.short_id)
                except docker.errors.APIError:
                    pass
    return removed
