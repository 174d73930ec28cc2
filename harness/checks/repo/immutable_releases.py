"""repo.immutable-releases: each release is a new immutable unit, not a change made in place on a live server.

RP-1 is about immutability. A new container image, a new serverless version, a new machine image
or replaced instances are immutable releases; ssh then `git pull` (or rsync/scp of the code) onto a
server, or configuration management changing live servers without replacing them, is change in
place and fails. Projects whose releases are container images are judged by repo.immutable-images
and repo.containers; this check says not applicable for them unless it sees change in place.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from harness.checks.base import check, finding
from harness.checks.repo.immutable_images import PIPELINES
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import inventory, pipelines
from harness.probes.repository import RepoFile, RepoSnapshot

ID = "repo.immutable-releases"
SHOWN = 8

# Where deployments are scripted: pipelines, shell scripts, task runners, Fabric.
_SCRIPT_NAMES = {"Makefile", "makefile", "justfile", "Procfile", "fabfile.py", "package.json", "Taskfile.yml"}
_SCRIPT_SUFFIXES = {".sh", ".bash", ".ps1"}
_SSH = re.compile(r"(\bssh\s+(-\S+\s+)*\S*@?[\w.${}-]+|\bsshpass\b|ssh-action|\bssh-deploy\b|\bfabric\b|Connection\()")
_REMOTE_GIT = re.compile(r"\bgit\s+(pull|fetch\b.*&&.*\b(reset|checkout|merge))\b")
_COPY_TO_HOST = re.compile(r"(\b(rsync|scp)\b[^\n]*@[^\n]*:|scp-action|rsync-deployments|ssh-deploy)")
# A push of a container image (a registry push, a build-and-push action, a remote build).
_IMAGE_PUSH = re.compile(
    r"(docker|podman|buildah|nerdctl|crane)\b.*\bpush\b|build-push-action|bake-action|push-to-registry|kaniko|executor"
    r"|az acr build|gcloud builds submit|Docker@",
    re.I,
)
_IMAGE_BUILD = re.compile(rf"{_IMAGE_PUSH.pattern}|(docker|podman|buildah)\b.*\bbuild\b", re.I)
# Something outside the pipeline that deploys new images: Argo CD, Flux, Watchtower, a platform's auto-deploy.
PULLS_NEW_IMAGES = re.compile(r"argoproj\.io/|fluxcd\.io/|containrrr/watchtower|\bautoDeploy\s*:\s*true|keel\.sh/")
# Copying a compose file or config to a host that then pulls and runs images is not the release itself.
_RUNS_IMAGES = re.compile(r"\bdocker(-|\s+)(compose\s+(pull|up)|pull|run|stack\s+deploy)\b")
_ANSIBLE_IN_PLACE = re.compile(
    r"^\s*-?\s*((ansible\.builtin\.)?git|(ansible\.posix\.)?synchronize|(ansible\.builtin\.)?unarchive)\s*:"
)
# Configuration management run against live servers (converging them in place).
_CM_RUN = re.compile(r"\b(knife\s+ssh|chef-client|puppet\s+(apply|agent)|salt\s+\S+\s+state\.(apply|highstate))\b")
_PACKER = re.compile(r"(\bpacker\s+build\b|^\s*source\s+\"amazon-ebs\"|\"builders\"\s*:)")
# New immutable units: serverless versions, machine images, replaced instances, platform releases.
_IMMUTABLE = re.compile(
    r"(\baws\s+lambda\s+(update-function-code|publish-version)\b|\bsam\s+deploy\b|\b(serverless|sls)\s+deploy\b"
    r"|AWS::Serverless::Function|AWS::Lambda::Version|AutoPublishAlias|\baws_lambda_function\b"
    r"|\blambda_?\.Function\(|\b_?lambda\.(Function|DockerImageFunction)\b|aws\.lambda_?\.Function\("
    r"|\bnew\s+(NodejsFunction|PythonFunction|GoFunction)\b|\b(NodejsFunction|PythonFunction)\("
    r"|azurerm_(linux_|windows_)?function_app\b|google_cloudfunctions2?_function|google_cloud_run_(v2_)?service"
    r"|\bgcloud\s+(run|functions|app)\s+deploy\b|\bfunc\s+azure\s+functionapp\s+publish\b"
    r"|\baz\s+functionapp\s+deployment\b|\bfirebase\s+deploy\b|\bvercel\b.*--prod|\bnetlify\s+deploy\b"
    r"|\bgit\s+push\s+heroku\b|\bheroku\s+container:release\b|\bfly(ctl)?\s+deploy\b"
    r"|\bpacker\s+build\b|instance_refresh|start-instance-refresh|create_before_destroy"
    r"|\baws_launch_template\b|google_compute_instance_template|\baz\s+vmss\s+(update-instances|rolling-upgrade)"
    r"|\bkubectl\s+(set\s+image|rollout\s+restart)|\bhelm\s+upgrade\b|update-service\b.*--force-new-deployment"
    r"|\baz\s+containerapp\s+update\b.*--image|\baz\s+webapp\s+config\s+container\s+set\b)"
)
_SERVERLESS_FILE = re.compile(r"^(.*/)?serverless\.ya?ml$")
# Content copied by configuration management into a live server's web root: the site changed in place.
_ANSIBLE_COPY = re.compile(r"^\s*-?\s*((ansible\.builtin\.)?(copy|template))\s*:")
_WEB_ROOT = re.compile(r"^\s*dest\s*:\s*['\"]?(/var/www|/usr/share/nginx/html|/srv/www|\S*(htdocs|public_html))")
# A container service that runs the image an IaC program builds: each deploy registers the new image and the
# platform replaces the tasks or revisions.
_CONTAINER_SERVICE = re.compile(
    r"(ecs\.(TaskDefinition|Service|FargateService|Ec2Service)\b|\bawsx\.ecs\.|aws_ecs_(task_definition|service)\b"
    r"|ApplicationLoadBalancedFargateService|FargateTaskDefinition|cloudrun|cloud_run|containerapp|ContainerApp\b"
    r"|apprunner|app_runner|azurerm_container_group|ContainerGroup\b|apps\.v1\.Deployment|kubernetes_deployment)"
)
# Images an IaC program builds (and pushes) itself: Pulumi's docker and docker-build providers, Terraform's
# kreuzwerker/docker resources, CDK image assets.
IAC_IMAGE = re.compile(
    r"""(pulumi_docker|docker_build|docker|dockerbuild)\.Image\s*\(|new\s+(docker|dockerbuild|docker_build)\.Image\s*\("""
    r"""|resource\s+"docker_(image|registry_image)"|DockerImageAsset\s*\(|ContainerImage\.from_?[Aa]sset\s*\("""
)
# `from pulumi_docker import Image` (or docker_build's), then a bare `Image(...)`.
IMPORTED_IMAGE = re.compile(r"^from\s+pulumi_docker(_build)?\s+import\s+[^\n]*\bImage\b", re.M)
BARE_IMAGE = re.compile(r"(?<![.\w])Image\s*\(")


def iac_image(text: str) -> re.Match[str] | None:
    """Where an IaC program builds an image (a docker provider's Image, an image asset), or None."""
    m = IAC_IMAGE.search(text)
    if m is None and IMPORTED_IMAGE.search(text):
        m = BARE_IMAGE.search(text)
    return m


# Code packages unpacked onto long-lived App Service instances (zip deploy): the site changed in place. An App
# Service running a container image is replaced by the new image and is not this.
_WEBAPP_TASK = re.compile(r"(?i)^(AzureRmWebAppDeployment|AzureWebApp)@|azure/webapps-deploy")
_WEBAPP_ZIP_RUN = re.compile(r"\baz\s+webapp\s+(deploy|deployment\s+source\s+config-zip|up)\b")
_AZD_DEPLOY = re.compile(r"\bazd\s+(deploy|up)\b")
_AZD_APPSERVICE = re.compile(r"^\s*host\s*:\s*appservice\b", re.M)
_IMAGE_INPUT = re.compile(r"(?i)^(images?|imageName|containers?|DockerNamespace|DockerRepository)$")
# Instances that fetch the code at boot: each new server runs whatever the branch head is then.
_USER_DATA_FILE = re.compile(r"""\buser_data\s*=\s*.*?\bfile\(\s*["'](?:\$\{path\.module\}/)?([^"'$]+)["']""")
_BOOT_CLONE = re.compile(r"\bgit\s+clone\b(?!.*\s(-b|--branch)\s+v?\d)")


@dataclass(frozen=True)
class Sign:
    path: str
    line: int
    text: str
    why: str


def _scripts(repo: RepoSnapshot) -> list[RepoFile]:
    return [
        f
        for f in repo.files
        if f.is_regular
        and not inventory.is_vendored(f.path)
        and (PIPELINES.match(f.path) or f.name in _SCRIPT_NAMES or f.suffix in _SCRIPT_SUFFIXES)
    ]


def _in_place(ctx: Context, repo: RepoSnapshot, packer: bool) -> list[Sign]:
    signs: list[Sign] = []
    for f, text in repo.texts(_scripts(repo)):
        lines = text.splitlines()
        ssh_lines = [n for n, line in enumerate(lines, 1) if _SSH.search(line)]
        for n, line in enumerate(lines, 1):
            if line.lstrip().startswith("#"):
                continue
            if _REMOTE_GIT.search(line) and ssh_lines and (_SSH.search(line) or any(s <= n for s in ssh_lines)):
                signs.append(Sign(f.path, n, line.strip(), "updates the code on a live server with git over ssh"))
            elif _COPY_TO_HOST.search(line) and not _RUNS_IMAGES.search(text):
                signs.append(Sign(f.path, n, line.strip(), "copies files onto a live server"))
            elif (m := _CM_RUN.search(line)) and not packer:
                why = f"configuration management changes live servers in place ({m.group(1)})"
                signs.append(Sign(f.path, n, line.strip(), why))
    signs += _boot_clone(ctx, repo) + _app_service_code(ctx, repo)
    if not packer:
        signs += ansible_in_place(ctx, repo)
    return signs


def ansible_in_place(ctx: Context, repo: RepoSnapshot) -> list[Sign]:
    """Playbook and role tasks that change live servers: a git checkout, synced or unpacked code, site content
    copied into a web root."""
    signs: list[Sign] = []
    playbooks = [i.path for i in inventory.iac(ctx, repo).of("ansible")]
    if not playbooks:
        return signs
    # Role task files sit wherever roles_path points, not only under roles/: any YAML under a tasks/ folder.
    tasks = [f.path for f in repo.files if f.suffix in (".yml", ".yaml") and "/tasks/" in f"/{f.path}"]
    for path in dict.fromkeys(playbooks + tasks):
        lines = (repo.read_text(path) or "").splitlines()
        for n, line in enumerate(lines, 1):
            if m := _ANSIBLE_IN_PLACE.match(line):
                why = f"configuration management changes live servers in place ({m.group(1)} task)"
                signs.append(Sign(path, n, line.strip(), why))
                break
            if (m := _ANSIBLE_COPY.match(line)) and any(_WEB_ROOT.match(x) for x in lines[n : n + 6]):
                why = f"configuration management copies the site into a live server's web root ({m.group(1)} task)"
                signs.append(Sign(path, n, line.strip(), why))
                break
    return signs


def _app_service_code(ctx: Context, repo: RepoSnapshot) -> list[Sign]:
    """Pipeline steps that deploy a code package onto App Service (zip deploy), not a container image."""
    appservice = bool(_AZD_APPSERVICE.search(repo.read_text("azure.yaml") or ""))
    why = "the code package is unpacked onto the same long-lived App Service instances (zip deploy): none is replaced"
    for pipe in pipelines.get(ctx).pipelines:
        for job in pipe.jobs:
            for step in job.steps:
                if _WEBAPP_TASK.search(step.uses) and not any(_IMAGE_INPUT.match(k) for k in step.inputs):
                    return [Sign(pipe.path, step.line, step.uses, why)]
                for cmd in step.commands:
                    if _WEBAPP_ZIP_RUN.search(cmd.text) or (appservice and _AZD_DEPLOY.search(cmd.text)):
                        return [Sign(pipe.path, cmd.line, cmd.text, why)]
    return []


def _boot_clone(ctx: Context, repo: RepoSnapshot) -> list[Sign]:
    """Terraform instances whose user data clones the code at boot: no versioned unit, a branch head."""
    signs: list[Sign] = []
    for tf in inventory.iac(ctx, repo).of("terraform"):
        text = repo.read_text(tf.path) or ""
        for m in _USER_DATA_FILE.finditer(text):
            path = posixpath.normpath(posixpath.join(posixpath.dirname(tf.path), m.group(1)))
            script = repo.read_text(path) or ""
            for n, line in enumerate(script.splitlines(), 1):
                if _BOOT_CLONE.search(line) and not line.lstrip().startswith("#"):
                    why = f"instances clone the code at boot (user_data in {tf.path}): a branch head, no versioned unit"
                    signs.append(Sign(path, n, line.strip(), why))
                    break
    return signs


def _immutable(ctx: Context, repo: RepoSnapshot) -> list[Sign]:
    signs: list[Sign] = []
    for f in repo.files:
        if _SERVERLESS_FILE.match(f.path) and not inventory.is_vendored(f.path):
            text = repo.read_text(f.path) or ""
            if re.search(r"^functions\s*:", text, re.M):
                if re.search(r"^\s*versionFunctions\s*:\s*false\b", text, re.M):
                    continue
                at = inventory.line_of(text, re.compile(r"^functions\s*:", re.M))
                signs.append(Sign(f.path, at, "functions:", "Serverless Framework: each deploy publishes new versions"))
    hosted = [i.path for i in inventory.iac(ctx, repo).hosted if i.kind != "ansible"]
    pool = _scripts(repo) + [g for p in hosted if (g := repo.get(p)) is not None]
    pool += [f for f in repo.files if f.path.endswith((".pkr.hcl", ".pkr.json")) or f.name == "template.yaml"]
    unique = list({f.path: f for f in pool}.values())
    hollow = {(p.path, line) for p in pipelines.get(ctx).pipelines for _, line, _ in pipelines.hollow_deploys(p)}
    for hit in inventory.grep(repo, unique, _IMMUTABLE, limit=40):
        if (hit.path, hit.line) in hollow:
            continue  # a deploy of a placeholder image or of manifests that are not there releases nothing
        m = _IMMUTABLE.search(hit.text)
        what = m.group(0) if m else hit.text.strip()
        signs.append(Sign(hit.path, hit.line, hit.text.strip(), f"a new immutable release unit: {what[:60]}"))
    return signs


def _iac_images(ctx: Context, repo: RepoSnapshot) -> list[Sign]:
    """An image the IaC program builds on each deploy and a container service in it that runs the image."""
    signs: list[Sign] = []
    for f in inventory.iac(ctx, repo).of("pulumi", "terraform", "cdk"):
        text = repo.read_text(f.path) or ""
        m = iac_image(text)
        service = _CONTAINER_SERVICE.search(text) if m else None
        if m and service:
            line = text.count("\n", 0, m.start()) + 1
            why = f"an image built by the infrastructure code on each deploy, run by {service.group(0)}"
            signs.append(Sign(f.path, line, m.group(0).strip(), why))
    return signs


def _image_releases(ctx: Context) -> list[Sign]:
    """An automatic pipeline pushing an image, and a deploy (which then replaces the running containers)."""
    model = pipelines.get(ctx)
    deploys = [m for p in model.pipelines for m in pipelines.classify(p, "deploy") if not pipelines.teardown_of(m)]
    pushes = [
        m
        for p in model.pipelines
        if pipelines.is_automatic(p)
        for m in pipelines.classify(p, "publish")
        if _IMAGE_PUSH.search(m.text) and not m.job.manual
    ]
    if not pushes or not deploys:
        return []
    push, deploy = pushes[0], deploys[0]
    return [
        Sign(push.pipeline.path, push.line, push.text, "the pipeline builds and pushes a new image for each release"),
        Sign(deploy.pipeline.path, deploy.line, deploy.text, "and the deploy replaces the running containers with it"),
    ]


def _test_environment_only(ctx: Context) -> Sign | None:
    """The first deploy when every deploy in the pipelines is torn down later in the same run, else None."""
    deploys = [m for p in pipelines.get(ctx).pipelines for m in pipelines.classify(p, "deploy")]
    undone = [(m, undo) for m in deploys if (undo := pipelines.teardown_of(m)) is not None]
    if not deploys or len(undone) < len(deploys):
        return None
    m, (text, line) = undone[0]
    return Sign(m.pipeline.path, m.line, m.text, f"is torn down by `{text[:60]}` (line {line}) in the same run")


def _undeployed_build(ctx: Context, repo: RepoSnapshot) -> Sign | None:
    """The image an automatic pipeline builds when no pipeline step deploys it (none at all, or only deploys
    of nothing real: absent manifests, a placeholder image), else None. A build tag alone is no release;
    a GitOps controller or an auto-deploying platform that pulls new images is a deploy outside the pipeline."""
    model = pipelines.get(ctx)
    if any(m for p in model.pipelines for m in pipelines.classify(p, "deploy")):
        return None
    hollow = [(p, *h) for p in model.pipelines for h in pipelines.hollow_deploys(p) if h[2]]
    if hollow:
        p, text, line, why = hollow[0]
        return Sign(p.path, line, text, f"deploys nothing real: it {why}; no release unit replaces what runs")
    configs = [
        f for f in repo.own_files if f.suffix in (".yaml", ".yml", ".json") and not inventory.is_vendored(f.path)
    ]
    if inventory.grep(repo, configs, PULLS_NEW_IMAGES, limit=1):
        return None
    for p in model.pipelines:
        if not pipelines.is_automatic(p):
            continue
        for m in pipelines.classify(p, "build") + pipelines.classify(p, "publish"):
            if _IMAGE_BUILD.search(m.text):
                why = "builds an image for each change, but no pipeline step deploys it"
                return Sign(m.pipeline.path, m.line, m.text, why + ": no release unit replaces what runs")
    return None


def _ev(repo: RepoSnapshot, s: Sign) -> Evidence:
    return inventory.evidence_at(repo, s.path, s.line, f"{s.path}:{s.line}: {s.why}", s.text)


@check(
    ID,
    title="Each release is a new immutable unit, not a change made in place",
    failure_title="Releases change live servers in place (ssh and git pull, copied files, configuration management)",
    proves=(
        "Every release is a new immutable unit (an image, a serverless version, a machine image, replaced "
        "instances), so servers can be recycled at will and nothing drifts (RP-1)."
    ),
    remediation=(
        "Release a new unit instead of changing servers: build an image tagged with the commit and replace the "
        "containers, publish a new serverless version, or bake a machine image (Packer) and replace the instances; "
        "do not ssh in to `git pull`, copy files, or run configuration management against live servers."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    packer = any(f.path.endswith((".pkr.hcl", ".pkr.json")) for f in repo.files) or bool(
        inventory.grep(repo, _scripts(repo), _PACKER, limit=1)
    )
    in_place = _in_place(ctx, repo, packer)
    immutable = _immutable(ctx, repo) + _iac_images(ctx, repo)
    if in_place:
        also = f" (immutable releases also found: {immutable[0].path}:{immutable[0].line})" if immutable else ""
        yield finding(
            ID,
            Outcome.FAIL,
            f"{len(in_place)} sign(s) of change in place: "
            + "; ".join(f"{s.path}:{s.line} {s.why}" for s in in_place[:4])
            + also,
            [_ev(repo, s) for s in in_place[:SHOWN]] + [_ev(repo, s) for s in immutable[:2]],
        )
        return
    if immutable:
        yield finding(
            ID,
            Outcome.PASS,
            f"releases are new immutable units: {immutable[0].why} ({immutable[0].path}:{immutable[0].line})"
            + (f" and {len(immutable) - 1} more sign(s)" if len(immutable) > 1 else ""),
            [_ev(repo, s) for s in immutable[:SHOWN]],
        )
        return
    hosted = inventory.iac(ctx, repo).hosted
    if inventory.dockerfiles(ctx, repo) or inventory.iac(ctx, repo).of("compose", "kubernetes", "helm"):
        # A `latest` tag or a root user is advice (repo.immutable-images, repo.containers), never the verdict here.
        released = _image_releases(ctx)
        throwaway = _test_environment_only(ctx)
        if throwaway is not None and not released:
            yield finding(
                ID,
                Outcome.FAIL,
                f"the pipeline's only deploy, `{throwaway.text[:100]}` ({throwaway.path}:{throwaway.line}), "
                f"{throwaway.why}: a throwaway test environment, so nothing stays deployed to recycle",
                [_ev(repo, throwaway)],
                remediation="Deploy each release to a lasting environment (with remote state, so that the next "
                "release replaces what the last one created); keep the teardown for test environments only.",
            )
            return
        undeployed = None if released or throwaway else _undeployed_build(ctx, repo)
        if undeployed is not None:
            yield finding(
                ID,
                Outcome.FAIL,
                f"`{undeployed.text[:100]}` ({undeployed.path}:{undeployed.line}) {undeployed.why}",
                [_ev(repo, undeployed)],
                remediation="Deploy the image the pipeline builds (by its commit tag or digest) so that each release "
                "replaces what runs; commit the manifests and use the registry the pipeline pushes to.",
            )
            return
        if released:
            push, deploy = released
            yield finding(
                ID,
                Outcome.PASS,
                f"each release is a new image: `{push.text[:100]}` ({push.path}:{push.line}) pushes it on every "
                f"change and `{deploy.text[:100]}` ({deploy.path}:{deploy.line}) replaces the running containers; "
                "no sign of change in place",
                [_ev(repo, s) for s in released],
            )
        else:
            yield finding(
                ID,
                Outcome.NOT_APPLICABLE,
                "releases are container images (judged by repo.immutable-images and repo.containers); "
                "no sign of change in place",
            )
        return
    if hosted:
        yield finding(
            ID,
            Outcome.WARN,
            "infrastructure code declares the platform, but nothing shows how a release replaces what runs "
            "(no image, serverless version, machine image or instance refresh)",
            [inventory.evidence_at(repo, i.path, i.line, f"{i.kind} infrastructure code") for i in hosted[:5]],
            remediation="Make each release a new unit: a container image tagged with the commit, a serverless "
            "version, or a machine image that replaces the instances.",
        )
        return
    yield finding(
        ID,
        Outcome.FAIL,
        "nothing in the repository builds or deploys a release unit (no image, serverless function, machine "
        "image, infrastructure code or deployment step)",
    )
