"""The reference platform on a Docker host, declared with pulumi_docker from topology.py.

Stacks: `local` (the local engine) and `hosted` (a remote engine through DOCKER_HOST=ssh://...).
Application containers are immutable: they run an image by digest, so a rebuilt image means new
containers; they are created before the old ones are deleted (pulumi_docker would delete first),
which is why they carry no fixed name and publish no port. Only the proxy publishes ports.
"""

from __future__ import annotations

import os

import pulumi
import pulumi_docker as docker
from proxyswitch import DRAIN_FILE, Drain, Slot, colour_alias, slot_alias, upstreams
from topology import APP_ALIAS, BACK, FRONT, LABEL, REPO_ROOT, ROLE, SERVICES, Service

STOP_GRACE_S = 25  # above the app server's graceful timeout (server.py: 20 s), as the lab's stop timeout
PROBE_INTERVAL = "10s"  # each probe is a `docker exec` (~27 ms CPU): every 2 s it cost 1.4 % of a core per instance


def container_options(service: Service, depends_on: list[pulumi.Resource]) -> pulumi.ResourceOptions:
    """Replaceable services are created before the old instance is deleted; stateful ones are not."""
    return pulumi.ResourceOptions(delete_before_replace=not service.replaceable, depends_on=depends_on)


def image_for(service: Service, cfg: pulumi.Config, git_sha: str) -> pulumi.Output[str]:
    """The image id or digest a container must run: never a mutable tag."""
    prebuilt = os.environ.get("APP_IMAGE", "")
    if service.role == "app" and cfg.get_bool("prebuilt_app_image") and prebuilt:
        return docker.RemoteImage("app-image", name=prebuilt, keep_locally=True).repo_digest
    image = docker.RemoteImage(
        f"{service.role}-image",
        name=f"refplatform/{service.role}:{git_sha}",
        build=docker.RemoteImageBuildArgs(
            context=str(REPO_ROOT / service.build_context),
            dockerfile=service.dockerfile,
            build_args={"GIT_SHA": git_sha},
            label={LABEL: "pulumi"},
        ),
        keep_locally=True,
    )
    return image.image_id


def environment(
    role: str, image: pulumi.Output[str], secrets: dict[str, pulumi.Output[str]], https_port: int, replicas: int
) -> pulumi.Output:
    """Each service's settings; passwords stay Pulumi secrets (encrypted in the state)."""
    if role == "postgres":
        return pulumi.Output.all(secrets["postgres_password"], secrets["app_db_password"]).apply(
            lambda pw: [
                f"POSTGRES_PASSWORD={pw[0]}",
                "APP_DB_NAME=taskapp",
                "APP_DB_USER=taskapp",
                f"APP_DB_PASSWORD={pw[1]}",
            ]
        )
    if role == "app":
        return pulumi.Output.all(secrets["app_db_password"], image).apply(
            lambda v: [
                f"DATABASE_URL=postgresql://taskapp:{v[0]}@postgres:5432/taskapp?sslmode=require",
                f"IMAGE_DIGEST={v[1]}",
                "FEATURE_DUE_DATES=true",
                f"DRAIN_FILE={DRAIN_FILE}",  # while it exists /readyz answers 503: Caddy stops routing here
            ]
        )
    if role == "caddy":
        # Caddy builds its HTTP-to-HTTPS redirects with the port users actually reach.
        # Its upstreams: one slot per app instance of each colour (proxyswitch.py), however many replicas.
        return pulumi.Output.from_input(
            [f"PUBLIC_HTTPS_PORT={https_port}", f"APP_UPSTREAMS={upstreams(APP_ALIAS, replicas)}"]
        )
    return pulumi.Output.from_input([])


def aliases(service: Service, slot: Slot | None, index: int) -> pulumi.Input[list[str]]:
    """An app instance's: the shared alias (Prometheus), its colour's, and its slot (one of Caddy's upstreams)."""
    if slot is None:
        return list(service.aliases)
    return slot.colour.apply(
        lambda colour: [APP_ALIAS, colour_alias(APP_ALIAS, colour), slot_alias(APP_ALIAS, colour, index)]
    )


