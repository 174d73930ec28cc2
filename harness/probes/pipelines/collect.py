"""Finding every CI definition at HEAD and reading each with its system's parser."""

from __future__ import annotations

import yaml

from harness.context import Context
from harness.probes import repository
from harness.probes.pipelines import azure, bitbucket, circleci, github, gitlab, indirect, jenkins, travis
from harness.probes.pipelines.model import (
    GITHUB_DIR,
    MAX_PIPELINE_BYTES,
    ROOT_FILES,
    SYSTEM_NAMES,
    Pipeline,
    PipelineProblem,
    Pipelines,
)
from harness.probes.repository import RepoSnapshot


def find(repo: RepoSnapshot) -> list[tuple[str, str]]:
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
            if system == "github":
                pipelines.append(github.parse(path, text))
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
    github.expand_calls([p for p in pipelines if p.system == "github"], problems, {p.path for p in problems})
    return Pipelines(pipelines, problems, repo.head)


def get(ctx: Context) -> Pipelines:
    repo = repository.get(ctx)
    return ctx.memo("pipelines", lambda: collect(repo))


def collect_paths(repo: RepoSnapshot) -> list[tuple[str, str]]:
    """(path, system) of every pipeline definition at HEAD, parsed or not."""
    return find(repo)
