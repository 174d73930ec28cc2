"""The pipelines probe: every CI definition at HEAD, normalised to pipelines → jobs → steps.

GitHub Actions and GitLab CI are read in depth (triggers, needs, stages, local
includes, extends, allow_failure, continue-on-error); Azure Pipelines, CircleCI,
Bitbucket, Travis and Jenkinsfiles well enough to see their test, build and
deploy commands and the order they run in. Every step and command keeps its line
so that a finding can name the exact place. Steps are classified (test, build,
publish, deploy, security scans) with the patterns in harness/data/pipeline_tools.yaml.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from harness.context import Context
from harness.model import Evidence
from harness.probes import repository
from harness.probes.repository import RepoSnapshot

MAX_PIPELINE_BYTES = 1_000_000
MAX_INCLUDES = 20
MAX_CALL_DEPTH = 10  # GitHub's own limit on nested reusable workflows
MAX_EXPANDED_JOBS = 2000  # a bound on fan-out (a workflow calling another many times, nested)

GITHUB_DIR = ".github/workflows/"
ROOT_FILES = {
    ".gitlab-ci.yml": "gitlab",
    "azure-pipelines.yml": "azure",
    "azure-pipelines.yaml": "azure",
    "Jenkinsfile": "jenkins",
    ".travis.yml": "travis",
    ".circleci/config.yml": "circleci",
    "bitbucket-pipelines.yml": "bitbucket",
}
SYSTEM_NAMES = {
    "github": "GitHub Actions",
    "gitlab": "GitLab CI",
    "azure": "Azure Pipelines",
    "jenkins": "Jenkins",
    "travis": "Travis CI",
    "circleci": "CircleCI",
    "bitbucket": "Bitbucket Pipelines",
}

# Commands that do nothing a reviewer could rely on: a pipeline of only these is a placeholder.
INERT_COMMANDS = {"echo", "printf", "true", ":", "sleep", "exit", "ls", "pwd", "date", "whoami", "cat", "env"}
# Actions that only prepare the runner.
INERT_USES = re.compile(r"^(actions/(checkout|setup-[\w-]+|cache)|checkout$)", re.I)
# A command whose failure is swallowed: `cmd || true`, `|| echo ...`, `|| exit 0`, `|| :`, `; exit 0`.
SWALLOW = re.compile(r"\|\|\s*(true\b|:|echo\b|exit\s+0\b|/bin/true\b|printf\b)|;\s*exit\s+0\b")
# Job conditions that run a job even when the jobs it needs failed.
RUNS_AFTER_FAILURE = re.compile(r"\b(always|failure)\(\)|!\s*cancelled\(\)")
SEGMENT_SPLIT = re.compile(r"&&|\|\||;|\|")


# -- model ------------------------------------------------------------------
@dataclass
class Command:
    text: str  # one logical shell line (continuations joined)
    line: int

    @property
    def segments(self) -> list[str]:
        """The line's commands, without inert ones (so `echo "pytest"` is never a test)."""
        out = []
        for seg in SEGMENT_SPLIT.split(self.text):
            seg = seg.strip()
            words = seg.split()
            # Skip leading VAR=value assignments and sudo.
            while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] == "sudo"):
                words = words[1:]
            if words and words[0] not in INERT_COMMANDS:
                out.append(" ".join(words))
        return out


@dataclass
class Step:
    name: str
    line: int
    end_line: int
    commands: list[Command] = field(default_factory=list)
    uses: str = ""  # action, Azure task, CircleCI orb command or Bitbucket pipe
    inputs: dict[str, str] = field(default_factory=dict)
    condition: str = ""
    cannot_fail: str = ""  # why this step's failure never fails the pipeline
    cannot_fail_line: int | None = None

    @property
    def inert(self) -> bool:
        if self.uses and not INERT_USES.search(self.uses):
            return False
        return all(not c.segments for c in self.commands)


@dataclass
class Job:
    id: str
    name: str
    line: int
    end_line: int
    steps: list[Step] = field(default_factory=list)
    needs: list[str] | None = None  # None: the system's default ordering applies
    stage: str = ""
    group: str = ""  # jobs in a sequential pipeline are ordered within their group
    condition: str = ""
    cannot_fail: str = ""
    cannot_fail_line: int | None = None
    manual: bool = False
    scheduled_only: bool = False
    artifacts: bool = False  # the CI keeps files from this job (GitLab artifacts:)
    path: str = ""  # the file defining the job when it is not the pipeline's own (a called reusable workflow)
    via: str = ""  # the calls that brought it in: "deploy.yml job `ci` → ci.yml job `x`"
    calls: str = ""  # the reusable workflow this job calls (GitHub `jobs.<id>.uses`)
    call_note: str = ""  # why that workflow's jobs are not part of the pipeline (remote, missing, cycle)


