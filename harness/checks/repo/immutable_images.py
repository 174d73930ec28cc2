"""repo.immutable-images: deployment code refers to images by digest or an immutable tag.

An image is an immutable release unit whatever its tag, so `latest` (or an extra `latest` pushed
beside the commit tag) is a hygiene warning with advice, never an RP-1 failure: it only hides which
build runs. Change made in place on live servers is what fails RP-1 (repo.immutable-releases).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import inventory, pipelines
from harness.probes.repository import RepoSnapshot

ID = "repo.immutable-images"
SHOWN = 20

PIPELINES = re.compile(
    r"^(\.github/workflows/[^/]+\.ya?ml|\.gitlab-ci\.ya?ml|azure-pipelines[^/]*\.ya?ml|bitbucket-pipelines\.yml"
    r"|Jenkinsfile|\.circleci/config\.yml|.*\.gitlab-ci\.ya?ml)$"
)
LOCAL_COMPOSE = re.compile(r"(dev|local|test|override|ci)", re.I)
IMMUTABLE_VAR = re.compile(
    r"(sha|commit|version|digest|build_?id|buildid|build_?number|run_?number|run_?id|release)", re.I
)
SEMVER = re.compile(r"^v?\d+\.\d+\.\d+([-+.][\w.-]+)?$")
GIT_SHA = re.compile(r"^(sha-)?[0-9a-f]{7,40}$")
TEXT_IMAGE = re.compile(
    # image_name/imageName are the build tag of a Pulumi docker.Image, not what is deployed
    r"""(?i)\b(?:image|container_?image|imageUri|linux_?fx_?version|docker_?image(?:_?name)?)\b['"]?\s*[:=]\s*"""
    r"""f?["'`]([^"'`]+)["'`]"""
)
TEXT_DIGEST = re.compile(r"\b(repo_?digest|repoDigest|image_?digest|imageDigest)\b")
PIPELINE_REF = re.compile(
    r"(?:docker\s+push\s+|docker\s+(?:buildx\s+)?build\b.*?(?:-t|--tag)[=\s]+|kubectl\s+set\s+image\s+\S+\s+\w[\w-]*=)"
    r"""["']?((?:\$\{\{[^}]*\}\}|[^\s"'])+)"""
)
TAGS_KEY = re.compile(r"^(\s*)-?\s*tags\s*:\s*(.*)$")


@dataclass(frozen=True)
class Ref:
    path: str
    line: int
    image: str
    where: str  # compose, kubernetes, helm, iac, pipeline
    verdict: str  # digest, immutable, mutable, latest, unknown
    why: str


def classify(image: str) -> tuple[str, str]:
    image = image.strip().removeprefix("DOCKER|").removeprefix("docker|")
    if "@sha256:" in image:
        return "digest", "by digest"
    if image.startswith(("$", "{{", "#{")) and ":" not in image.split("}")[-1]:
        return "unknown", "the whole reference is a variable"
    ref = inventory.split_image(image)
    tag = ref.tag
    if tag is None:
        return "latest", "no tag (means latest)"
    if "$" in tag or "{{" in tag or "#{" in tag or "$(" in tag:
        default = re.search(r":-([^}]+)\}", tag)
        if default:
            return classify(f"{ref.name}:{default.group(1)}")
        if IMMUTABLE_VAR.search(tag):
            return "immutable", f"tag from a build variable ({tag})"
        return "unknown", f"tag from a variable that may not be immutable ({tag})"
    if tag.lower() == "latest":
        return "latest", "the latest tag"
    if SEMVER.match(tag) or GIT_SHA.match(tag) or re.search(r"(19|20)\d{6}", tag):
        return "immutable", f"immutable tag {tag}"
    return "mutable", f"tag {tag!r} can be moved to a new image"


