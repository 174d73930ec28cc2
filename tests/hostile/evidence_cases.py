"""The submission requirements (issue 12): an author who wants SR-1 and SR-2 on appearances, or to stall the run."""

from __future__ import annotations

from tests.hostile import Env, HostileCase, commit_all, no_pass


def _empty_diagram(env: Env) -> list[str]:
    # Files named like diagrams, with nothing in them: not an architectural diagram.
    docs = env.project / "docs"
    docs.mkdir()
    (docs / "architecture.mmd").write_text("\n\n")
    (docs / "architecture.puml").write_text("@startuml\n")
    (env.project / "README.md").write_text("# App\n\n```mermaid\n```\n")
    commit_all(env.project)
    return ["--scope", "repository", "--only", "repo.architecture-diagram"]


def _analysis_split_by_subheadings(env: Env) -> list[str]:
    # 340 words, cut into sub-sections so that no single part looks over the limit.
    part = " ".join(["evidence"] * 110)
    (env.project / "README.md").write_text(
        "# App\n\n## Technical breadth analysis\n\nK1 S1 B1 "
        + part
        + "\n\n### Code\n\n"
        + part
        + "\n\n### Ops\n\n"
        + part
        + " K2 S2 B2 "
        + "\n\n## Licence\n\nMIT\n"
    )
    commit_all(env.project)
    return ["--scope", "repository", "--only", "repo.technical-analysis"]


def _many_fences(env: Env) -> list[str]:
    # Tens of thousands of diagram fences in one document: must stay fast and small.
    block = "```mermaid\nflowchart LR\n  a --> b\n```\n"
    (env.project / "README.md").write_text(block * 40_000)
    commit_all(env.project)
    return ["--scope", "repository", "--only", "repo.architecture-diagram", "--only", "repo.technical-analysis"]


CASES = [
    HostileCase("empty-diagram-files", "false-pass", _empty_diagram, expect=no_pass("repo.architecture-diagram")),
    HostileCase(
        "analysis-split-by-subheadings",
        "false-pass",
        _analysis_split_by_subheadings,
        expect=no_pass("repo.technical-analysis"),
    ),
    HostileCase("many-diagram-fences", "resources", _many_fences, deadline_s=60),
]
