"""repo.pipeline-deploy: the pipeline deploys automatically, and only after the tests passed."""

from __future__ import annotations

import re
from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.checks.repo import pipeline_reading
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import pipelines, repository
from harness.probes.pipelines import Job, Match, Pipeline, Pipelines

ID = "repo.pipeline-deploy"
SUCCESS_CONDITION = re.compile(r"workflow_run\.conclusion\s*==\s*['\"]success['\"]")


@check(
    ID,
    title="The pipeline deploys automatically, and only after the tests passed",
    failure_title="Deploys are not automated, or run without a passing test gate",
    proves=(
        "A commit reaches the hosted service without manual steps (CI-2, AU-1), and a commit whose tests fail "
        "never does: the deploy depends on the test job."
    ),
    remediation=(
        "Run the deploy in a job that `needs:` the test job (GitLab: a later stage), or in a workflow triggered by "
        "`workflow_run` of the test workflow with `if: github.event.workflow_run.conclusion == 'success'`."
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
    if not deploys:
        if model.problems:
            yield pipeline_reading.unreadable(ID, repo, model, "no readable pipeline deploys; unreadable: ")
            return
        looked = ", ".join(p.path for p in model.pipelines) or "no pipeline is committed"
        yield finding(ID, Outcome.FAIL, f"no automated deploy step found ({looked})")
        return
    automatic = [m for m in deploys if pipelines.is_automatic(m.pipeline) and not m.job.manual]
    if not automatic:
        # A reusable workflow's own copy says less than a caller's: prefer the latter in the warning.
        m = sorted(deploys, key=lambda d: pipelines.reusable_only(d.pipeline))[0]
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
    # One deploy step runs in every workflow calling its file: judge each way it runs, report each step once
    # (its failures, or else one pass).
    results: dict[str, list[tuple[Match, Match | None, str]]] = {}
    for m in automatic:
        gate, why = _gate(model, m)
        results.setdefault(m.where, []).append((m, gate, why))
    for where, runs in results.items():
        failed = [r for r in runs if r[1] is None]
        for m, gate, why in failed or runs[:1]:
            ev = [pipelines.evidence_at(repo, m.pipeline.path, m.line, f"{where}: deploy")]
            if gate is not None:
                ev.append(pipelines.evidence_at(repo, gate.pipeline.path, gate.line, f"{gate.where}: test gate"))
                yield finding(ID, Outcome.PASS, f"`{m.text[:160]}` at {where}{m.via} deploys {why}", ev, subject=where)
                continue
            ev += _unread_calls(repo, m)
            yield finding(
                ID,
                Outcome.FAIL,
                f"`{m.text[:160]}` at {where}{m.via} deploys without a passing test gate before it: {why}",
                ev,
                subject=where,
            )


def _unread(deploy: Match) -> list[Job]:
    """Jobs before the deploy that call a reusable workflow harness could not read (remote or missing)."""
    ups = [] if pipelines.runs_after_failure(deploy.job) else pipelines.upstream(deploy.pipeline, deploy.job)
    return [u for u in ups if u.call_note]


def _unread_calls(repo: repository.RepoSnapshot, deploy: Match) -> list[Evidence]:
    return [
        pipelines.evidence_at(
            repo,
            u.path or deploy.pipeline.path,
            u.line,
            f"{u.path or deploy.pipeline.path}:{u.line}: job `{u.id}` {u.call_note}; not counted as a test gate",
        )
        for u in _unread(deploy)[:3]
    ]


def _blocking_tests(pipe: Pipeline) -> list[Match]:
    return [t for t in pipelines.classify(pipe, "test") if t.blocking]


def _gate(model: Pipelines, deploy: Match) -> tuple[Match | None, str]:
    """The blocking test that must pass before `deploy` runs, and a sentence saying how."""
    pipe, job = deploy.pipeline, deploy.job
    tests = pipelines.classify(pipe, "test")
    # Earlier step of the same job: a failing test stops the job before the deploy.
    after_failure = pipelines.RUNS_AFTER_FAILURE.search(deploy.step.condition)
    for t in tests:
        earlier = t.step.line < deploy.step.line or (t.step is deploy.step and t.line < deploy.line)
        if t.job is job and earlier and t.blocking and not after_failure:
            return t, f"after `{t.text[:60]}` (line {t.line}) in the same job"
    if not pipelines.runs_after_failure(job):
        ups = pipelines.upstream(pipe, job)
        up_ids = {u.id for u in ups}
        for t in tests:
            if t.job.id in up_ids and t.blocking:
                return t, f"after job `{t.job.id}` whose tests ({t.where}) must pass first"
        soft = [t for t in tests if t.job.id in up_ids and not t.blocking]
        if soft:
            t = soft[0]
            return None, f"the tests it waits for at {t.where} cannot fail ({t.cannot_fail})"
    else:
        return None, f"job `{job.id}` runs even when the jobs before it failed (`{job.condition}`)"
    if pipe.workflow_run:
        return _workflow_run_gate(model, deploy)
    unread = _unread(deploy)
    if unread:
        u = unread[0]
        return None, f"job `{u.id}` before it {u.call_note}, so it is not counted as a test gate"
    same_job = [t for t in tests if t.job is job and t.step.line < deploy.step.line]
    if same_job and not same_job[0].blocking:
        return None, f"the tests before it at {same_job[0].where} cannot fail ({same_job[0].cannot_fail})"
    if tests:
        return None, f"job `{job.id}` does not depend on the test job(s) {', '.join(sorted({t.job.id for t in tests}))}"
    return None, f"{pipe.path} runs no tests before deploying (job `{job.id}`, line {job.line})"


def _workflow_run_gate(model: Pipelines, deploy: Match) -> tuple[Match | None, str]:
    pipe, job = deploy.pipeline, deploy.job
    sources = [
        p
        for p in model.pipelines
        if p.system == "github" and (p.name in pipe.workflow_run or p.path.rsplit("/", 1)[-1] in pipe.workflow_run)
    ]
    tested = [(p, t) for p in sources for t in _blocking_tests(p)]
    names = ", ".join(pipe.workflow_run)
    if not tested:
        return None, f"it follows workflow_run of {names}, which runs no blocking tests"
    conditions = [deploy.step.condition, job.condition, *(u.condition for u in pipelines.upstream(pipe, job))]
    if not any(SUCCESS_CONDITION.search(c) for c in conditions):
        return None, (
            f"it follows workflow_run of {names} but also runs when that workflow failed "
            "(no `github.event.workflow_run.conclusion == 'success'` condition)"
        )
    src, t = tested[0]
    return t, f"only after workflow {src.name!r} ({src.path}) succeeded, which runs `{t.text[:60]}` (line {t.line})"
