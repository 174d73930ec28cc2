"""repo.pipeline-artefact: the pipeline builds an artefact and publishes it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.checks.repo import deploy_gate, pipeline_reading
from harness.checks.repo.immutable_releases import ansible_in_place, iac_image
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import inventory, pipelines
from harness.probes.repository import RepoSnapshot

ID = "repo.pipeline-artefact"
IAC_DEPLOY = re.compile(r"pulumi up|pulumi/actions|Pulumi@|(terraform|tofu|terragrunt) apply|TerraformTask|cdk deploy")


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
    rebuilt = _rebuilds_on_server(ctx, repo, deploy_gate.automatic_deploys(model))
    if rebuilt is not None:
        yield rebuilt
        if rebuilt.outcome is Outcome.FAIL:
            return
    builds = [m for p in model.pipelines for m in pipelines.classify(p, "build")]
    published = [m for p in model.pipelines for m in pipelines.classify(p, "publish")]
    kept = [j for p in model.pipelines for j in p.jobs if j.artifacts]
    if not builds and published:
        builds = published  # an uploaded archive, a released asset or a published package is itself the artefact
    if not builds:
        iac = _iac_built_image(ctx, repo, model)
        if iac is not None:
            yield iac
            return
        looked = ", ".join(p.path for p in model.pipelines)
        yield finding(ID, Outcome.FAIL, f"no build step (image, package, archive, synth) in {looked}")
        return
    automatic_builds = [m for m in builds if pipelines.is_automatic(m.pipeline) and not m.job.manual]
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
        pub = next((p for p in published if p.pipeline is build.pipeline), published[0])
        if pub is build:
            reason = f"`{pub.text[:160]}` at {pub.where}{pub.via} publishes an artefact (archive, package or image)"
        else:
            evidence.append(pipelines.evidence_at(repo, pub.pipeline.path, pub.line, f"{pub.where}: publishes it"))
            reason = (
                f"`{build.text[:160]}` at {build.where}{build.via} builds an artefact; "
                f"`{pub.text[:160]}` at {pub.where}{pub.via} publishes it"
            )
        yield finding(ID, Outcome.PASS, reason, evidence, subject=build.where)
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


ANSIBLE_RUN = re.compile(r"ansible-playbook\b")


def _rebuilds_on_server(ctx: Context, repo: RepoSnapshot, deploys: list[pipelines.Match]) -> Finding | None:
    """A FAIL when the only deploys run Ansible that checks the code out on the server and rebuilds it there:
    what runs is a branch head built in place, not the artefact the pipeline built and tested (a WARN when
    other deploys ship the artefact). The deploy itself is automated: repo.pipeline-deploy says so."""
    ansible = [m for m in deploys if ANSIBLE_RUN.match(m.text)]
    checkouts = [s for s in ansible_in_place(ctx, repo) if "git task" in s.why]
    if not ansible or not checkouts:
        return None
    m, sign = ansible[0], checkouts[0]
    outcome = Outcome.FAIL if len(ansible) == len(deploys) else Outcome.WARN
    return finding(
        ID,
        outcome,
        f"`{m.text[:120]}` at {m.where}{m.via} deploys by checking the code out on the server "
        f"({sign.path}:{sign.line}, `{sign.text[:60]}`) and building it there: the artefact the pipeline built "
        "is not what runs",
        [
            pipelines.evidence_at(repo, m.pipeline.path, m.line, f"{m.where}: Ansible deploy"),
            inventory.evidence_at(repo, sign.path, sign.line, f"{sign.path}:{sign.line}: {sign.why}", sign.text),
        ],
        remediation="Deploy the artefact the pipeline built: have the playbook pull and run the image tagged "
        "with the commit (or copy the built package), not clone the branch and build on the server.",
        subject=m.where,
    )


def _iac_built_image(ctx: Context, repo: RepoSnapshot, model: pipelines.Pipelines) -> Finding | None:
    """PASS when an automated IaC deploy (`pulumi up`, `terraform apply`, `cdk deploy`) builds the image itself."""
    deploys = [m for m in deploy_gate.automatic_deploys(model) if IAC_DEPLOY.search(m.text)]
    if not deploys:
        return None
    for f in inventory.iac(ctx, repo).of("pulumi", "terraform", "cdk"):
        text = repo.read_text(f.path) or ""
        m = iac_image(text)
        if m is None:
            continue
        line = text.count("\n", 0, m.start()) + 1
        d = deploys[0]
        return finding(
            ID,
            Outcome.PASS,
            f"`{d.text[:160]}` at {d.where}{d.via} runs the infrastructure code that builds and pushes the image "
            f"(`{m.group(0).strip()}` at {f.path}:{line})",
            [
                pipelines.evidence_at(repo, d.pipeline.path, d.line, f"{d.where}: IaC deploy"),
                pipelines.evidence_at(repo, f.path, line, f"{f.path}:{line}: image built by the IaC"),
            ],
            subject=d.where,
        )
    return None
