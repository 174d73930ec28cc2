"""repo.deploy-gate: on every trigger it runs on, an automated deploy waits for tests that can fail it (CI-1).

A deploy is gated on a trigger only if, on that trigger, a test step that can fail runs before it: in an
earlier step of its job, or in a job it depends on (`needs`, earlier stages, `dependsOn`, sequence), or in
the workflow whose success triggers it. A test step skipped on that trigger (`if: github.event_name ==
'pull_request'`) gates nothing on push. Shared with repo.pipeline-deploy, which reports whether deploys are
automated at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.checks.repo import immutable_releases, pipeline_reading
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import inventory, pipelines, repository
from harness.probes.pipelines import Job, Match, Pipeline, Pipelines

ID = "repo.deploy-gate"
SUCCESS_CONDITION = re.compile(r"workflow_run\.conclusion\s*==\s*['\"]success['\"]")


@check(
    ID,
    title="Every automated deploy runs only after tests that can fail it, on every trigger",
    failure_title="A deploy can run without a passing test gate",
    proves=(
        "A commit whose tests fail never reaches the hosted service (CI-1): on each trigger the deploy runs on, "
        "it depends on a test step that fails the pipeline when tests fail."
    ),
    remediation=(
        "Run the deploy in a job that `needs:` the test job (GitLab: a later stage), or in a workflow triggered by "
        "`workflow_run` of the test workflow with `if: github.event.workflow_run.conclusion == 'success'`; do not "
        "skip the tests on a trigger that deploys."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    read = pipeline_reading.committed(ctx, ID, "no pipeline definition is committed, so no deploy to gate")
    if isinstance(read, Finding):
        yield finding(ID, Outcome.NOT_APPLICABLE, read.reason) if read.outcome is Outcome.FAIL else read
        return
    repo, model = read
    deploys = automatic_deploys(model)
    if not deploys:
        # A deploy stage that fails on every run or ships a placeholder: the pipeline is not fully functioning.
        hollow = hollow_deploy(ID, repo, model, "the pipeline's deploy {cmd} cannot deliver")
        if hollow is not None:
            yield hollow
            return
        delivery = _delivery_elsewhere(repo, model)
        if delivery:
            yield finding(ID, Outcome.NOT_APPLICABLE, f"no automated deploy step to gate ({delivery})")
            return
        yield finding(
            ID,
            Outcome.FAIL,
            "CI without CD: no pipeline deploys or publishes anything, by hand or automatically, and no platform "
            "or controller committed here deploys on push, so the pipeline stops before delivery",
            [
                pipelines.evidence_at(repo, p.path, 1, f"{p.path}: no deploy or publish step")
                for p in model.pipelines[:3]
            ],
            remediation="Add a deploy (or publish) stage after the tests, so a green commit reaches its users.",
        )
        return
    # One deploy step runs in every workflow calling its file: judge each way it runs. Report each job once
    # (its first ungated deploy, or else its first gated one), not each line of a multi-line deploy.
    results: dict[tuple[str, int], list[tuple[Match, Match | None, str]]] = {}
    for m in deploys:
        gate, why = judge(model, m)
        results.setdefault((m.pipeline.path, m.job.line), []).append((m, gate, why))
    for runs in results.values():
        failed = [r for r in runs if r[1] is None]
        callers = {r[0].job.via: r for r in failed}  # each way the job runs (its callers), once
        for m, gate, why in list(callers.values()) or runs[:1]:
            where = m.where
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


# Platforms that build and deploy on push from their own configuration, outside the pipeline.
PLATFORM_FILES = frozenset(
    {"netlify.toml", "vercel.json", "render.yaml", "heroku.yml", "app.json", "Procfile", "amplify.yml"}
)


def _delivery_elsewhere(repo: repository.RepoSnapshot, model: Pipelines) -> str:
    """What delivers when no automatic deploy does ('' when nothing does): a deploy started by hand, a publish
    step, an auto-deploying platform's file, or a GitOps controller pulling new images."""
    for kind, what in (
        ("deploy", "a deploy started by hand or standing up a test environment"),
        ("publish", "a publish step"),
    ):
        m = next((m for p in model.pipelines for m in pipelines.classify(p, kind)), None)
        if m is not None:
            return f"{what}: `{m.text[:80]}` at {m.where}"
    platform = next((f.path for f in repo.own_files if f.name in PLATFORM_FILES), None)
    if platform:
        return f"{platform} configures a platform that can deploy on push"
    configs = [f for f in repo.own_files if f.suffix in (".yaml", ".yml", ".json")]
    if inventory.grep(repo, configs, immutable_releases.PULLS_NEW_IMAGES, limit=1):
        return "a GitOps controller or auto-deploy configuration pulls new images"
    return ""


def deploy_triggers(m: Match) -> list[str]:
    """The automatic triggers on which this deploy step runs."""
    if m.job.manual:
        return []
    return [t for t in pipelines.automatic_triggers(m.pipeline) if pipelines.step_runs_on(m.pipeline, m.job, m.step, t)]


