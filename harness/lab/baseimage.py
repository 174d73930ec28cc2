"""Bootstrap the Debian base image with debootstrap when no registry is reachable.

The Dockerfiles name a real Docker Hub tag (debian:bookworm-YYYYMMDD-slim); when that image is not in
the engine and cannot be pulled, the same name is built from Debian's own mirror, so the Dockerfiles
work unchanged online and offline.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker
import docker.errors

from harness.lab.settings import LAB, LABEL, ROLE

log = logging.getLogger(__name__)
DEBOOTSTRAP_TIMEOUT_S = 900
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY = "http://deb.debian.org/debian-security"
# Like Docker Hub's -slim images: no docs, man pages or translations, no cached packages or lists.
DPKG_EXCLUDES = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
"""
APT_CONF = """APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
"""


def host_mirrors() -> tuple[str, str]:
    """The mirrors apt on this machine uses (the one known to be reachable), else Debian's defaults."""
    main, security = DEFAULT_MIRROR, DEFAULT_SECURITY
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))]
    for path in sources:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split()
            uris = words[1:] if words[:1] == ["URIs:"] else words[1:2] if words[:1] == ["deb"] else []
            for uri in uris:
                if uri.rstrip("/").endswith("debian-security"):
                    security = uri.rstrip("/")
                elif uri.rstrip("/").endswith("/debian"):
                    main = uri.rstrip("/")
    return main, security


def exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def configure(rootfs: Path, mirror: str, security: str) -> None:
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {mirror} {SUITE} main\ndeb {mirror} {SUITE}-updates main\ndeb {security} {SUITE}-security main\n",
        encoding="utf-8",
    )
    (rootfs / "etc/apt/apt.conf.d/90harness-slim").write_text(APT_CONF, encoding="utf-8")
    (rootfs / "etc/dpkg/dpkg.cfg.d/90harness-slim").write_text(DPKG_EXCLUDES, encoding="utf-8")
    # Site CAs (e.g. a TLS-inspecting egress proxy) must be trusted inside builds, as on the host.
    local_cas = rootfs / "usr/local/share/ca-certificates"
    local_cas.mkdir(parents=True, exist_ok=True)
    for crt in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        shutil.copy2(crt, local_cas / crt.name)
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info"):
        target = rootfs / junk
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and child.name != "partial":
                    shutil.rmtree(child, ignore_errors=True)
                elif child.is_file():
                    child.unlink()


def bootstrap(client: docker.DockerClient, name: str, workdir: Path | None = None) -> str:
    """Build `name` from Debian with debootstrap and import it into the engine; returns the image id."""
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (apt-get install debootstrap)")
    mirror, security = host_mirrors()
    repository, _, tag = name.rpartition(":")
    with tempfile.TemporaryDirectory(prefix="harness-lab-base-", dir=workdir) as tmp:
        rootfs, tarball = Path(tmp) / "rootfs", Path(tmp) / "rootfs.tar"
        log.info("debootstrap %s from %s (about a minute)", SUITE, mirror)
        subprocess.run(
            ["debootstrap", "--variant=minbase", "--arch=amd64", SUITE, str(rootfs), mirror],
            check=True,
            capture_output=True,
            timeout=DEBOOTSTRAP_TIMEOUT_S,
        )
        configure(rootfs, mirror, security)
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."],
            check=True,
            capture_output=True,
            timeout=300,
        )
        changes = ['CMD ["bash"]', f"LABEL {LABEL}={LAB} {ROLE}=base"]
        client.api.import_image(src=str(tarball), repository=repository, tag=tag, changes=changes)
    return str(client.images.get(name).id)


def ensure(client: docker.DockerClient, name: str) -> bool:
    """Make sure the base image exists: pull it when a registry answers, else bootstrap it. True if created."""
    if exists(client, name):
        return False
    try:
        client.images.pull(name)
        return True
    except docker.errors.APIError as exc:
        log.info("cannot pull %s (%s): bootstrapping it from Debian", name, str(exc).splitlines()[0][:120])
    bootstrap(client, name)
    return True
