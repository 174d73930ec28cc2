"""GitLab CI: stages, needs, local includes, extends, rules and allow_failure."""

from __future__ import annotations

import re
from typing import Any

from harness.probes.pipelines.model import MAX_INCLUDES, MAX_PIPELINE_BYTES, Job, Pipeline, Step
from harness.probes.pipelines.yamlio import (
    LDict,
    LList,
    as_list,
    as_str,
    line_of,
    load_yaml,
    mapping,
    merge,
    script_commands,
)
from harness.probes.repository import RepoSnapshot

GITLAB_RESERVED = {
    "stages",
    "include",
    "variables",
    "workflow",
    "default",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "types",
    "pages:deploy",
}
GITLAB_DEFAULT_STAGES = [".pre", "build", "test", "deploy", ".post"]


def _gitlab_includes(doc: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(kind, value, line) for each include: kind is local, template, project or remote."""
    inc = doc.get("include")
    line = line_of(doc, "include", 1)
    out = []
    for i, item in enumerate(as_list(inc)):
        iline = inc.item_lines[i] if isinstance(inc, LList) else line
        if isinstance(item, str):
            out.append(("remote" if item.startswith(("http://", "https://")) else "local", item, iline))
        elif isinstance(item, dict):
            for kind in ("local", "template", "project", "remote", "component"):
                if kind in item:
                    out.append((kind, as_str(item[kind]), iline))
    return out


def _resolve_extends(name: str, defs: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    spec = defs[name]
    if depth > 10 or not isinstance(spec, dict):
        return spec if isinstance(spec, dict) else {}
    result: dict[str, Any] = LDict()
    for parent in as_list(spec.get("extends")):
        if isinstance(parent, str) and parent in defs:
            result = merge(result, _resolve_extends(parent, defs, depth + 1))
    return merge(result, spec)


def _gitlab_schedule_rule(spec: dict[str, Any]) -> bool:
    only = spec.get("only")
    refs = only.get("refs") if isinstance(only, dict) else only
    if "schedules" in [as_str(r) for r in as_list(refs)]:
        return True
    for rule in as_list(spec.get("rules")):
        if isinstance(rule, dict) and re.search(
            r"CI_PIPELINE_SOURCE\s*==\s*['\"]schedule['\"]", as_str(rule.get("if"))
        ):
            return True
    return False


SOURCES = {"schedules": "schedule", "merge_requests": "merge_request_event", "pushes": "push", "web": "web"}
SOURCES |= {"api": "api", "triggers": "trigger", "pipelines": "pipeline"}


def _and(a: str, b: str) -> str:
    return f"({a}) && ({b})" if a and b else a or b


def _rules_condition(spec: dict[str, Any]) -> str:
    """The job's `rules:` (first match wins), `only:` and `except:` as one condition on $CI_PIPELINE_SOURCE."""
    rules = [r for r in as_list(spec.get("rules")) if isinstance(r, dict)]
    out = ""
    if rules:
        parts: list[str] = []
        prior: list[str] = []
        for rule in rules:
            cond = as_str(rule.get("if")) or "true"
            if as_str(rule.get("when")) != "never":
                parts.append(" && ".join([*(f"!({p})" for p in prior), f"({cond})"]))
            prior.append(cond)
        out = " || ".join(f"({p})" for p in parts) or "false"
    for key, negate in (("only", False), ("except", True)):
        value = spec.get(key)
        refs = [as_str(r) for r in as_list(value.get("refs") if isinstance(value, dict) else value)]
        if not refs:
            continue
        # A branch or tag name is unknown here (it may match the scheduled branch too).
        terms = [f'$CI_PIPELINE_SOURCE == "{SOURCES[r]}"' if r in SOURCES else "unknown_ref" for r in refs]
        either = " || ".join(terms)
        out = _and(out, f"!({either})" if negate else either)
    return out


def _gitlab_only_schedule(spec: dict[str, Any]) -> bool:
    rules = [r for r in as_list(spec.get("rules")) if isinstance(r, dict)]
    return bool(rules) and all(
        re.search(r"CI_PIPELINE_SOURCE\s*==\s*['\"]schedule['\"]", as_str(r.get("if")))
        or as_str(r.get("when")) == "never"
        for r in rules
    )


def parse(path: str, text: str, repo: RepoSnapshot) -> Pipeline:
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise ValueError("the GitLab CI file is not a YAML mapping")
    pipe = Pipeline("gitlab", path, path, len(text.splitlines()), ordering="stages", files=[path])
    pipe.triggers = {"push": 1, "merge_request": 1}  # GitLab runs branch and MR pipelines unless rules say otherwise
    defs: dict[str, Any] = {}
    sources: dict[str, tuple[str, list[str], int]] = {}  # job name → (file, its lines, line of the name)
    queue, seen = [(path, doc, text)], {path}
    while queue:
        fpath, fdoc, ftext = queue.pop(0)
        flines = ftext.splitlines()
        for kind, value, line in _gitlab_includes(fdoc):
            if kind == "template":
                pipe.templates.append((value, line))
            elif kind == "local" and len(seen) < MAX_INCLUDES:
                inc_path = value.lstrip("/")
                inc_text = repo.read_text(inc_path, MAX_PIPELINE_BYTES) if "*" not in inc_path else None
                if inc_text is None or inc_path in seen:
                    continue
                seen.add(inc_path)
                inc_doc = load_yaml(inc_text)
                if isinstance(inc_doc, dict):
                    pipe.files.append(inc_path)
                    queue.append((inc_path, inc_doc, inc_text))
        for name, spec in fdoc.items():
            if isinstance(name, str) and name not in GITLAB_RESERVED and isinstance(spec, dict):
                defs[name], sources[name] = spec, (fpath, flines, line_of(fdoc, name, 1))
    stages = doc.get("stages")
    pipe.stages = [as_str(s) for s in as_list(stages)] or GITLAB_DEFAULT_STAGES
    default = mapping(doc.get("default"))
    for name in defs:
        if name.startswith("."):
            continue  # hidden jobs are templates for `extends`
        spec = _resolve_extends(name, defs)
        if not any(k in spec for k in ("script", "trigger", "run")):
            continue
        fpath, flines, line = sources[name]
        job = Job(name, name, line, getattr(defs[name], "end_line", line), stage=as_str(spec.get("stage")) or "test")
        if fpath != path:
            job.name = f"{name} ({fpath})"
        if "needs" in spec:
            job.needs = [as_str(n.get("job")) if isinstance(n, dict) else as_str(n) for n in as_list(spec.get("needs"))]
        allow = spec.get("allow_failure")
        if allow is True:
            job.cannot_fail, job.cannot_fail_line = "allow_failure: true", line_of(spec, "allow_failure", line)
        when = as_str(spec.get("when"))
        rules_when = [as_str(r.get("when")) for r in as_list(spec.get("rules")) if isinstance(r, dict)]
        job.manual = when == "manual" or (bool(rules_when) and all(w in ("manual", "never") for w in rules_when))
        job.condition = _and("always()" if when in ("always", "on_failure") else "", _rules_condition(spec))
        job.scheduled_only = _gitlab_only_schedule(spec) or (_gitlab_schedule_rule(spec) and "only" in spec)
        if _gitlab_schedule_rule(spec):
            pipe.schedules.append(("GitLab pipeline schedule (rules)", line))
        job.artifacts = isinstance(spec.get("artifacts"), dict)
        before = script_commands(spec, "before_script", flines) or script_commands(default, "before_script", flines)
        main = script_commands(spec, "script", flines)
        after = script_commands(spec, "after_script", flines)
        job.steps.append(Step("script", line, job.end_line, commands=before + main))
        if after:
            job.steps.append(
                Step(
                    "after_script",
                    after[0].line,
                    job.end_line,
                    after,
                    cannot_fail="after_script",
                    cannot_fail_line=after[0].line,
                )
            )
        if fpath != path:
            for st in job.steps:
                st.name = f"{st.name} ({fpath})"
        pipe.jobs.append(job)
    return pipe
