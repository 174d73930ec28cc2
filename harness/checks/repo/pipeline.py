"""repo.pipeline: a CI pipeline runs on push or pull request and its tests can fail it."""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import pipelines, repository

ID = "repo.pipeline"
LOOKED_FOR = (
    ".github/workflows/*.yml, .gitea/workflows/*.yml, .forgejo/workflows/*.yml, .gitlab-ci.yml, "
    "Azure Pipelines YAML (any file), Jenkinsfile, .travis.yml, .circleci/config.yml, bitbucket-pipelines.yml"
)


@check(
    ID,
    title="A CI pipeline runs the tests on every push or pull request, and failing tests fail it",
    failure_title="No CI pipeline gates changes on the tests",
    proves=(
        "Every change is built and tested automatically, and a failing test stops the pipeline (CI-1): "
        "the green tick means the tests passed, not merely that they ran."
    ),
    remediation=(
        "Add a pipeline triggered on push and pull_request with a step that runs the test suite (e.g. `pytest`), "
        "without `|| true`, `continue-on-error: true` or `allow_failure: true` on it."
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
    for problem in model.problems:
        yield finding(
            ID,
            Outcome.FAIL,
            f"{problem.path} cannot be read as a pipeline, so the CI will not run it: {problem.message}",
            [pipelines.problem_evidence(repo, problem)],
            remediation=f"Fix {problem.path} so that it parses (validate it locally before pushing).",
            subject=problem.path,
        )
    if not model.pipelines:
        if not model.problems:
            yield finding(ID, Outcome.FAIL, f"no pipeline definition is committed (looked for {LOOKED_FOR})")
        return

    gates: list[pipelines.Match] = []
    soft: list[pipelines.Match] = []
    notes: list[str] = []
    evidence: list[Evidence] = []
    seen: set[str] = set()  # a step in a called workflow runs in each caller: count it once
    not_ci: list[tuple[pipelines.Pipeline, list[pipelines.Match]]] = []
    for pipe in model.pipelines:
        if pipelines.reusable_only(pipe):
            if not pipe.called_by:
                notes.append(
                    f"{pipe.path} is a reusable workflow (`on: workflow_call` only) that no workflow here calls"
                )
            continue  # its jobs are judged within each workflow calling it, under that workflow's triggers
        if pipelines.is_placeholder(pipe):
            notes.append(f"{pipe.path} is a placeholder: its steps only echo, sleep or check out, so it tests nothing")
            evidence.append(pipelines.evidence_at(repo, pipe.path, 1, f"{pipe.path}: placeholder", pipe.lines))
            continue
        tests = [m for m in pipelines.classify(pipe, "test") if not m.job.manual]
        if not tests:
            unread = next((j for j in pipe.jobs if j.call_note), None)
            hollow = pipelines.unfounded_tests(pipe)
            notes.append(
                f"{pipe.path} runs no test command"
                + (f" (job `{unread.id}` {unread.call_note})" if unread else "")
                + "".join(f"; `{c[:80]}` (line {n}) {why}" for c, n, why in hollow[:3])
            )
            evidence += [pipelines.evidence_at(repo, pipe.path, n, f"{pipe.path}:{n}: {w}") for _, n, w in hollow[:3]]
            continue
        if not pipelines.is_ci(pipe):
            not_ci.append((pipe, tests))
            continue
        ci = [t for t in pipe.triggers if t in pipelines.CI_TRIGGERS]
        on_ci = [m for m in tests if any(pipelines.step_runs_on(pipe, m.job, m.step, t) for t in ci)]
        if not on_ci:
            cond = tests[0].step.condition or tests[0].job.condition
            notes.append(f"{pipe.path} runs its tests only when `{cond[:80]}` holds, never on {', '.join(ci)}")
            evidence.append(pipelines.evidence_at(repo, pipe.path, tests[0].line, f"{tests[0].where}: skipped on CI"))
            continue
        for m in on_ci:
            if m.where not in seen:
                seen.add(m.where)
                (gates if m.blocking else soft).append(m)
    for pipe, tests in not_ci:
        if any(m.where not in seen for m in tests):  # else the same steps already run on push through another
            trig = ", ".join(pipe.triggers) or "nothing"
            notes.append(f"{pipe.path} runs tests but only on {trig}, not on push or pull request")

    for m in soft:
        yield finding(
            ID,
            Outcome.WARN if gates else Outcome.FAIL,
            f"the test step `{m.text[:160]}` at {m.where}{m.via} cannot fail the pipeline: {m.cannot_fail} "
            f"(line {m.cannot_fail_line})",
            [pipelines.evidence_at(repo, m.pipeline.path, m.line, f"{m.where}: tests that cannot fail")]
            + (
                [pipelines.evidence_at(repo, m.pipeline.path, m.cannot_fail_line, "what makes it unable to fail")]
                if m.cannot_fail_line and m.cannot_fail_line != m.line
                else []
            ),
            remediation="Remove the construct that ignores the test result, so that failing tests fail the pipeline.",
            subject=f"{m.pipeline.path}:{m.cannot_fail_line or m.line}",
        )
    if gates:
        first = gates[0]
        trig = ", ".join(t for t in first.pipeline.triggers if t in pipelines.CI_TRIGGERS)
        ev = [
            pipelines.evidence_at(repo, first.pipeline.path, first.line, f"{first.where}: test gate"),
            *[
                pipelines.evidence_at(repo, g.pipeline.path, g.line, f"{g.where}: test gate")
                for g in gates[1:4]
                if g.pipeline.path != first.pipeline.path or g.line != first.line
            ],
        ]
        extra = f"; also: {'; '.join(notes)}" if notes else ""
        yield finding(
            ID,
            Outcome.PASS,
            f"{first.pipeline.system_name} pipeline {first.pipeline.path}{first.via} runs on {trig} and "
            f"`{first.text[:160]}` (line {first.line}, job {first.job.id}) fails it when tests fail{extra}",
            ev,
            subject=first.pipeline.path,
        )
        for pipe in model.pipelines:
            if pipelines.is_placeholder(pipe) and not pipelines.reusable_only(pipe):
                yield finding(
                    ID,
                    Outcome.WARN,
                    f"{pipe.path} is a placeholder pipeline (only echo/true/sleep steps)",
                    [pipelines.evidence_at(repo, pipe.path, 1, f"{pipe.path}: placeholder", pipe.lines)],
                    remediation=f"Delete {pipe.path} or give it real work.",
                    subject=pipe.path,
                )
        return
    if soft:
        return  # the failures above already say why
    reason = "; ".join(notes) or "no pipeline runs a test command"
    yield finding(ID, Outcome.FAIL, f"no pipeline gates changes on tests: {reason}", evidence)