def deploy(cfg: pulumi.Config, git_sha: str) -> dict[str, pulumi.Output[str] | str]:
    stack = pulumi.get_stack()
    networks = {
        name: docker.Network(
            f"{name}-network",
            name=f"refplatform-{stack}-{name}",
            labels=[docker.NetworkLabelArgs(label=LABEL, value=stack)],
        )
        for name in (FRONT, BACK)
    }
    volumes = {
        name: docker.Volume(
            name,
            name=f"refplatform-{stack}-{name}",
            # Data outlives every container, and a hosted stack's volume cannot be deleted by accident.
            opts=pulumi.ResourceOptions(retain_on_delete=True, protect=stack == "hosted"),
        )
        for svc in SERVICES
        for name, _ in svc.volumes
    }
    secrets = {key: cfg.require_secret(key) for key in ("postgres_password", "app_db_password")}
    bind = cfg.get("bind_address") or "127.0.0.1"
    replicas = cfg.get_int("replicas") or 2
    https_port = cfg.get_int("https_port") or 8443
    created: dict[str, list[docker.Container]] = {}
    for svc in SERVICES:
        image = image_for(svc, cfg, git_sha)
        count = replicas if svc.replaceable else svc.replicas
        slot = Slot("app-slot", image) if svc.role == "app" else None
        depends = created.get("postgres", []) if svc.role == "app" else created.get("app", [])
        created[svc.role] = [
            docker.Container(
                f"{svc.role}-{i}" if count > 1 else svc.role,
                # Replaceable containers get Pulumi's random-suffixed names so that old and new coexist.
                name=None if svc.replaceable else f"refplatform-{stack}-{svc.role}",
                image=image,
                envs=environment(svc.role, image, secrets, https_port, replicas),
                read_only=svc.read_only,
                tmpfs={path: "rw,nosuid,nodev,size=64m" for path in svc.tmpfs},
                security_opts=["no-new-privileges:true"],
                capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"]),
                healthcheck=docker.ContainerHealthcheckArgs(
                    tests=list(svc.healthcheck), interval=PROBE_INTERVAL, timeout="2s", retries=3, start_period="30s"
                )
                if svc.healthcheck
                else None,  # the image's own HEALTHCHECK
                networks_advanced=[
                    docker.ContainerNetworksAdvancedArgs(name=networks[n].name, aliases=aliases(svc, slot, i))
                    for n in svc.networks
                ],
                ports=[
                    docker.ContainerPortArgs(
                        internal=p.internal, external=cfg.get_int(p.external_setting) or p.default_external, ip=bind
                    )
                    for p in svc.public_ports
                ],
                volumes=[
                    docker.ContainerVolumeArgs(volume_name=volumes[name].name, container_path=path)
                    for name, path in svc.volumes
                ]
                + [
                    docker.ContainerVolumeArgs(host_path=host, container_path=path, read_only=True)
                    for host, path in svc.host_mounts
                ],
                labels=[
                    docker.ContainerLabelArgs(label=LABEL, value=f"pulumi-{stack}"),
                    docker.ContainerLabelArgs(label=ROLE, value=svc.role),
                ],
                # Stop (SIGTERM, in-flight requests finish) before removing: without it the provider removes a
                # replaced container by force, killing the requests it is serving.
                destroy_grace_seconds=STOP_GRACE_S,
                restart="unless-stopped",
                must_run=True,
                wait=True,  # created means healthy: a replacement is healthy before the old one goes
                wait_timeout=180,
                opts=container_options(svc, depends),
            )
            for i in range(count)
        ]
    # Healthy new instances first (wait=True), then the old colour drained out of Caddy's rotation; Pulumi
    # deletes the replaced containers at the end of the update, so they are stopped only after that.
    Drain(
        "app-drain",
        containers=pulumi.Output.all(*[c.id for c in created["app"]]),
        opts=pulumi.ResourceOptions(depends_on=[*created["app"], *created["caddy"]]),
    )
    host = "localhost" if bind == "127.0.0.1" else bind
    return {
        "url": f"https://{host}:{https_port}",
        "app_containers": pulumi.Output.all(*[c.id for c in created["app"]]).apply(lambda ids: ",".join(ids)),
    }
