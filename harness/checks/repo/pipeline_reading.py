"""Shared by the pipeline checks: the committed pipelines, or the finding that says why none can be judged."""

from __future__ import annotations

from harness.checks.base import finding
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import pipelines, repository
from harness.probes.repository import RepoSnapshot


def committed(ctx: Context, check_id: str, none_reason: str) -> tuple[RepoSnapshot, pipelines.Pipelines] | Finding:
    """(repository, pipelines) when at least one pipeline was read; otherwise the finding to report."""
    repo = repository.get(ctx)
    if not repo.is_git or repo.head is None:
        return finding(
            check_id, Outcome.COULD_NOT_CHECK, "not a git repository with commits: no committed pipeline to read"
        )
    model = pipelines.get(ctx)
    if model.pipelines:
        return repo, model
    if model.problems:
        return unreadable(check_id, repo, model, "no pipeline could be read: ")
    return finding(check_id, Outcome.FAIL, none_reason)


def unreadable(check_id: str, repo: RepoSnapshot, model: pipelines.Pipelines, prefix: str) -> Finding:
    """Could-not-check naming every pipeline file that did not parse (never a verdict on unread files)."""
    return finding(
        check_id,
        Outcome.COULD_NOT_CHECK,
        prefix + "; ".join(f"{p.path}: {p.message}" for p in model.problems),
        [pipelines.problem_evidence(repo, p) for p in model.problems[:5]],
        remediation="Fix the pipeline files so that they parse.",
    )
