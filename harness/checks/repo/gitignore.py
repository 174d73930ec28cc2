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
    patterns = _patterns(repo, root.path)
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
        # git applies every folder's .gitignore: an empty root file beside populated ones still ignores.
        own = [f for f in ignores if f.path != root.path and not repo.vendored(f.path)]
        nested = [(f.path, n) for f in own if (n := _patterns(repo, f.path))]
        if nested:
            where = ", ".join(f"{path} ({len(n)})" for path, n in nested[:5])
            ev = [
                Evidence(kind="file", summary=f"{path}: {len(n)} patterns", path=path, commit=repo.head)
                for path, n in nested[:5]
            ]
            yield finding(
                ID, Outcome.PASS, f"{root.path} is empty, but the folders' .gitignore files ignore: {where}", ev
            )
            return
        yield finding(ID, Outcome.FAIL, f"{root.path} is empty", evidence, subject=root.path)
        return
    yield finding(ID, Outcome.PASS, f"{root.path} ignores {len(patterns)} patterns", evidence, subject=root.path)


def _patterns(repo: repository.RepoSnapshot, path: str) -> list[str]:
    text = repo.read_text(path) or ""
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
