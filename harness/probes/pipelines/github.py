"""GitHub Actions (and Gitea/Forgejo Actions, which read the same format)."""

from __future__ import annotations

import dataclasses
import posixpath

from harness.probes.pipelines.model import (
    ACTIONS_SYSTEMS,
    MAX_CALL_DEPTH,
    MAX_EXPANDED_JOBS,
    Job,
    Pipeline,
    PipelineProblem,
    Step,
)
from harness.probes.pipelines.yamlio import LDict, LList, as_list, as_str, line_of, load_yaml, split_script


def parse(path: str, text: str, system: str = "github") -> Pipeline:
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise ValueError("the workflow is not a YAML mapping")
    raw_lines = text.splitlines()
    on_key = "on" if "on" in doc else True if True in doc else None  # YAML 1.1 reads `on` as true
    if on_key is None:
        raise ValueError("the workflow has no `on:` triggers")
    if not isinstance(doc.get("jobs"), dict):
        raise ValueError("the workflow has no `jobs:` mapping")
    pipe = Pipeline(system, path, as_str(doc.get("name")) or path.rsplit("/", 1)[-1], len(raw_lines), files=[path])
    on, on_line = doc[on_key], line_of(doc, on_key, 1)
    if isinstance(on, str):
        pipe.triggers[on] = on_line
    elif isinstance(on, list):
        for i, t in enumerate(on):
            pipe.triggers[as_str(t)] = on.item_lines[i] if isinstance(on, LList) else on_line
    elif isinstance(on, dict):
        for t, spec in on.items():
            pipe.triggers[as_str(t)] = line_of(on, t, on_line)
            if t == "schedule":
                for i, entry in enumerate(as_list(spec)):
                    line = spec.item_lines[i] if isinstance(spec, LList) else pipe.triggers["schedule"]
                    pipe.schedules.append((as_str(entry.get("cron")) if isinstance(entry, dict) else "", line))
            if t == "workflow_run" and isinstance(spec, dict):
                pipe.workflow_run = [as_str(w) for w in as_list(spec.get("workflows"))]
    top_dir = _default_workdir(doc)
    for job_id, spec in doc["jobs"].items():
        if not isinstance(spec, dict):
            continue
        job_dir = _default_workdir(spec) or top_dir
        line = line_of(doc["jobs"], job_id, 1)
        job = Job(as_str(job_id), as_str(spec.get("name")) or as_str(job_id), line, getattr(spec, "end_line", line))
        job.needs = [as_str(n) for n in as_list(spec.get("needs"))]
        job.condition = as_str(spec.get("if"))
        if as_str(spec.get("continue-on-error")) == "true":
            job.cannot_fail, job.cannot_fail_line = "continue-on-error: true", line_of(spec, "continue-on-error", line)
        if "uses" in spec:  # a reusable workflow call: one opaque step until collect() expands it
            job.calls = as_str(spec.get("uses"))
            job.steps.append(Step(job.calls, line, job.end_line, uses=job.calls))
        for i, st in enumerate(as_list(spec.get("steps"))):
            if not isinstance(st, dict):
                continue
            sline = st.line if isinstance(st, LDict) else line
            step = Step(
                as_str(st.get("name"))
                or as_str(st.get("uses"))
                or as_str(st.get("run")).split("\n")[0][:60]
                or f"step {i + 1}",
                sline,
                getattr(st, "end_line", sline),
                uses=as_str(st.get("uses")),
                condition=as_str(st.get("if")),
                workdir=as_str(st.get("working-directory")) or job_dir,
            )
            with_ = st.get("with")
            if isinstance(with_, dict):
                step.inputs = {as_str(k): as_str(v) for k, v in with_.items()}
            if "run" in st:
                step.commands = split_script(as_str(st.get("run")), line_of(st, "run", sline), raw_lines)
            if as_str(st.get("continue-on-error")) == "true":
                step.cannot_fail = "continue-on-error: true"
                step.cannot_fail_line = line_of(st, "continue-on-error", sline)
            job.steps.append(step)
        pipe.jobs.append(job)
    return pipe


