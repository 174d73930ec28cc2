"""repo.gitignore: the repository ignores build output, dependencies and local secrets."""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import repository

ID = "repo.gitignore"


@check(
    ID,
    title="A .gitignore keeps generated files and local secrets out of version control",
    failure_title="No .gitignore: generated files and local secrets can be committed by accident",
    proves="Versioned code is only source: no build output, virtualenvs or .env files to conflict on merge (CQ-1).",
    remediation="Add a .gitignore at the repository root covering build output, dependency folders and .env files.",
    source="repository",
    timeout=30,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    if not repo.is_git:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "not a git repository: no committed .gitignore to read")
        return
    if repo.head is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "the repository has no commits yet")
        return
    ignores = repo.glob(".gitignore")
    if not ignores:
        yield finding(ID, Outcome.FAIL, "no .gitignore is committed anywhere in the tree")
        return
    root = repo.get(".gitignore") or ignores[0]
    text = repo.read_text(root.path) or ""
    patterns = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    evidence = [
        Evidence(
            kind="file",
            summary=f"{root.path}: {len(patterns)} patterns",
            path=root.path,
            start_line=1,
            end_line=max(1, len(text.splitlines())),
            commit=repo.head,
            excerpt="\n".join(patterns[:20]),
        )
    ]
    if not patterns:
        yield finding(ID, Outcome.FAIL, f"{root.path} is empty", evidence, subject=root.path)
        return
    yield finding(ID, Outcome.PASS, f"{root.path} ignores {len(patterns)} patterns", evidence, subject=root.path)
