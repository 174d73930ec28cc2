"""Job order, triggers and evidence: what runs before what, and when a pipeline runs at all."""

from __future__ import annotations

import re

from harness.model import Evidence
from harness.probes.pipelines.events import may_run
from harness.probes.pipelines.model import MAX_PIPELINE_BYTES, RUNS_AFTER_FAILURE, Job, Pipeline, PipelineProblem, Step
from harness.probes.repository import RepoSnapshot

CI_TRIGGERS = {"push", "pull_request", "pull_request_target", "merge_request", "merge_group"}


def upstream(pipe: Pipeline, job: Job) -> list[Job]:
    """Jobs that must succeed before `job` runs (transitively), in the pipeline's ordering."""
    result: dict[str, Job] = {}
    todo = [job]
    while todo:
        current = todo.pop()
        for dep in _direct_upstream(pipe, current):
            if dep.id not in result and dep.id != job.id:
                result[dep.id] = dep
                todo.append(dep)
    return list(result.values())


def _direct_upstream(pipe: Pipeline, job: Job) -> list[Job]:
    if job.needs is not None and (job.needs or pipe.ordering == "needs"):
        return [j for n in job.needs if (j := pipe.job(n)) is not None]
    if job.needs is not None and not job.needs and pipe.system == "gitlab":
        return []  # `needs: []` starts the job at once
    if pipe.ordering == "stages" and job.stage in pipe.stages:
        idx = pipe.stages.index(job.stage)
        if job.stage in pipe.stage_needs:
            earlier = set(pipe.stage_needs[job.stage])
        elif pipe.system == "azure":  # by default an Azure stage depends on the one before it
            earlier = set(pipe.stages[idx - 1 : idx])
        else:
            earlier = set(pipe.stages[:idx])
        return [j for j in pipe.jobs if j.stage in earlier]
    if pipe.ordering == "sequential":
        same = [j for j in pipe.jobs if j.group == job.group]
        pos = next((i for i, j in enumerate(same) if j is job), 0)
        return same[:pos]
    return []


def runs_after_failure(job: Job) -> bool:
    return bool(RUNS_AFTER_FAILURE.search(job.condition))


# -- triggers, one at a time ---------------------------------------------------
def automatic_triggers(pipe: Pipeline) -> list[str]:
    """The triggers on which the pipeline runs without a person starting it."""
    out = [t for t in pipe.triggers if t in CI_TRIGGERS or t in ("schedule", "workflow_run")]
    if pipe.schedules and "schedule" not in out:
        out.append("schedule")
    return out


def job_runs_on(pipe: Pipeline, job: Job, event: str, depth: int = 0) -> bool:
    """False when the job surely does not run on `event`: its condition excludes it, or a job it needs is skipped."""
    if (job.scheduled_only and event != "schedule") or not may_run(job.condition, event):
        return False
    # GitHub-style `needs` and Azure `dependsOn` skip a job whose dependency was skipped (unless it runs anyway).
    if (pipe.ordering == "needs" or pipe.system == "azure") and depth < 50 and not runs_after_failure(job):
        return all(job_runs_on(pipe, dep, event, depth + 1) for dep in _direct_upstream(pipe, job))
    return True


def step_runs_on(pipe: Pipeline, job: Job, step: Step, event: str) -> bool:
    return may_run(step.condition, event) and job_runs_on(pipe, job, event)


def describe(pipe: Pipeline) -> str:
    return f"{pipe.system_name} {pipe.path}"


# -- evidence ---------------------------------------------------------------


def is_ci(pipe: Pipeline) -> bool:
    """Runs by itself on a push or pull request (not only by hand or on a timer)."""
    return bool(CI_TRIGGERS & set(pipe.triggers))


def is_automatic(pipe: Pipeline) -> bool:
    """Runs without a person starting it."""
    return is_ci(pipe) or bool(pipe.workflow_run) or bool(pipe.schedules)


def is_placeholder(pipe: Pipeline) -> bool:
    return all(step.inert for job in pipe.jobs for step in job.steps)


def evidence_at(repo: RepoSnapshot, path: str, line: int, summary: str, end_line: int | None = None) -> Evidence:
    """File evidence with the lines around `line` (reports redact any secret in excerpts)."""
    text = repo.read_text(path, MAX_PIPELINE_BYTES) or ""
    lines = text.splitlines()
    end = max(line, end_line or line)
    lo, hi = max(1, line - 1), min(len(lines), end + 1)
    excerpt = "\n".join(f"{n}: {lines[n - 1]}" for n in range(lo, hi + 1)) if lines else None
    return Evidence(
        kind="file", summary=summary, path=path, start_line=line, end_line=end, commit=repo.head, excerpt=excerpt
    )


def problem_evidence(repo: RepoSnapshot, problem: PipelineProblem) -> Evidence:
    m = re.search(r"at line (\d+)", problem.message)
    line = int(m.group(1)) if m else 1
    return evidence_at(repo, problem.path, line, f"{problem.path}: {problem.message}")
