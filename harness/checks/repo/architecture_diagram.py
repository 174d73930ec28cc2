"""repo.architecture-diagram: the submission's 'form': a committed diagram of the high-level structure.

Also derives a diagram from what the project declares (Mermaid and DOT text, SVG where Graphviz is
installed, in the evidence) so the candidate
and the assessor can compare the two, and lists declared components the candidate's diagram never names.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import inventory, submission

ID = "repo.architecture-diagram"
SHOWN = 20


@check(
    ID,
    title="An architectural diagram of the high-level structure is committed",
    failure_title="No architectural diagram is committed: the submission's 'form' requirement is missing",
    proves="The submission shows its high-level system structure, as the specification requires (SR-1).",
    remediation=(
        "Commit an architectural diagram (Mermaid, PlantUML, draw.io, C4/Structurizr DSL, SVG or PNG named "
        "architecture/diagram) showing the services, data stores, proxy, monitoring and the pipeline to the host; "
        "the derived diagram in this finding's evidence is a starting point."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    sources = submission.diagrams(ctx, repo)
    comps = submission.components(ctx, repo)
    derived, dot_text = submission.mermaid(comps), submission.dot(comps)
    drawn = submission.svg(dot_text, timeout=ctx.bounded(10))
    evidence = [
        inventory.evidence_at(repo, s.path, s.line, f"{s.notation} diagram", data={"notation": s.notation})
        for s in sources[:SHOWN]
    ]
    evidence.append(
        Evidence(
            kind="note",
            summary=f"diagram derived by harness from {len(comps)} declared component(s), as Mermaid",
            excerpt=derived,
            data={
                "mermaid": derived,
                "dot": dot_text,
                **({"svg": drawn} if drawn else {}),  # only where Graphviz is installed
                "components": [{"name": c.name, "role": c.role} for c in comps],
            },
        )
    )
    if not sources:
        yield finding(ID, Outcome.FAIL, "no diagram file or diagram block found in the repository", evidence)
        return
    readable = [s for s in sources if s.text.strip()]
    missing = submission.unnamed(comps, readable) if readable else []
    if missing:
        names = ", ".join(f"{c.name} ({c.role}, {c.declared_in[0]})" for c in missing[:SHOWN])
        evidence.append(
            Evidence(
                kind="note",
                summary=f"{len(missing)} declared component(s) the diagram source never names",
                excerpt=names,
                data={"unnamed": [c.name for c in missing]},
            )
        )
    where = ", ".join(sorted({s.path for s in sources})[:5])
    reason = f"{len(sources)} diagram(s) found: {where}"
    if not readable:
        reason += " (images only: compare them with the derived diagram by eye)"
    elif missing:
        reason += f"; not named in the diagram: {', '.join(c.name for c in missing[:8])}"
    yield finding(ID, Outcome.PASS, reason, evidence, subject=sources[0].path)
