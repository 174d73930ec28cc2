"""Azure Pipelines: stages, jobs, deployment jobs, dependsOn, conditions and continueOnError."""

from __future__ import annotations

from typing import Any

from harness.probes.pipelines.model import Job, Pipeline, Step
from harness.probes.pipelines.yamlio import LDict, as_list, as_str, line_of, load_yaml, mapping, split_script

AZURE_SCRIPT_KEYS = ("script", "bash", "pwsh", "powershell")


def _azure_steps(steps: Any, raw_lines: list[str]) -> list[Step]:
    out = []
    for st in as_list(steps):
        if not isinstance(st, dict):
            continue
        sline = getattr(st, "line", 1)
        step = Step(
            as_str(st.get("displayName")) or as_str(st.get("task")) or "script", sline, getattr(st, "end_line", sline)
        )
        for key in AZURE_SCRIPT_KEYS:
            if key in st:
                step.commands = split_script(as_str(st[key]), line_of(st, key, sline), raw_lines)
        if "task" in st:
            step.uses = as_str(st["task"])
            inputs = mapping(st.get("inputs"))
            step.inputs = {as_str(k): as_str(v) for k, v in inputs.items()}
            for key in ("inlineScript", "script"):
                if key in inputs:
                    step.commands += split_script(as_str(inputs[key]), line_of(inputs, key, sline), raw_lines)
        if as_str(st.get("continueOnError")) == "true":
            step.cannot_fail, step.cannot_fail_line = "continueOnError: true", line_of(st, "continueOnError", sline)
        step.condition = as_str(st.get("condition"))
        step.workdir = as_str(st.get("workingDirectory")) or as_str(mapping(st.get("inputs")).get("workingDirectory"))
        out.append(step)
    return out


def parse(path: str, text: str) -> Pipeline:
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise ValueError("the Azure Pipelines file is not a YAML mapping")
    raw = text.splitlines()
    pipe = Pipeline("azure", path, as_str(doc.get("name")) or path, len(raw), ordering="stages", files=[path])
    trig, pr = doc.get("trigger", "default"), doc.get("pr", "default")
    if as_str(trig) != "none":
        pipe.triggers["push"] = line_of(doc, "trigger", 1)
    if as_str(pr) != "none":
        pipe.triggers["pull_request"] = line_of(doc, "pr", 1)
    for sched in as_list(doc.get("schedules")):
        if isinstance(sched, dict):
            pipe.triggers["schedule"] = line_of(doc, "schedules", 1)
            pipe.schedules.append((as_str(sched.get("cron")), getattr(sched, "line", 1)))
    stages = doc.get("stages")
    if stages is None:
        stages = [LDict(stage="default", jobs=doc.get("jobs") or [LDict(job="default", steps=doc.get("steps"))])]
    for st_i, stage in enumerate(as_list(stages)):
        if not isinstance(stage, dict):
            continue
        sname = as_str(stage.get("stage")) or f"stage{st_i}"
        pipe.stages.append(sname)
        if "dependsOn" in stage:  # `dependsOn: []` runs the stage at once, beside the others
            pipe.stage_needs[sname] = [as_str(d) for d in as_list(stage.get("dependsOn"))]
        for j in as_list(stage.get("jobs")):
            if not isinstance(j, dict):
                continue
            jname = as_str(j.get("job") or j.get("deployment")) or "job"
            line = getattr(j, "line", getattr(stage, "line", 1))
            job = Job(f"{sname}.{jname}", as_str(j.get("displayName")) or jname, line, getattr(j, "end_line", line))
            job.stage = sname
            if "dependsOn" in j:
                job.needs = [f"{sname}.{as_str(d)}" for d in as_list(j.get("dependsOn"))]
            if as_str(j.get("continueOnError")) == "true":
                job.cannot_fail, job.cannot_fail_line = "continueOnError: true", line_of(j, "continueOnError", line)
            job.condition = as_str(j.get("condition")) or as_str(stage.get("condition"))
            steps = j.get("steps")
            strategy = j.get("strategy")
            if steps is None and isinstance(strategy, dict):  # deployment jobs: strategy.runOnce.deploy.steps
                for phase in strategy.values():
                    if isinstance(phase, dict) and isinstance(phase.get("deploy"), dict):
                        steps = phase["deploy"].get("steps")
            job.steps = _azure_steps(steps, raw)
            pipe.jobs.append(job)
    return pipe