@dataclass
class Pipeline:
    system: str  # github | gitlab | azure | jenkins | travis | circleci | bitbucket
    path: str
    name: str
    lines: int
    triggers: dict[str, int] = field(default_factory=dict)  # trigger → line
    schedules: list[tuple[str, int]] = field(default_factory=list)  # (cron, line)
    workflow_run: list[str] = field(default_factory=list)  # workflows whose completion triggers this one
    jobs: list[Job] = field(default_factory=list)
    ordering: str = "needs"  # needs | stages | sequential
    stages: list[str] = field(default_factory=list)
    templates: list[tuple[str, int]] = field(default_factory=list)  # GitLab `include: template:`
    files: list[str] = field(default_factory=list)  # this file and its local includes
    called_by: list[str] = field(default_factory=list)  # workflows that call this one (`uses: ./...`)
    _base: Pipeline | None = field(default=None, repr=False, compare=False)
    _views: dict[str, Pipeline] = field(default_factory=dict, repr=False, compare=False)

    @property
    def system_name(self) -> str:
        return SYSTEM_NAMES[self.system]

    def view(self, path: str) -> Pipeline:
        """This pipeline as seen from `path`, a workflow it calls: same jobs and triggers, that file's lines.

        Matches in called jobs carry a view so that `m.pipeline.path:m.line` names the right file while
        the triggers (and so is_ci/is_automatic) remain the caller's.
        """
        base = self._base or self
        if not path or path == base.path:
            return base
        if path not in base._views:
            base._views[path] = dataclasses.replace(base, path=path, files=[path], _base=base, _views={})
        return base._views[path]

    def job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.id == job_id), None)


@dataclass
class PipelineProblem:
    path: str
    message: str


@dataclass
class Pipelines:
    pipelines: list[Pipeline]
    problems: list[PipelineProblem]  # files found but not readable as pipelines
    head: str | None


# -- YAML with line numbers -------------------------------------------------
class LDict(dict[Any, Any]):
    line = 0
    end_line = 0
    key_lines: dict[Any, int]


