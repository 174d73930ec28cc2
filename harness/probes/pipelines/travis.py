"""Travis CI: build phases, jobs.include and deploy providers."""

from __future__ import annotations

from typing import Any

from harness.probes.pipelines.model import Job, Pipeline, Step
from harness.probes.pipelines.yamlio import as_list, as_str, line_of, load_yaml, merge, script_commands, split_script

TRAVIS_PHASES = ("before_install", "install", "before_script", "script")


def parse(path: str, text: str) -> Pipeline:
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise ValueError("the Travis file is not a YAML mapping")
    raw = text.splitlines()
    pipe = Pipeline("travis", path, path, len(raw), ordering="sequential", files=[path])
    pipe.triggers = {"push": 1, "pull_request": 1}

    def job_from(spec: dict[str, Any], name: str) -> Job:
        line = getattr(spec, "line", 1)
        job = Job(name, name, line, getattr(spec, "end_line", line), group="travis")
        cmds = [c for ph in TRAVIS_PHASES for c in script_commands(spec, ph, raw)]
        job.steps.append(Step("script", line, job.end_line, cmds))
        after = script_commands(spec, "after_success", raw)
        if after:  # after_success runs only when script passed, but its own failure is ignored
            job.steps.append(
                Step(
                    "after_success",
                    after[0].line,
                    job.end_line,
                    after,
                    cannot_fail="after_success",
                    cannot_fail_line=after[0].line,
                )
            )
        for dep in as_list(spec.get("deploy")):
            dline = line_of(spec, "deploy", line)
            provider = as_str(dep.get("provider")) if isinstance(dep, dict) else ""
            dstep = Step(f"deploy {provider}", dline, dline, uses=f"travis-deploy:{provider}")
            dstep.condition = '$TRAVIS_EVENT_TYPE != "pull_request"'  # Travis never deploys from PR builds
            if provider == "script" and isinstance(dep, dict):
                dstep.commands = split_script(as_str(dep.get("script")), dline, raw)
            job.steps.append(dstep)
        return job

    jobs = doc.get("jobs") or doc.get("matrix")
    includes = [inc for inc in as_list(jobs.get("include")) if isinstance(inc, dict)] if isinstance(jobs, dict) else []
    if any(k in doc for k in (*TRAVIS_PHASES, "deploy")):
        pipe.jobs.append(job_from(doc, "build"))  # the root job (its matrix expansion) runs in the first stage
        pipe.jobs[-1].stage = "test"
    # Jobs of one stage run in parallel; a stage starts only when every job of the stages before it passed.
    # An included job without `stage:` is in the stage of the job before it (the first: "test").
    stage = "test"
    for i, inc in enumerate(includes):
        stage = as_str(inc.get("stage")) or stage
        job = job_from(merge(doc, inc), as_str(inc.get("name") or inc.get("stage")) or f"job {i + 1}")
        job.stage = stage.lower()
        pipe.jobs.append(job)
    if includes:
        declared = [as_str(s.get("name") if isinstance(s, dict) else s).lower() for s in as_list(doc.get("stages"))]
        pipe.ordering = "stages"
        pipe.stages = [*declared, *(j.stage for j in pipe.jobs if j.stage not in declared)]
        pipe.stages = list(dict.fromkeys(pipe.stages))
    return pipe
