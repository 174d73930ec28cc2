"""Finding every CI definition at HEAD and reading each with its system's parser."""

from __future__ import annotations

import re

import yaml

from harness.context import Context
from harness.probes import repository
from harness.probes.inventory import is_vendored
from harness.probes.pipelines import azure, bitbucket, circleci, github, gitlab, indirect, jenkins, travis
from harness.probes.pipelines.model import (
    ACTIONS_DIRS,
    ACTIONS_SYSTEMS,
    MAX_PIPELINE_BYTES,
    ROOT_FILES,
    SYSTEM_NAMES,
    Pipeline,
    PipelineProblem,
    Pipelines,
)
from harness.probes.repository import RepoSnapshot

# Azure Pipelines may live in any YAML file: one with a pipeline's top-level keys and steps or stages,
# and none of the keys that make it another format (a workflow, a compose file, a manifest).
AZURE_TOP = re.compile(r"^(trigger|pr|pool|stages|jobs|steps|schedules|extends)\s*:", re.M)
AZURE_ITEM = re.compile(r"^\s*-\s+(task|script|bash|pwsh|powershell|stage|job|deployment)\s*:", re.M)
OTHER_FORMAT = re.compile(r"^(on|services|apiVersion|workflows|pipelines|hosts|image|include|version)\s*:", re.M)
TEMPLATE_ONLY = re.compile(r"^parameters\s*:", re.M)
RUNS_ITSELF = re.compile(r"^(trigger|pr|pool|schedules)\s*:", re.M)
MAX_AZURE_CANDIDATES = 300
MAX_AZURE_BYTES = 256_000


def find(repo: RepoSnapshot) -> list[tuple[str, str]]:
    found = []
    others = []
    for f in repo.files:
        actions = next((d for d in ACTIONS_DIRS if f.path.startswith(d)), None)
        if actions and "/" not in f.path[len(actions) :] and f.suffix in (".yml", ".yaml"):
            found.append((f.path, ACTIONS_DIRS[actions]))
        elif f.path in ROOT_FILES:
            found.append((f.path, ROOT_FILES[f.path]))
        elif f.suffix in (".yml", ".yaml") and f.is_regular and f.size <= MAX_AZURE_BYTES and not is_vendored(f.path):
            others.append(f)
    for f, text in repo.texts(others[:MAX_AZURE_CANDIDATES]):
        if f.path.startswith((".github/", ".gitea/", ".forgejo/", ".circleci/")) or OTHER_FORMAT.search(text):
            continue
        template = TEMPLATE_ONLY.search(text) and not RUNS_ITSELF.search(text)
        if AZURE_TOP.search(text) and AZURE_ITEM.search(text) and not template:
            found.append((f.path, "azure"))
    return sorted(found)


def collect(repo: RepoSnapshot) -> Pipelines:
    pipelines: list[Pipeline] = []
    problems: list[PipelineProblem] = []
    for path, system in find(repo):
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
            if system in ACTIONS_SYSTEMS:
                pipelines.append(github.parse(path, text, system))
            elif system == "gitlab":
                pipelines.append(gitlab.parse(path, text, repo))
            elif system == "azure":
                pipelines.append(azure.parse(path, text))
            elif system == "circleci":
                pipelines.append(circleci.parse(path, text))
            elif system == "bitbucket":
                pipelines.append(bitbucket.parse(path, text))
            elif system == "travis":
                pipelines.append(travis.parse(path, text))
            else:
                pipelines.append(jenkins.parse(path, text))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problems.append(PipelineProblem(path, f"malformed YAML{where}: {getattr(exc, 'problem', None) or exc}"))
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
            problems.append(PipelineProblem(path, f"not a valid {SYSTEM_NAMES[system]} definition: {exc}"))
    indirect.resolve(pipelines, repo)
    for system in ACTIONS_SYSTEMS:
        same = [p for p in pipelines if p.system == system]
        if same:
            github.expand_calls(same, problems, {p.path for p in problems})
    return Pipelines(pipelines, problems, repo.head)


def get(ctx: Context) -> Pipelines:
    repo = repository.get(ctx)
    return ctx.memo("pipelines", lambda: collect(repo))


def collect_paths(repo: RepoSnapshot) -> list[tuple[str, str]]:
    """(path, system) of every pipeline definition at HEAD, parsed or not."""
    return find(repo)
