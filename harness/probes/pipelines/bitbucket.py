"""Bitbucket Pipelines: sequential steps per branch section, pipes and after-script."""

from __future__ import annotations

from typing import Any

from harness.probes.pipelines.model import Job, Pipeline, Step
from harness.probes.pipelines.yamlio import LList, as_list, as_str, line_of, load_yaml, mapping, split_script


def _bitbucket_steps(items: Any, group: str, pipe: Pipeline, raw: list[str]) -> None:
    for item in as_list(items):
        if not isinstance(item, dict):
            continue
        if "parallel" in item:
            par = item["parallel"]
            _bitbucket_steps(par.get("steps") if isinstance(par, dict) else par, group, pipe, raw)
            continue
        if "stage" in item and isinstance(item["stage"], dict):
            _bitbucket_steps(item["stage"].get("steps"), group, pipe, raw)
            continue
        spec = item.get("step")
        if not isinstance(spec, dict):
            continue
        line = getattr(spec, "line", 1)
        name = as_str(spec.get("name")) or f"step {len(pipe.jobs) + 1}"
        job = Job(f"{group}/{name}", name, line, getattr(spec, "end_line", line), group=group)
        job.manual = as_str(spec.get("trigger")) == "manual"
        step = Step(name, line, job.end_line)
        script, base = spec.get("script"), line_of(spec, "script", line)
        for i, cmd in enumerate(as_list(script)):
            cline = script.item_lines[i] if isinstance(script, LList) else base
            if isinstance(cmd, dict) and "pipe" in cmd:
                variables = mapping(cmd.get("variables"))
                job.steps.append(
                    Step(
                        as_str(cmd["pipe"]),
                        cline,
                        cline,
                        uses=as_str(cmd["pipe"]),
                        inputs={as_str(k): as_str(v) for k, v in variables.items()},
                    )
                )
            else:
                step.commands += split_script(as_str(cmd), cline, raw)
        job.steps.insert(0, step)
        after = spec.get("after-script")
        if after:
            aline = line_of(spec, "after-script", line)
            cmds = [c for x in as_list(after) for c in split_script(as_str(x), aline, raw)]
            job.steps.append(
                Step("after-script", aline, job.end_line, cmds, cannot_fail="after-script", cannot_fail_line=aline)
            )
        pipe.jobs.append(job)


def parse(path: str, text: str) -> Pipeline:
    doc = load_yaml(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("pipelines"), dict):
        raise ValueError("the Bitbucket file has no `pipelines:` mapping")
    raw = text.splitlines()
    pipe = Pipeline("bitbucket", path, path, len(raw), ordering="sequential", files=[path])
    pls = doc["pipelines"]
    for section, body in pls.items():
        line = line_of(pls, section, 1)
        if section in ("default", "branches", "tags"):
            pipe.triggers.setdefault("push", line)
        elif section == "pull-requests":
            pipe.triggers["pull_request"] = line
        elif section == "custom":
            pipe.triggers.setdefault("manual or scheduled (custom)", line)
        if section == "default":
            _bitbucket_steps(body, "default", pipe, raw)
        elif isinstance(body, dict):
            for sub, items in body.items():
                _bitbucket_steps(items, f"{section}:{sub}", pipe, raw)
    return pipe
