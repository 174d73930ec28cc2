"""repo.pipeline-artefact: the pipeline builds an artefact and publishes it."""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.checks.repo import pipeline_reading
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import pipelines

ID = "repo.pipeline-artefact"


@check(
    ID,
    title="The pipeline builds an artefact and publishes it",
    failure_title="The pipeline builds no artefact",
    proves=(
        "Each commit becomes a versioned artefact (image, package, synthesised stack) built by the pipeline, "
        "not on someone's laptop, and kept where the deploy can take it from (CI-2)."
    ),
    remediation=(
        "Add a build step to the pipeline (e.g. docker/build-push-action, `python -m build`, `npm pack`) and "
        "publish the result (push the image to a registry, upload the package or use actions/upload-artifact)."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    read = pipeline_reading.committed(ctx, ID, "no pipeline definition is committed, so nothing builds an artefact")
    if isinstance(read, Finding):
        yield read
        return
    repo, model = read
    builds = [m for p in model.pipelines for m in pipelines.classify(p, "build")]
    published = [m for p in model.pipelines for m in pipelines.classify(p, "publish")]
    kept = [j for p in model.pipelines for j in p.jobs if j.artifacts]
    automatic_builds = [m for m in builds if pipelines.is_automatic(m.pipeline) and not m.job.manual]
    if not builds:
        looked = ", ".join(p.path for p in model.pipelines)
        yield finding(ID, Outcome.FAIL, f"no build step (image, package, synth) in {looked}")
        return
    build = (automatic_builds or builds)[0]
    evidence = [pipelines.evidence_at(repo, build.pipeline.path, build.line, f"{build.where}: builds an artefact")]
    if not automatic_builds:
        yield finding(
            ID,
            Outcome.WARN,
            f"`{build.text[:160]}` at {build.where}{build.via} builds an artefact, but only when started by hand",
            evidence,
            remediation="Trigger the build on push to the main branch (or on tags).",
            subject=build.where,
        )
        return
    if published:
        pub = published[0]
        evidence.append(pipelines.evidence_at(repo, pub.pipeline.path, pub.line, f"{pub.where}: publishes it"))
        yield finding(
            ID,
            Outcome.PASS,
            f"`{build.text[:160]}` at {build.where}{build.via} builds an artefact; "
            f"`{pub.text[:160]}` at {pub.where}{pub.via} publishes it",
            evidence,
            subject=build.where,
        )
    elif kept:
        job = kept[0]
        yield finding(
            ID,
            Outcome.PASS,
            f"`{build.text[:160]}` at {build.where}{build.via} builds an artefact, kept as job artifacts of `{job.id}`",
            evidence,
            subject=build.where,
        )
    else:
        yield finding(
            ID,
            Outcome.WARN,
            f"`{build.text[:160]}` at {build.where}{build.via} builds an artefact but no step publishes or uploads it",
            evidence,
            remediation="Push the image to a registry or upload the build output (e.g. actions/upload-artifact).",
            subject=build.where,
        )