def _walk_images(node: Any, out: list[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "image" and isinstance(v, str):
                out.append(v)
            else:
                _walk_images(v, out)
    elif isinstance(node, list):
        for v in node:
            _walk_images(v, out)


def _add(refs: list[Ref], path: str, text: str, image: str, where: str, line: int | None = None) -> None:
    verdict, why = classify(image)
    at = line or inventory.line_of(text, re.compile(re.escape(image)))
    refs.append(Ref(path, at, image, where, verdict, why))


def collect(ctx: Context, repo: RepoSnapshot) -> tuple[list[Ref], list[tuple[str, str]]]:
    refs: list[Ref] = []
    problems: list[tuple[str, str]] = []
    for c in inventory.compose_files(ctx, repo):
        if LOCAL_COMPOSE.search(re.sub(r"^(docker-)?compose", "", c.path.rsplit("/", 1)[-1].lower())):
            continue  # a development or test stack is not deployment
        if c.error:
            problems.append((c.path, c.error))
            continue
        for _name, svc in c.services.items():
            image = svc.get("image")
            if isinstance(image, str) and "build" not in svc:
                _add(refs, c.path, c.text, image, "compose")
    inv = inventory.iac(ctx, repo)
    for manifest in inv.of("kubernetes"):
        rf = repo.get(manifest.path)
        p = inventory.parsed(ctx, repo, rf) if rf is not None else None
        if p is None or p.error:
            continue
        images: list[str] = []
        _walk_images(p.docs, images)
        for image in images:
            _add(refs, manifest.path, p.text, image, "kubernetes")
    for chart in inv.of("helm"):
        folder = chart.path.rsplit("/", 1)[0] + "/" if "/" in chart.path else ""
        values = repo.get(folder + "values.yaml")
        p = inventory.parsed(ctx, repo, values) if values else None
        if p is None:
            continue
        if p.error:
            problems.append((p.path, p.error))
            continue
        for doc in p.docs:
            img = doc.get("image") if isinstance(doc, dict) else None
            if isinstance(img, dict) and img.get("repository"):
                tag = str(img.get("tag") or "")
                image = f"{img['repository']}@{img['digest']}" if img.get("digest") else f"{img['repository']}:{tag}"
                tag_line = inventory.line_of(p.text, re.compile(r"^\s*tag\s*:", re.M)) if tag else None
                if not tag:
                    refs.append(
                        Ref(
                            p.path,
                            inventory.line_of(p.text, "repository"),
                            image.rstrip(":"),
                            "helm",
                            "mutable",
                            "empty tag: falls back to the chart appVersion",
                        )
                    )
                else:
                    _add(refs, p.path, p.text, image, "helm", tag_line)
    code_like = {i.path for i in inv.hosted if i.kind not in ("kubernetes", "helm")}
    for f in repo.files:
        pipeline = bool(PIPELINES.match(f.path))
        if f.path not in code_like and not pipeline:
            continue
        text = repo.read_text(f.path)
        if text is None:
            continue
        tags_indent: int | None = None
        for number, line in enumerate(text.splitlines(), 1):
            if pipeline:
                tags_indent = _pipeline_tags(refs, f.path, text, number, line, tags_indent)
            if (digest := TEXT_DIGEST.search(line)) and not pipeline:
                refs.append(Ref(f.path, number, digest.group(0), "iac", "digest", "deploys the pushed image's digest"))
                continue
            m = (PIPELINE_REF.search(line) if pipeline else None) or (None if pipeline else TEXT_IMAGE.search(line))
            if m and m.group(1) and not m.group(1).startswith("-"):
                _add(refs, f.path, text, m.group(1), "pipeline" if pipeline else "iac", number)
    return refs, problems


def _undeployed(ctx: Context, refs: list[Ref]) -> list[Ref]:
    """Image tags a pipeline gives to what it builds when nothing deploys them: no lasting pipeline deploy (a
    test environment torn down in the same run is none), or the deploy naming them deploys nothing real."""
    model = pipelines.get(ctx)
    hollow = {(p.path, line) for p in model.pipelines for _, line, _ in pipelines.hollow_deploys(p)}
    deployed = any(pipelines.teardown_of(m) is None for p in model.pipelines for m in pipelines.classify(p, "deploy"))
    # Deployment code naming the same image (a manifest, IaC, compose) deploys it, whoever runs that code.
    named = {inventory.split_image(r.image).name for r in refs if r.where != "pipeline"}
    return [
        r
        for r in refs
        if r.where == "pipeline"
        and ((r.path, r.line) in hollow or (not deployed and inventory.split_image(r.image).name not in named))
    ]


def _pipeline_tags(refs: list[Ref], path: str, text: str, number: int, line: str, indent: int | None) -> int | None:
    """Image tags given to a build-and-push step (`tags: a:b,c:d` or a `tags: |` block); returns the block indent."""
    if indent is not None:
        if line.strip() and len(line) - len(line.lstrip()) > indent:
            for item in line.strip().lstrip("- ").split(","):
                if item.strip() and "=" not in item and ("/" in item or ":" in item):
                    _add(refs, path, text, item.strip(), "pipeline", number)
            return indent
        indent = None
    m = TAGS_KEY.match(line)
    if m is None:
        return indent
    value = m.group(2).strip()
    if value in ("|", ">", "|-", ">-", ""):
        return len(m.group(1))
    if not value.startswith(("[", "${{ steps.")) and "=" not in value and ("/" in value or ":" in value):
        for item in value.strip("'\"").split(","):
            _add(refs, path, text, item.strip(), "pipeline", number)
    return None


@check(
    ID,
    title="Deployments refer to images by digest or an immutable tag",
    failure_title="Deployments refer to images by `latest` or a movable tag",
    proves="What runs is exactly the image that was built and tested, so recycling a server never changes it (RP-1).",
    remediation=(
        "Tag images with the commit sha or a release version (or deploy by @sha256 digest, e.g. Pulumi's "
        "image.repo_digest) and never deploy `latest` or an untagged image."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    refs, problems = collect(ctx, repo)
    undeployed = _undeployed(ctx, refs)
    refs = [r for r in refs if r not in undeployed]

    def ev(r: Ref) -> Evidence:
        return inventory.evidence_at(
            repo,
            r.path,
            r.line,
            f"{r.path}:{r.line}: {r.where} image {r.image}: {r.why}",
            r.image,
            data={"verdict": r.verdict},
        )

    for path, why in problems:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"{path} could not be parsed: {why}",
            [inventory.evidence_at(repo, path, 1, why)],
            remediation=f"Fix the syntax of {path}.",
            subject=path,
        )
    bad = [r for r in refs if r.verdict == "latest"]
    floating = [r for r in refs if r.verdict == "mutable"]
    good = [r for r in refs if r.verdict in ("digest", "immutable")]
    if bad:
        extra = " beside immutable tags" if good else ""
        yield finding(
            ID,
            Outcome.WARN,
            f"{len(bad)} image reference(s) use `latest` or no tag{extra}: "
            + ", ".join(f"{r.path}:{r.line}" for r in bad[:8]),
            [ev(r) for r in bad[:SHOWN]],
            remediation="Deploy the commit-sha or release tag (or the digest) rather than `latest`, so that the "
            "running build is known and a rollback names an exact image; an extra `latest` tag is harmless only "
            "if nothing deploys it.",
        )
    if floating:
        yield finding(
            ID,
            Outcome.WARN,
            f"{len(floating)} image reference(s) use a movable tag: "
            + ", ".join(f"{r.path}:{r.line}" for r in floating[:8]),
            [ev(r) for r in floating[:SHOWN]],
            remediation="Use an exact release version, the commit sha or a digest instead of a movable tag.",
        )
    if good:
        yield finding(
            ID,
            Outcome.PASS,
            f"{len(good)} image reference(s) by digest or immutable tag",
            [ev(r) for r in good[:SHOWN]],
        )
    if undeployed and not good:
        yield finding(
            ID,
            Outcome.WARN,
            f"the pipeline tags {len(undeployed)} image(s) with a build tag, but nothing deploys them: a build tag "
            "is a release unit only when something deploys that image ("
            + ", ".join(f"{r.path}:{r.line}" for r in undeployed[:4])
            + ")",
            [ev(r) for r in undeployed[:SHOWN]],
            remediation="Deploy the image the pipeline tags (by that tag or its digest) from the pipeline, after "
            "the tests.",
        )
    if refs or problems or undeployed:
        return
    if not inventory.dockerfiles(ctx, repo) and not inventory.iac(ctx, repo).of("compose", "kubernetes", "helm"):
        yield finding(ID, Outcome.NOT_APPLICABLE, "no container images are built or deployed by this project")
        return
    # Everything was read and no reference names the image: a verdict with advice, not a could-not-check.
    yield finding(
        ID,
        Outcome.WARN,
        "images are built, but no deployment code or pipeline refers to them by tag or digest",
        remediation="Tag the image with the commit sha in the pipeline (docker build -t app:${GITHUB_SHA}) and "
        "deploy that tag or its digest.",
    )
