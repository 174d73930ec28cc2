"""Jenkinsfiles (declarative or scripted), read line by line: stages, sh steps, cron triggers."""

from __future__ import annotations

import re

from harness.probes.pipelines.model import Command, Job, Pipeline, Step
from harness.probes.pipelines.yamlio import split_script

JENKINS_STAGE = re.compile(r"""\bstage\s*\(\s*['"]([^'"]+)['"]""")
JENKINS_SH = re.compile(r"""\b(sh|bat|powershell|pwsh)\s*(?:\(\s*(?:script\s*:\s*)?)?(['"]{1,3})(.*)""")


def parse(path: str, text: str) -> Pipeline:
    lines = text.splitlines()
    pipe = Pipeline("jenkins", path, path, len(lines), ordering="sequential", files=[path])
    # Jenkinsfiles run from a multibranch job or a webhook: the file cannot show the trigger.
    pipe.triggers = {"push": 1}
    job = Job("(top level)", "(top level)", 1, len(lines), group="jenkins")
    in_multi: tuple[str, int, list[str]] | None = None
    soft_block = 0
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        if in_multi is not None:
            quote, start, buf = in_multi
            if quote in line:
                buf.append(line.split(quote)[0])
                job.steps.append(Step("sh", start, no, split_script("\n".join(buf), start + 1, lines)))
                in_multi = None
            else:
                buf.append(line)
            continue
        m = JENKINS_STAGE.search(line)
        if m:
            if job.steps or job.id != "(top level)":
                pipe.jobs.append(job)
            job = Job(m.group(1), m.group(1), no, no, group="jenkins")
        if re.search(r"\bcron\s*\(|\bpollSCM\s*\(", line):
            pipe.triggers["schedule" if "cron" in line else "push"] = no
            if "cron" in line:
                pipe.schedules.append((line, no))
        if re.search(r"catchError\s*\(|warnError\s*\(", line):
            soft_block = no
        sh = JENKINS_SH.search(line)
        if sh:
            quote, rest = sh.group(2), sh.group(3)
            if len(quote) == 3 and quote not in rest:
                in_multi = (quote, no, [rest])
                continue
            body = rest.split(quote[0])[0]
            step = Step("sh", no, no, [Command(body, no)])
            if "returnStatus" in line:
                step.cannot_fail, step.cannot_fail_line = "returnStatus: true", no
            elif soft_block:
                step.cannot_fail, step.cannot_fail_line = "inside catchError/warnError", soft_block
            job.steps.append(step)
            job.end_line = no
    if job.steps:
        pipe.jobs.append(job)
    return pipe