def hollow_deploy(check_id: str, repo: repository.RepoSnapshot, model: Pipelines, lead: str) -> Finding | None:
    """A failing finding for the first automatic deploy command that deploys nothing real (`lead` names it as
    {cmd}), or None when there is none (see `pipelines.hollow_deploys`)."""
    hollow = [(p, *h) for p in model.pipelines if pipelines.is_automatic(p) for h in pipelines.hollow_deploys(p)]
    if not hollow or not hollow[0][3]:
        return None
    p, text, line, why = hollow[0]
    return finding(
        check_id,
        Outcome.FAIL,
        lead.format(cmd=f"`{text[:120]}` ({p.path}:{line})") + f": it {why}",
        [pipelines.evidence_at(repo, p.path, line, f"{p.path}:{line}: deploys nothing real")],
        remediation="Commit the manifests the deploy applies and deploy the image the pipeline builds.",
        subject=f"{p.path}:{line}",
    )


def automatic_deploys(model: Pipelines) -> list[Match]:
    """Deploy steps that run without a person starting them, and that do not only stand up a test environment."""
    found = [m for p in model.pipelines for m in pipelines.classify(p, "deploy")]
    return [m for m in found if deploy_triggers(m) and pipelines.teardown_of(m) is None]


def judge(model: Pipelines, deploy: Match) -> tuple[Match | None, str]:
    """The blocking test that must pass before `deploy` on every trigger it runs on, and a sentence saying how."""
    triggers = deploy_triggers(deploy)
    first: tuple[Match | None, str] = (None, "it runs on no automatic trigger")
    for n, trigger in enumerate(triggers):
        gate, why = _gate(model, deploy, trigger)
        if gate is None:
            return None, (f"on {trigger}: {why}" if len(triggers) > 1 else why)
        if n == 0:
            first = gate, why
    if len(triggers) > 1 and first[0] is not None:
        return first[0], f"{first[1]} (on {', '.join(triggers)})"
    return first


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


def _tests_on(pipe: Pipeline, trigger: str) -> list[Match]:
    return [t for t in pipelines.classify(pipe, "test") if pipelines.step_runs_on(pipe, t.job, t.step, trigger)]


def _gate(model: Pipelines, deploy: Match, trigger: str) -> tuple[Match | None, str]:
    pipe, job = deploy.pipeline, deploy.job
    if trigger == "workflow_run":
        return _workflow_run_gate(model, deploy)
    tests = _tests_on(pipe, trigger)
    running = {id(t.step) for t in tests}
    skipped = [t for t in pipelines.classify(pipe, "test") if id(t.step) not in running]
    # Earlier step of the same job: a failing test stops the job before the deploy.
    after_failure = pipelines.RUNS_AFTER_FAILURE.search(deploy.step.condition)
    for t in tests:
        earlier = t.step.line < deploy.step.line or (t.step is deploy.step and t.line < deploy.line)
        if t.job is job and earlier and t.blocking and not after_failure:
            return t, f"after `{t.text[:60]}` (line {t.line}) in the same job"
    if pipelines.runs_after_failure(job):
        return None, f"job `{job.id}` runs even when the jobs before it failed (`{job.condition}`)"
    up_ids = {u.id for u in pipelines.upstream(pipe, job)}
    for t in tests:
        if t.job.id in up_ids and t.blocking:
            return t, f"after job `{t.job.id}` whose tests ({t.where}) must pass first"
    soft = [t for t in tests if t.job.id in up_ids and not t.blocking]
    if soft:
        return None, f"the tests it waits for at {soft[0].where} cannot fail ({soft[0].cannot_fail})"
    if pipe.workflow_run and not pipelines.is_ci(pipe):
        return _workflow_run_gate(model, deploy)
    unread = _unread(deploy)
    if unread:
        return None, f"job `{unread[0].id}` before it {unread[0].call_note}, so it is not counted as a test gate"
    same_job = [t for t in tests if t.job is job and t.step.line < deploy.step.line]
    if same_job and not same_job[0].blocking:
        return None, f"the tests before it at {same_job[0].where} cannot fail ({same_job[0].cannot_fail})"
    before = [t for t in skipped if t.job.id in up_ids or (t.job is job and t.step.line < deploy.step.line)]
    if before:
        return None, f"the tests before it at {before[0].where} are skipped on {trigger} (their condition)"
    if tests:
        return None, f"job `{job.id}` does not depend on the test job(s) {', '.join(sorted({t.job.id for t in tests}))}"
    return None, f"{pipe.path} runs no tests before deploying (job `{job.id}`, line {job.line})"


def _workflow_run_gate(model: Pipelines, deploy: Match) -> tuple[Match | None, str]:
    pipe, job = deploy.pipeline, deploy.job
    sources = [
        p
        for p in model.pipelines
        if p.system == pipe.system and (p.name in pipe.workflow_run or p.path.rsplit("/", 1)[-1] in pipe.workflow_run)
    ]
    tested = [(p, t) for p in sources for t in pipelines.classify(p, "test") if t.blocking]
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
