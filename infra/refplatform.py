"""The reference platform on a Docker host, declared with pulumi_docker.

Stacks: `local` (the local engine) and `hosted` (a remote engine through DOCKER_HOST=ssh://...).
Application containers are immutable: referenced by image digest, so a rebuilt image means new
containers; created before the old ones are deleted (pulumi_docker would delete first), which is
why they carry no fixed name and publish no port. Only the proxy publishes ports.
"""

from __future__ import annotations

import os

import pulumi
import pulumi_docker as docker
from topology import LABEL, NETWORK, REPO_ROOT, SERVICES, Service


def container_options(service: Service, depends_on: list[pulumi.Resource]) -> pulumi.ResourceOptions:
    """Replaceable services are created before the old instance is deleted; stateful ones are not."""
    return pulumi.ResourceOptions(
        delete_before_replace=not service.replaceable,
        depends_on=depends_on,
    )


def image_for(service: Service, cfg: pulumi.Config, git_sha: str) -> pulumi.Output[str]:
    """The image id/digest a container must run: never a mutable tag."""
    prebuilt = os.environ.get("APP_IMAGE", "")
    if service.name == "app" and cfg.get_bool("prebuilt_app_image") and prebuilt:
        remote = docker.RemoteImage("app-image", name=prebuilt, keep_locally=True)
        return remote.repo_digest
    image = docker.RemoteImage(
        f"{service.name}-image",
        name=f"refplatform-{service.name}:{git_sha}",
        build=docker.RemoteImageBuildArgs(
            context=str(REPO_ROOT / service.build_context),
            dockerfile=service.dockerfile,
            build_args={"GIT_SHA": git_sha},
            label={LABEL: "pulumi"},
        ),
        keep_locally=True,
    )
    return image.image_id


def deploy(cfg: pulumi.Config, git_sha: str) -> dict[str, pulumi.Output[str] | str]:
    stack = pulumi.get_stack()
    labels = [docker.ContainerLabelArgs(label=LABEL, value=f"pulumi-{stack}")]
    network = docker.Network(
        "network", name=f"{NETWORK}-{stack}", labels=[docker.NetworkLabelArgs(label=LABEL, value=stack)]
    )
    db_password = cfg.require_secret("db_password")
    bind = cfg.get("bind_address") or "127.0.0.1"
    replicas = cfg.get_int("replicas") or 2
    volumes = {
        name: docker.Volume(
            name, name=f"{name}-{stack}", opts=pulumi.ResourceOptions(retain_on_delete=True, protect=stack == "hosted")
        )
        for svc in SERVICES
        for name, _ in svc.volumes
    }
    outputs: dict[str, pulumi.Output[str] | str] = {}
    created: dict[str, list[docker.Container]] = {}
    for svc in SERVICES:
        image = image_for(svc, cfg, git_sha)
        count = replicas if svc.replaceable else svc.replicas
        env = [f"GIT_SHA={git_sha}"]
        if svc.name in ("app", "postgres"):
            env_out = db_password.apply(lambda pw, name=svc.name: _db_env(name, pw))
        else:
            env_out = pulumi.Output.from_input([])
        depends = created.get("postgres", []) if svc.name == "app" else created.get("app", [])
        created[svc.name] = []
        for i in range(count):
            created[svc.name].append(
                docker.Container(
                    f"{svc.name}-{i}" if count > 1 else svc.name,
                    # Replaceable containers get Pulumi's random-suffixed names so that old and new coexist.
                    name=None if svc.replaceable else f"{NETWORK}-{stack}-{svc.name}",
                    image=image,
                    envs=env_out.apply(lambda extra, base=env: base + extra),
                    read_only=svc.read_only,
                    tmpfs={path: "rw,nosuid,size=64m" for path in svc.tmpfs},
                    healthcheck=docker.ContainerHealthcheckArgs(
                        tests=list(svc.healthcheck), interval="5s", timeout="3s", retries=5, start_period="5s"
                    )
                    if svc.healthcheck
                    else None,
                    networks_advanced=[
                        docker.ContainerNetworksAdvancedArgs(name=network.name, aliases=list(svc.aliases))
                    ],
                    ports=[
                        docker.ContainerPortArgs(
                            internal=p.internal, external=cfg.get_int(p.external_setting) or p.default_external, ip=bind
                        )
                        for p in svc.ports
                    ],
                    volumes=[
                        docker.ContainerVolumeArgs(volume_name=volumes[name].name, container_path=path)
                        for name, path in svc.volumes
                    ],
                    labels=[*labels, docker.ContainerLabelArgs(label="com.harness.role", value=svc.name)],
                    restart="unless-stopped",
                    must_run=True,
                    wait=bool(svc.healthcheck),
                    wait_timeout=180,
                    opts=container_options(svc, depends),
                )
            )
    https_port = cfg.get_int("https_port") or 8443
    outputs["url"] = f"https://localhost:{https_port}" if bind == "127.0.0.1" else f"https://{bind}:{https_port}"
    outputs["app_containers"] = pulumi.Output.all(*[c.id for c in created["app"]]).apply(lambda ids: ",".join(ids))
    return outputs


def _db_env(service: str, password: str) -> list[str]:
    if service == "postgres":
        return ["POSTGRES_USER=taskapp", "POSTGRES_DB=taskapp", f"POSTGRES_PASSWORD={password}"]
    return [f"DATABASE_URL=postgresql://taskapp:{password}@postgres:5432/taskapp?sslmode=prefer"]