class LList(list[Any]):
    line = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences remember their lines."""


def _end_line(node: yaml.Node) -> int:
    mark = node.end_mark
    return mark.line if mark.column == 0 else mark.line + 1


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> LDict:
    loader.flatten_mapping(node)
    out = LDict()
    out.line, out.end_line, out.key_lines = node.start_mark.line + 1, _end_line(node), {}
    for knode, vnode in node.value:
        key = loader.construct_object(knode, deep=True)
        if not isinstance(key, str | int | float | bool | None):
            raise yaml.constructor.ConstructorError(None, None, "unhashable key", knode.start_mark)
        out[key] = loader.construct_object(vnode, deep=True)
        out.key_lines[key] = knode.start_mark.line + 1
    return out


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> LList:
    out = LList(loader.construct_object(n, deep=True) for n in node.value)
    out.line, out.item_lines = node.start_mark.line + 1, [n.start_mark.line + 1 for n in node.value]
    return out


def _construct_tag(loader: _LineLoader, tag_suffix: str, node: yaml.Node) -> str:
    # GitLab's `!reference [.job, script]` and other custom tags: kept as text, never executed.
    return f"!{tag_suffix}"


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)
_LineLoader.add_multi_constructor("!", _construct_tag)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LineLoader)  # nosec B506 - a SafeLoader subclass: no arbitrary objects


def _line_of(obj: Any, key: Any, default: int) -> int:
    return obj.key_lines.get(key, default) if isinstance(obj, LDict) else default


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value) if isinstance(value, int | float) else ""


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# -- shell text -------------------------------------------------------------
def split_script(text: str, first_line: int, raw_lines: list[str] | None = None) -> list[Command]:
    """One Command per logical line; line numbers found in the raw file when given."""
    out: list[Command] = []
    pending, first_part = "", ""
    search_from = first_line
    for raw in text.splitlines():
        line = raw.strip()
        if not pending:
            first_part = line
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if not full or full.startswith("#"):
            continue
        where = first_line
        if raw_lines is not None:
            where = _find_line(raw_lines, search_from, first_part[:60], search_from)
            search_from = where
        out.append(Command(full, where))
    if pending.strip():
        out.append(Command(pending.strip(), search_from))
    return out


def _find_line(raw_lines: list[str], start: int, needle: str, default: int) -> int:
    needle = needle.strip()
    if not needle:
        return default
    for i in range(max(0, start - 1), min(len(raw_lines), start + 400)):
        if needle in raw_lines[i]:
            return i + 1
    return default


# -- GitHub Actions ---------------------------------------------------------
def _parse_github(path: str, text: str) -> Pipeline:
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise ValueError("the workflow is not a YAML mapping")
    raw_lines = text.splitlines()
    on_key = "on" if "on" in doc else True if True in doc else None  # YAML 1.1 reads `on` as true
    if on_key is None:
        raise ValueError("the workflow has no `on:` triggers")
    if not isinstance(doc.get("jobs"), dict):
        raise ValueError("the workflow has no `jobs:` mapping")
    pipe = Pipeline("github", path, _s(doc.get("name")) or path.rsplit("/", 1)[-1], len(raw_lines), files=[path])
    on, on_line = doc[on_key], _line_of(doc, on_key, 1)
    if isinstance(on, str):
        pipe.triggers[on] = on_line
    elif isinstance(on, list):
        for i, t in enumerate(on):
            pipe.triggers[_s(t)] = on.item_lines[i] if isinstance(on, LList) else on_line
    elif isinstance(on, dict):
        for t, spec in on.items():
            pipe.triggers[_s(t)] = _line_of(on, t, on_line)
            if t == "schedule":
                for i, entry in enumerate(_as_list(spec)):
                    line = spec.item_lines[i] if isinstance(spec, LList) else pipe.triggers["schedule"]
                    pipe.schedules.append((_s(entry.get("cron")) if isinstance(entry, dict) else "", line))
            if t == "workflow_run" and isinstance(spec, dict):
                pipe.workflow_run = [_s(w) for w in _as_list(spec.get("workflows"))]
    for job_id, spec in doc["jobs"].items():
        if not isinstance(spec, dict):
            continue
        line = _line_of(doc["jobs"], job_id, 1)
        job = Job(_s(job_id), _s(spec.get("name")) or _s(job_id), line, getattr(spec, "end_line", line))
        job.needs = [_s(n) for n in _as_list(spec.get("needs"))]
        job.condition = _s(spec.get("if"))
        if _s(spec.get("continue-on-error")) == "true":
            job.cannot_fail, job.cannot_fail_line = "continue-on-error: true", _line_of(spec, "continue-on-error", line)
        if "uses" in spec:  # a reusable workflow call: one opaque step until collect() expands it
            job.calls = _s(spec.get("uses"))
            job.steps.append(Step(job.calls, line, job.end_line, uses=job.calls))
        for i, st in enumerate(_as_list(spec.get("steps"))):
            if not isinstance(st, dict):
                continue
            sline = st.line if isinstance(st, LDict) else line
            step = Step(
                _s(st.get("name")) or _s(st.get("uses")) or _s(st.get("run")).split("\n")[0][:60] or f"step {i + 1}",
                sline,
                getattr(st, "end_line", sline),
                uses=_s(st.get("uses")),
                condition=_s(st.get("if")),
            )
            with_ = st.get("with")
            if isinstance(with_, dict):
                step.inputs = {_s(k): _s(v) for k, v in with_.items()}
            if "run" in st:
                step.commands = split_script(_s(st.get("run")), _line_of(st, "run", sline), raw_lines)
            if _s(st.get("continue-on-error")) == "true":
                step.cannot_fail = "continue-on-error: true"
                step.cannot_fail_line = _line_of(st, "continue-on-error", sline)
            job.steps.append(step)
        pipe.jobs.append(job)
    return pipe


# -- GitLab CI --------------------------------------------------------------
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
    line = _line_of(doc, "include", 1)
    out = []
    for i, item in enumerate(_as_list(inc)):
        iline = inc.item_lines[i] if isinstance(inc, LList) else line
        if isinstance(item, str):
            out.append(("remote" if item.startswith(("http://", "https://")) else "local", item, iline))
        elif isinstance(item, dict):
            for kind in ("local", "template", "project", "remote", "component"):
                if kind in item:
                    out.append((kind, _s(item[kind]), iline))
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = LDict(base)
    merged.key_lines = dict(getattr(base, "key_lines", {}))
    merged.line, merged.end_line = getattr(over, "line", 0), getattr(over, "end_line", 0)
    for k, v in over.items():
        merged[k] = v
        merged.key_lines[k] = _line_of(over, k, merged.line)
    return merged


def _resolve_extends(name: str, defs: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    spec = defs[name]
    if depth > 10 or not isinstance(spec, dict):
        return spec if isinstance(spec, dict) else {}
    result: dict[str, Any] = LDict()
    for parent in _as_list(spec.get("extends")):
        if isinstance(parent, str) and parent in defs:
            result = _merge(result, _resolve_extends(parent, defs, depth + 1))
    return _merge(result, spec)


def _script_commands(spec: dict[str, Any], key: str, file_lines: list[str]) -> list[Command]:
    value = spec.get(key)
    base = _line_of(spec, key, getattr(spec, "line", 1))
    out: list[Command] = []
    for i, item in enumerate(_as_list(value)):
        line = value.item_lines[i] if isinstance(value, LList) and i < len(value.item_lines) else base
        if isinstance(item, list):  # nested lists from !reference or anchors
            for sub in item:
                out += split_script(_s(sub), line, file_lines)
        else:
            out += split_script(_s(item), line, file_lines)
    return out


def _gitlab_schedule_rule(spec: dict[str, Any]) -> bool:
    only = spec.get("only")
    refs = only.get("refs") if isinstance(only, dict) else only
    if "schedules" in [_s(r) for r in _as_list(refs)]:
        return True
    for rule in _as_list(spec.get("rules")):
        if isinstance(rule, dict) and re.search(r"CI_PIPELINE_SOURCE\s*==\s*['\"]schedule['\"]", _s(rule.get("if"))):
            return True
    return False


def _gitlab_only_schedule(spec: dict[str, Any]) -> bool:
    rules = [r for r in _as_list(spec.get("rules")) if isinstance(r, dict)]
    return bool(rules) and all(
        re.search(r"CI_PIPELINE_SOURCE\s*==\s*['\"]schedule['\"]", _s(r.get("if"))) or _s(r.get("when")) == "never"
        for r in rules
    )


def _parse_gitlab(path: str, text: str, repo: RepoSnapshot) -> Pipeline:
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
                defs[name], sources[name] = spec, (fpath, flines, _line_of(fdoc, name, 1))
    stages = doc.get("stages")
    pipe.stages = [_s(s) for s in _as_list(stages)] or GITLAB_DEFAULT_STAGES
    default = _mapping(doc.get("default"))
    for name in defs:
        if name.startswith("."):
            continue  # hidden jobs are templates for `extends`
        spec = _resolve_extends(name, defs)
        if not any(k in spec for k in ("script", "trigger", "run")):
            continue
        fpath, flines, line = sources[name]
        job = Job(name, name, line, getattr(defs[name], "end_line", line), stage=_s(spec.get("stage")) or "test")
        if fpath != path:
            job.name = f"{name} ({fpath})"
        if "needs" in spec:
            job.needs = [_s(n.get("job")) if isinstance(n, dict) else _s(n) for n in _as_list(spec.get("needs"))]
        allow = spec.get("allow_failure")
        if allow is True:
            job.cannot_fail, job.cannot_fail_line = "allow_failure: true", _line_of(spec, "allow_failure", line)
        when = _s(spec.get("when"))
        rules_when = [_s(r.get("when")) for r in _as_list(spec.get("rules")) if isinstance(r, dict)]
        job.manual = when == "manual" or (bool(rules_when) and all(w in ("manual", "never") for w in rules_when))
        job.condition = "always()" if when in ("always", "on_failure") else ""
        job.scheduled_only = _gitlab_only_schedule(spec) or (_gitlab_schedule_rule(spec) and "only" in spec)
        if _gitlab_schedule_rule(spec):
            pipe.schedules.append(("GitLab pipeline schedule (rules)", line))
        job.artifacts = isinstance(spec.get("artifacts"), dict)
        before = _script_commands(spec, "before_script", flines) or _script_commands(default, "before_script", flines)
        main = _script_commands(spec, "script", flines)
        after = _script_commands(spec, "after_script", flines)
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


# -- Azure Pipelines --------------------------------------------------------
AZURE_SCRIPT_KEYS = ("script", "bash", "pwsh", "powershell")


def _azure_steps(steps: Any, raw_lines: list[str]) -> list[Step]:
    out = []
    for st in _as_list(steps):
        if not isinstance(st, dict):
            continue
        sline = getattr(st, "line", 1)
        step = Step(_s(st.get("displayName")) or _s(st.get("task")) or "script", sline, getattr(st, "end_line", sline))
        for key in AZURE_SCRIPT_KEYS:
            if key in st:
                step.commands = split_script(_s(st[key]), _line_of(st, key, sline), raw_lines)
        if "task" in st:
            step.uses = _s(st["task"])
            inputs = _mapping(st.get("inputs"))
            step.inputs = {_s(k): _s(v) for k, v in inputs.items()}
            for key in ("inlineScript", "script"):
                if key in inputs:
                    step.commands += split_script(_s(inputs[key]), _line_of(inputs, key, sline), raw_lines)
        if _s(st.get("continueOnError")) == "true":
            step.cannot_fail, step.cannot_fail_line = "continueOnError: true", _line_of(st, "continueOnError", sline)
        step.condition = _s(st.get("condition"))
        out.append(step)
    return out


def _parse_azure(path: str, text: str) -> Pipeline:
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise ValueError("the Azure Pipelines file is not a YAML mapping")
    raw = text.splitlines()
    pipe = Pipeline("azure", path, _s(doc.get("name")) or path, len(raw), ordering="stages", files=[path])
    trig, pr = doc.get("trigger", "default"), doc.get("pr", "default")
    if _s(trig) != "none":
        pipe.triggers["push"] = _line_of(doc, "trigger", 1)
    if _s(pr) != "none":
        pipe.triggers["pull_request"] = _line_of(doc, "pr", 1)
    for sched in _as_list(doc.get("schedules")):
        if isinstance(sched, dict):
            pipe.triggers["schedule"] = _line_of(doc, "schedules", 1)
            pipe.schedules.append((_s(sched.get("cron")), getattr(sched, "line", 1)))
    stages = doc.get("stages")
    if stages is None:
        stages = [LDict(stage="default", jobs=doc.get("jobs") or [LDict(job="default", steps=doc.get("steps"))])]
    for st_i, stage in enumerate(_as_list(stages)):
        if not isinstance(stage, dict):
            continue
        sname = _s(stage.get("stage")) or f"stage{st_i}"
        pipe.stages.append(sname)
        for j in _as_list(stage.get("jobs")):
            if not isinstance(j, dict):
                continue
            jname = _s(j.get("job") or j.get("deployment")) or "job"
            line = getattr(j, "line", getattr(stage, "line", 1))
            job = Job(f"{sname}.{jname}", _s(j.get("displayName")) or jname, line, getattr(j, "end_line", line))
            job.stage = sname
            if "dependsOn" in j:
                job.needs = [f"{sname}.{_s(d)}" for d in _as_list(j.get("dependsOn"))]
            if _s(j.get("continueOnError")) == "true":
                job.cannot_fail, job.cannot_fail_line = "continueOnError: true", _line_of(j, "continueOnError", line)
            job.condition = _s(j.get("condition")) or _s(stage.get("condition"))
            steps = j.get("steps")
            strategy = j.get("strategy")
            if steps is None and isinstance(strategy, dict):  # deployment jobs: strategy.runOnce.deploy.steps
                for phase in strategy.values():
                    if isinstance(phase, dict) and isinstance(phase.get("deploy"), dict):
                        steps = phase["deploy"].get("steps")
            job.steps = _azure_steps(steps, raw)
            pipe.jobs.append(job)
    return pipe


# -- CircleCI ---------------------------------------------------------------
def _parse_circleci(path: str, text: str) -> Pipeline:
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise ValueError("the CircleCI config is not a YAML mapping")
    raw = text.splitlines()
    pipe = Pipeline("circleci", path, path, len(raw), triggers={"push": 1}, files=[path])
    jobs = _mapping(doc.get("jobs"))
    requires: dict[str, list[str]] = {}
    for wf in (doc.get("workflows") or {}).values() if isinstance(doc.get("workflows"), dict) else []:
        if not isinstance(wf, dict):
            continue
        for trig in _as_list(wf.get("triggers")):
            if isinstance(trig, dict) and isinstance(trig.get("schedule"), dict):
                pipe.triggers["schedule"] = getattr(trig, "line", 1)
                pipe.schedules.append((_s(trig["schedule"].get("cron")), getattr(trig, "line", 1)))
        for entry in _as_list(wf.get("jobs")):
            if isinstance(entry, dict):
                for jname, conf in entry.items():
                    req = conf.get("requires") if isinstance(conf, dict) else None
                    requires.setdefault(_s(jname), []).extend(_s(r) for r in _as_list(req))
                    if _s(jname) not in jobs:  # an orb job used directly in the workflow
                        jobs[_s(jname)] = LDict(steps=[LDict({_s(jname): conf})])
            elif isinstance(entry, str):
                requires.setdefault(entry, [])
    for jname, spec in jobs.items():
        if not isinstance(spec, dict):
            continue
        line = _line_of(jobs, jname, getattr(spec, "line", 1))
        job = Job(_s(jname), _s(jname), line, getattr(spec, "end_line", line), needs=requires.get(_s(jname), []))
        for st in _as_list(spec.get("steps")):
            sline = getattr(st, "line", line)
            if isinstance(st, str):
                job.steps.append(Step(st, sline, sline, uses=st))
            elif isinstance(st, dict) and "run" in st:
                run = st["run"]
                cmd = run.get("command") if isinstance(run, dict) else run
                name = _s(run.get("name")) if isinstance(run, dict) else ""
                job.steps.append(
                    Step(name or _s(cmd)[:60], sline, getattr(st, "end_line", sline), split_script(_s(cmd), sline, raw))
                )
            elif isinstance(st, dict):
                for key, conf in st.items():
                    inputs = {_s(k): _s(v) for k, v in conf.items()} if isinstance(conf, dict) else {}
                    job.steps.append(Step(_s(key), sline, getattr(st, "end_line", sline), uses=_s(key), inputs=inputs))
        pipe.jobs.append(job)
    return pipe


# -- Bitbucket Pipelines ----------------------------------------------------
def _bitbucket_steps(items: Any, group: str, pipe: Pipeline, raw: list[str]) -> None:
    for item in _as_list(items):
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
        name = _s(spec.get("name")) or f"step {len(pipe.jobs) + 1}"
        job = Job(f"{group}/{name}", name, line, getattr(spec, "end_line", line), group=group)
        job.manual = _s(spec.get("trigger")) == "manual"
        step = Step(name, line, job.end_line)
        script, base = spec.get("script"), _line_of(spec, "script", line)
        for i, cmd in enumerate(_as_list(script)):
            cline = script.item_lines[i] if isinstance(script, LList) else base
            if isinstance(cmd, dict) and "pipe" in cmd:
                variables = _mapping(cmd.get("variables"))
                job.steps.append(
                    Step(
                        _s(cmd["pipe"]),
                        cline,
                        cline,
                        uses=_s(cmd["pipe"]),
                        inputs={_s(k): _s(v) for k, v in variables.items()},
                    )
                )
            else:
                step.commands += split_script(_s(cmd), cline, raw)
        job.steps.insert(0, step)
        after = spec.get("after-script")
        if after:
            aline = _line_of(spec, "after-script", line)
            cmds = [c for x in _as_list(after) for c in split_script(_s(x), aline, raw)]
            job.steps.append(
                Step("after-script", aline, job.end_line, cmds, cannot_fail="after-script", cannot_fail_line=aline)
            )
        pipe.jobs.append(job)


def _parse_bitbucket(path: str, text: str) -> Pipeline:
    doc = load_yaml(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("pipelines"), dict):
        raise ValueError("the Bitbucket file has no `pipelines:` mapping")
    raw = text.splitlines()
    pipe = Pipeline("bitbucket", path, path, len(raw), ordering="sequential", files=[path])
    pls = doc["pipelines"]
    for section, body in pls.items():
        line = _line_of(pls, section, 1)
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


# -- Travis CI --------------------------------------------------------------
TRAVIS_PHASES = ("before_install", "install", "before_script", "script")


def _parse_travis(path: str, text: str) -> Pipeline:
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise ValueError("the Travis file is not a YAML mapping")
    raw = text.splitlines()
    pipe = Pipeline("travis", path, path, len(raw), ordering="sequential", files=[path])
    pipe.triggers = {"push": 1, "pull_request": 1}

    def job_from(spec: dict[str, Any], name: str) -> Job:
        line = getattr(spec, "line", 1)
        job = Job(name, name, line, getattr(spec, "end_line", line), group="travis")
        cmds = [c for ph in TRAVIS_PHASES for c in _script_commands(spec, ph, raw)]
        job.steps.append(Step("script", line, job.end_line, cmds))
        after = _script_commands(spec, "after_success", raw)
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
        for dep in _as_list(spec.get("deploy")):
            dline = _line_of(spec, "deploy", line)
            provider = _s(dep.get("provider")) if isinstance(dep, dict) else ""
            dstep = Step(f"deploy {provider}", dline, dline, uses=f"travis-deploy:{provider}")
            if provider == "script" and isinstance(dep, dict):
                dstep.commands = split_script(_s(dep.get("script")), dline, raw)
            job.steps.append(dstep)
        return job

    if any(k in doc for k in (*TRAVIS_PHASES, "deploy")):
        pipe.jobs.append(job_from(doc, "build"))
    jobs = doc.get("jobs") or doc.get("matrix")
    if isinstance(jobs, dict):
        for i, inc in enumerate(_as_list(jobs.get("include"))):
            if isinstance(inc, dict):
                pipe.jobs.append(job_from(_merge(doc, inc), _s(inc.get("name") or inc.get("stage")) or f"job {i + 1}"))
    return pipe


# -- Jenkinsfile ------------------------------------------------------------
JENKINS_STAGE = re.compile(r"""\bstage\s*\(\s*['"]([^'"]+)['"]""")
JENKINS_SH = re.compile(r"""\b(sh|bat|powershell|pwsh)\s*(?:\(\s*(?:script\s*:\s*)?)?(['"]{1,3})(.*)""")


def _parse_jenkins(path: str, text: str) -> Pipeline:
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


# -- collection -------------------------------------------------------------
def _find(repo: RepoSnapshot) -> list[tuple[str, str]]:
    found = []
    for f in repo.files:
        if f.path.startswith(GITHUB_DIR) and "/" not in f.path[len(GITHUB_DIR) :] and f.suffix in (".yml", ".yaml"):
            found.append((f.path, "github"))
        elif f.path in ROOT_FILES:
            found.append((f.path, ROOT_FILES[f.path]))
    return sorted(found)


def collect(repo: RepoSnapshot) -> Pipelines:
    pipelines: list[Pipeline] = []
    problems: list[PipelineProblem] = []
    for path, system in _find(repo):
        entry = repo.get(path)
        if entry is None or not entry.is_regular:
            problems.append(PipelineProblem(path, "not a regular file (symlink or submodule)"))
            continue
        if entry.size > MAX_PIPELINE_BYTES:
            problems.append(PipelineProblem(path, f"larger than {MAX_PIPELINE_BYTES} bytes: not read"))
            continue
        text = repo.read_text(path, MAX_PIPELINE_BYTES)
        if text is None:
            problems.append(PipelineProblem(path, "binary or unreadable"))
            continue
        try:
            if system == "github":
                pipelines.append(_parse_github(path, text))
            elif system == "gitlab":
                pipelines.append(_parse_gitlab(path, text, repo))
            elif system == "azure":
                pipelines.append(_parse_azure(path, text))
            elif system == "circleci":
                pipelines.append(_parse_circleci(path, text))
            elif system == "bitbucket":
                pipelines.append(_parse_bitbucket(path, text))
            elif system == "travis":
                pipelines.append(_parse_travis(path, text))
            else:
                pipelines.append(_parse_jenkins(path, text))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problems.append(PipelineProblem(path, f"malformed YAML{where}: {getattr(exc, 'problem', None) or exc}"))
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
            problems.append(PipelineProblem(path, f"not a valid {SYSTEM_NAMES[system]} definition: {exc}"))
    _expand_calls([p for p in pipelines if p.system == "github"], problems, {p.path for p in problems})
    return Pipelines(pipelines, problems, repo.head)


def _local_call(uses: str) -> str | None:
    """The repository path of a local reusable workflow (`./.github/workflows/x.yml`), None when remote."""
    return posixpath.normpath(uses[2:]) if uses.startswith("./") else None


def _and(outer: str, inner: str) -> str:
    return f"({outer}) && ({inner})" if outer and inner else outer or inner


def reusable_only(pipe: Pipeline) -> bool:
    """Triggered only by `workflow_call`: it runs as part of its callers, never by itself."""
    return pipe.system == "github" and set(pipe.triggers) == {"workflow_call"}


def _expand_calls(workflows: list[Pipeline], problems: list[PipelineProblem], unreadable: set[str]) -> None:
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


def get(ctx: Context) -> Pipelines:
    repo = repository.get(ctx)
    return ctx.memo("pipelines", lambda: collect(repo))


# -- classification ---------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """A step doing something of a kind (test, build, publish, deploy, or a scanner)."""

    pipeline: Pipeline
    job: Job
    step: Step
    kind: str
    text: str  # the command or action reference that matched
    line: int
    tool: str = ""
    cannot_fail: str = ""  # why a failure here never fails the pipeline ("" when it can)
    cannot_fail_line: int | None = None

    @property
    def blocking(self) -> bool:
        return not self.cannot_fail

    @property
    def where(self) -> str:
        return f"{self.pipeline.path}:{self.line}"

    @property
    def via(self) -> str:
        """` (called from …)` when the step is in a reusable workflow called by another, else ""."""
        return f" (called from {self.job.via})" if self.job.via else ""


@cache
def tools() -> dict[str, Any]:
    text = resources.files("harness.data").joinpath("pipeline_tools.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _uses_matches(spec: Any, step: Step) -> bool:
    if not step.uses:
        return False
    if isinstance(spec, str):
        return re.search(spec, step.uses) is not None
    if not re.search(spec["uses"], step.uses):
        return False
    return all(re.search(rx, step.inputs.get(k, ""), re.I) for k, rx in spec.get("with", {}).items())


def _swallowed(step: Step, cmd: Command, job: Job) -> tuple[str, int | None]:
    """Why a failure of `cmd` does not fail the pipeline, or ("", None)."""
    m = SWALLOW.search(cmd.text)
    if m:
        return f"`{m.group(0).strip()}` swallows the exit status", cmd.line
    set_e_off: Command | None = None
    for c in step.commands:
        if c is cmd:
            break
        if re.search(r"\bset\s+\+e\b", c.text):
            set_e_off = c
        elif re.search(r"\bset\s+-[a-z]*e", c.text):
            set_e_off = None
    if set_e_off is not None:
        return "`set +e` before the command ignores its exit status", set_e_off.line
    if step.cannot_fail:
        return step.cannot_fail, step.cannot_fail_line
    if job.cannot_fail:
        return job.cannot_fail, job.cannot_fail_line
    return "", None


def classify(pipe: Pipeline, kind: str) -> list[Match]:
    """Every step of `pipe` doing `kind` (test, build, publish or deploy)."""
    spec = tools()["kinds"][kind]
    out: list[Match] = []
    for job in pipe.jobs:
        seen = pipe.view(job.path)
        for step in job.steps:
            if any(_uses_matches(u, step) for u in spec.get("uses", [])):
                why, wline = _swallowed(step, Command("", step.line), job)
                out.append(Match(seen, job, step, kind, step.uses, step.line, cannot_fail=why, cannot_fail_line=wline))
            for cmd in step.commands:
                if any(re.search(rx, seg) for seg in cmd.segments for rx in spec.get("run", [])):
                    why, wline = _swallowed(step, cmd, job)
                    out.append(
                        Match(seen, job, step, kind, cmd.text, cmd.line, cannot_fail=why, cannot_fail_line=wline)
                    )
    return out


def security_scans(pipe: Pipeline) -> list[Match]:
    out: list[Match] = []
    for tool in tools()["security"]:
        for job in pipe.jobs:
            for step in job.steps:
                hits: list[tuple[str, int, Command | None]] = []
                if tool.get("uses") and step.uses and re.search(tool["uses"], step.uses, re.I):
                    hits.append((step.uses, step.line, None))
                if tool.get("run"):
                    for cmd in step.commands:
                        if any(re.search(tool["run"], seg) for seg in cmd.segments):
                            hits.append((cmd.text, cmd.line, cmd))
                for text, line, hit in hits:
                    why, wline = _swallowed(step, hit or Command("", line), job)
                    config = text + "\n" + "\n".join(f"{k}: {v}" for k, v in step.inputs.items())
                    soft = next((rx for rx in tool.get("soft", []) if re.search(rx, config)), None)
                    hard = any(re.search(rx, config) for rx in tool.get("hard", []))
                    default = tool.get("fails_by_default")
                    if not why and soft:
                        why, wline = f"`{re.search(soft, config).group(0)}` stops it failing the build", line  # type: ignore[union-attr]
                    elif not why and default is False and not hard:
                        why, wline = (
                            f"{tool['tool']} exits 0 on findings unless told to fail (e.g. an exit-code option)",
                            line,
                        )
                    elif not why and default == "report" and not hard:
                        why, wline = f"{tool['tool']} reports to a dashboard; it fails no build by itself", line
                    seen = pipe.view(job.path)
                    out.append(Match(seen, job, step, tool["category"], text, line, tool["tool"], why, wline))
    for template, line in pipe.templates:
        for t in tools()["gitlab_templates"]:
            if t["template"].lower() in template.lower():
                dummy = Job("(template)", template, line, line)
                step = Step(template, line, line, uses=template)
                out.append(
                    Match(
                        pipe,
                        dummy,
                        step,
                        t["category"],
                        template,
                        line,
                        t["tool"],
                        "GitLab's template jobs set allow_failure: true",
                        line,
                    )
                )
    return out


# -- ordering ---------------------------------------------------------------
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
        earlier = set(pipe.stages[:idx])
        return [j for j in pipe.jobs if j.stage in earlier]
    if pipe.ordering == "sequential":
        same = [j for j in pipe.jobs if j.group == job.group]
        pos = next((i for i, j in enumerate(same) if j is job), 0)
        return same[:pos]
    return []


def runs_after_failure(job: Job) -> bool:
    return bool(RUNS_AFTER_FAILURE.search(job.condition))


def describe(pipe: Pipeline) -> str:
    return f"{pipe.system_name} {pipe.path}"


# -- evidence ---------------------------------------------------------------
CI_TRIGGERS = {"push", "pull_request", "pull_request_target", "merge_request", "merge_group"}


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


def collect_paths(repo: RepoSnapshot) -> list[tuple[str, str]]:
    """(path, system) of every pipeline definition at HEAD, parsed or not."""
    return _find(repo)