def _default_workdir(spec: dict) -> str:
    """`defaults: run: working-directory:` of a workflow or a job (GitHub's precedence: step, job, workflow)."""
    defaults = spec.get("defaults")
    run = defaults.get("run") if isinstance(defaults, dict) else None
    return as_str(run.get("working-directory")) if isinstance(run, dict) else ""


def _local_call(uses: str) -> str | None:
    """The repository path of a local reusable workflow (`./.github/workflows/x.yml`), None when remote."""
    return posixpath.normpath(uses[2:]) if uses.startswith("./") else None


def _and(outer: str, inner: str) -> str:
    return f"({outer}) && ({inner})" if outer and inner else outer or inner


def reusable_only(pipe: Pipeline) -> bool:
    """Triggered only by `workflow_call`: it runs as part of its callers, never by itself."""
    return pipe.system in ACTIONS_SYSTEMS and set(pipe.triggers) == {"workflow_call"}


def expand_calls(workflows: list[Pipeline], problems: list[PipelineProblem], unreadable: set[str]) -> None:
    """Replace each job calling a local reusable workflow by that workflow's jobs, as GitHub runs them.

    The called jobs start after the caller job's `needs:`, and the caller job (which `needs:` dependents
    wait for) completes only when all of them have: so tests in a called CI workflow gate a deploy that
    `needs:` the calling job, and the caller's triggers apply to the called jobs.
    """
    by_path = {p.path: p for p in workflows}
    originals = {p.path: list(p.jobs) for p in workflows}
    reported: set[tuple[str, int]] = set()
    budget = [MAX_EXPANDED_JOBS]

    def problem(path: str, job: Job, why: str) -> None:
        job.call_note = why
        if (path, job.line) not in reported:
            reported.add((path, job.line))
            problems.append(PipelineProblem(path, f"job `{job.id}` at line {job.line} {why}"))

    def expand(path: str, chain: list[str]) -> list[Job]:
        out: list[Job] = []
        for orig in originals[path]:
            job = dataclasses.replace(
                orig, path=path, needs=None if orig.needs is None else list(orig.needs), steps=list(orig.steps)
            )
            out.append(job)
            budget[0] -= 1
            if not orig.calls:
                continue
            target = _local_call(orig.calls)
            if target is None:
                # Not a problem: the workflow is valid, harness just cannot see the called jobs offline.
                job.call_note = f"calls the remote reusable workflow {orig.calls}, which cannot be read offline"
                continue
            if target in chain:
                problem(path, job, "calls a reusable workflow in a cycle: " + " → ".join([*chain, target]))
            elif len(chain) >= MAX_CALL_DEPTH:
                problem(path, job, f"nests reusable workflows more than {MAX_CALL_DEPTH} levels deep")
            elif target in unreadable:
                problem(path, job, f"calls {orig.calls}, which cannot be read as a workflow")
            elif target not in by_path:
                problem(path, job, f"calls {orig.calls}, which is not committed")
            elif "workflow_call" not in by_path[target].triggers:
                problem(path, job, f"calls {orig.calls}, which has no `on: workflow_call` trigger")
            elif budget[0] <= 0:
                job.call_note = f"calls {orig.calls}, not expanded: more than {MAX_EXPANDED_JOBS} jobs"
            if job.call_note:
                continue
            if path not in by_path[target].called_by:
                by_path[target].called_by.append(path)
            inner = expand(target, [*chain, target])
            prefix = f"{orig.id}/"
            for ij in inner:
                ij.id = prefix + ij.id
                ij.needs = [prefix + n for n in ij.needs] if ij.needs else list(orig.needs or [])
                ij.condition = _and(orig.condition, ij.condition)
                ij.via = f"{path} job `{orig.id}`" + (f" → {ij.via}" if ij.via else "")
            job.needs = [*(orig.needs or []), *(ij.id for ij in inner)]
            job.steps = []  # the called jobs stand in for the opaque `uses:` step
            out.extend(inner)
        return out

    for pipe in workflows:
        budget[0] = MAX_EXPANDED_JOBS
        pipe.jobs = expand(pipe.path, [pipe.path])
