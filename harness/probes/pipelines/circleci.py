"""CircleCI: jobs, workflows (requires) and scheduled triggers."""

from __future__ import annotations

from harness.probes.pipelines.model import Job, Pipeline, Step
from harness.probes.pipelines.yamlio import LDict, as_list, as_str, line_of, load_yaml, mapping, split_script


def parse(path: str, text: str) -> Pipeline:
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise ValueError("the CircleCI config is not a YAML mapping")
    raw = text.splitlines()
    pipe = Pipeline("circleci", path, path, len(raw), triggers={"push": 1}, files=[path])
    jobs = mapping(doc.get("jobs"))
    requires: dict[str, list[str]] = {}
    on_schedule: set[str] = set()  # jobs of a workflow with a schedule trigger (it then runs only on schedule)
    on_push: set[str] = set()
    for wf in (doc.get("workflows") or {}).values() if isinstance(doc.get("workflows"), dict) else []:
        if not isinstance(wf, dict):
            continue
        scheduled = False
        for trig in as_list(wf.get("triggers")):
            if isinstance(trig, dict) and isinstance(trig.get("schedule"), dict):
                scheduled = True
                pipe.triggers["schedule"] = getattr(trig, "line", 1)
                pipe.schedules.append((as_str(trig["schedule"].get("cron")), getattr(trig, "line", 1)))
        for entry in as_list(wf.get("jobs")):
            names = [as_str(k) for k in entry] if isinstance(entry, dict) else [as_str(entry)]
            (on_schedule if scheduled else on_push).update(names)
            if isinstance(entry, dict):
                for jname, conf in entry.items():
                    req = conf.get("requires") if isinstance(conf, dict) else None
                    requires.setdefault(as_str(jname), []).extend(as_str(r) for r in as_list(req))
                    if as_str(jname) not in jobs:  # an orb job used directly in the workflow
                        jobs[as_str(jname)] = LDict(steps=[LDict({as_str(jname): conf})])
            elif isinstance(entry, str):
                requires.setdefault(entry, [])
    for jname, spec in jobs.items():
        if not isinstance(spec, dict):
            continue
        line = line_of(jobs, jname, getattr(spec, "line", 1))
        job = Job(
            as_str(jname), as_str(jname), line, getattr(spec, "end_line", line), needs=requires.get(as_str(jname), [])
        )
        if job.id in on_schedule and job.id not in on_push:
            job.condition = "pipeline.trigger_source == 'scheduled_pipeline'"
        elif job.id in on_push and job.id not in on_schedule and on_schedule:
            job.condition = "pipeline.trigger_source != 'scheduled_pipeline'"
        for st in as_list(spec.get("steps")):
            sline = getattr(st, "line", line)
            if isinstance(st, str):
                job.steps.append(Step(st, sline, sline, uses=st))
            elif isinstance(st, dict) and "run" in st:
                run = st["run"]
                cmd = run.get("command") if isinstance(run, dict) else run
                name = as_str(run.get("name")) if isinstance(run, dict) else ""
                job.steps.append(
                    Step(
                        name or as_str(cmd)[:60],
                        sline,
                        getattr(st, "end_line", sline),
                        split_script(as_str(cmd), sline, raw),
                    )
                )
            elif isinstance(st, dict):
                for key, conf in st.items():
                    inputs = {as_str(k): as_str(v) for k, v in conf.items()} if isinstance(conf, dict) else {}
                    job.steps.append(
                        Step(as_str(key), sline, getattr(st, "end_line", sline), uses=as_str(key), inputs=inputs)
                    )
        pipe.jobs.append(job)
    return pipe
