"""repo.pipeline-deploy: the pipeline deploys to the hosted environment without manual steps.

Whether the deploy waits for the tests is CI-1's question, judged by repo.deploy-gate: a missing gate is
reported there, not here (it would otherwise fail CI-2 and AU-1 too).
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.checks.repo import deploy_gate, pipeline_reading
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import pipelines, repository

ID = "repo.pipeline-deploy"


@check(
    ID,
    title="The pipeline deploys automatically to a hosted environment",
    failure_title="Deploys are not automated",
    proves=(
        "A commit reaches the hosted service without manual steps (CI-2, AU-1): a pipeline step deploys it "
        "on push, on merge or after the tested build (the test gate itself is repo.deploy-gate, under CI-1)."
    ),
    remediation=(
        "Add a deploy step (e.g. `pulumi up`, `kubectl apply`, a platform's deploy action or deploy hook) to a "
        "pipeline triggered on push to the main branch, after the test job."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    if not repo.is_git or repo.head is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "not a git repository with commits: no committed pipeline to read")
        return
    model = pipelines.get(ctx)
    deploys = [m for p in model.pipelines for m in pipelines.classify(p, "deploy")]
    real = [m for m in deploys if pipelines.teardown_of(m) is None]
    if not real:
        if model.problems:
            yield pipeline_reading.unreadable(ID, repo, model, "no readable pipeline deploys; unreadable: ")
            return
        looked = ", ".join(p.path for p in model.pipelines) or "no pipeline is committed"
        if deploys:
            m = deploys[0]
            undo, line = pipelines.teardown_of(m) or ("", m.line)
            yield finding(
                ID,
                Outcome.FAIL,
                f"`{m.text[:160]}` at {m.where} stands up a test environment that `{undo[:80]}` (line {line}) tears "
                "down in the same pipeline: no deploy to a hosted environment is automated",
                [pipelines.evidence_at(repo, m.pipeline.path, m.line, f"{m.where}: test environment", line)],
            )
            return
        steps = [(p, step) for p in model.pipelines for job in p.jobs for step in job.steps]
        pushes_only = [(p, step, why) for p, step in steps if (why := pipelines.publish_only(step))]
        if pushes_only:
            p, step, why = pushes_only[0]
            yield finding(
                ID,
                Outcome.FAIL,
                f"the deploy step at {p.path}:{step.line} deploys nothing: {why}",
                [pipelines.evidence_at(repo, p.path, step.line, f"{p.path}:{step.line}: pushes, never releases")],
                remediation="Release what was pushed (e.g. `heroku container:release web`, a platform deploy "
                "command or deploy hook), so that the commit reaches users.",
                subject=f"{p.path}:{step.line}",
            )
            return
        hollow = deploy_gate.hollow_deploy(ID, repo, model, "{cmd} deploys nothing real")
        if hollow is not None:
            yield hollow
            return
        yield finding(ID, Outcome.FAIL, f"no automated deploy step found ({looked})")
        return
    automatic = [m for m in real if deploy_gate.deploy_triggers(m)]
    if not automatic:
        # A reusable workflow's own copy says less than a caller's: prefer the latter in the warning.
        m = sorted(real, key=lambda d: pipelines.reusable_only(d.pipeline))[0]
        how = (
            "is in a reusable workflow (`on: workflow_call` only) that no committed workflow calls automatically"
            if pipelines.reusable_only(m.pipeline)
            else "deploys only when someone starts it by hand"
        )
        yield finding(
            ID,
            Outcome.WARN,
            f"`{m.text[:160]}` at {m.where}{m.via} {how}",
            [pipelines.evidence_at(repo, m.pipeline.path, m.line, f"{m.where}: manual deploy")],
            remediation="Trigger the deploy automatically after the tests pass on the main branch.",
            subject=m.where,
        )
        return
    seen: set[tuple[str, int]] = set()
    for m in automatic:  # one finding per job (as its file defines it): a deploy of several lines is one deploy
        if (m.pipeline.path, m.job.line) in seen:
            continue
        seen.add((m.pipeline.path, m.job.line))
        on = ", ".join(deploy_gate.deploy_triggers(m))
        yield finding(
            ID,
            Outcome.PASS,
            f"`{m.text[:160]}` at {m.where}{m.via} deploys automatically (on {on}); whether it waits for the tests "
            f"is judged by {deploy_gate.ID}",
            [pipelines.evidence_at(repo, m.pipeline.path, m.line, f"{m.where}: automated deploy")],
            subject=m.where,
        )
