"""repo.security-scanning: a security scanner runs in the pipeline and can fail the build.

One scan kind that gates is enough for CQ-2 (a dependency, image, static-analysis or secret scan);
the kinds missing are named as advice in the pass. No scan that can fail the pipeline fails.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.checks.repo import pipeline_reading
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import pipelines

ID = "repo.security-scanning"
SUPPLY = ("dependency", "image")
CODE = ("static", "secrets")


@check(
    ID,
    title="The pipeline runs a security scan, and a finding fails the build",
    failure_title="The pipeline has no security scan that can fail the build",
    proves=(
        "Known-vulnerable dependencies or images and insecure code or leaked secrets stop the pipeline before "
        "they ship (CQ-2, S9), instead of being reported where nobody looks."
    ),
    remediation=(
        "Add a dependency or image scan (pip-audit, npm audit, trivy with --exit-code 1) and a static analysis or "
        "secret scan (bandit, semgrep ci, gitleaks) as pipeline steps, without `|| true`, `continue-on-error`, "
        "`--exit-zero` or `soft_fail`."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    read = pipeline_reading.committed(ctx, ID, "no pipeline definition is committed, so no security scan runs")
    if isinstance(read, Finding):
        yield read
        return
    repo, model = read
    scans = [m for p in model.pipelines if pipelines.is_automatic(p) for m in pipelines.security_scans(p)]
    scans = [m for m in scans if not m.job.manual]
    for m in scans:
        if not m.blocking:
            yield finding(
                ID,
                Outcome.WARN,
                f"{m.tool} at {m.where} cannot fail the build: {m.cannot_fail} (line {m.cannot_fail_line})",
                [pipelines.evidence_at(repo, m.pipeline.path, m.line, f"{m.where}: {m.tool}")],
                remediation=f"Let {m.tool} fail the build on findings (remove what ignores its exit status).",
                subject=f"{m.pipeline.path}:{m.cannot_fail_line or m.line}",
            )
    blocking = [m for m in scans if m.blocking]
    supply = [m for m in blocking if m.kind in SUPPLY]
    code = [m for m in blocking if m.kind in CODE]
    evidence = [pipelines.evidence_at(repo, m.pipeline.path, m.line, f"{m.where}: {m.tool}") for m in blocking[:6]]
    summary = ", ".join(sorted({f"{m.tool} ({m.kind}, {'blocking' if m.blocking else 'non-blocking'})" for m in scans}))
    if blocking:
        gates = ", ".join(f"{m.tool} ({m.kind}) at {m.where}" for m in (supply[:1] + code[:1] or blocking[:1]))
        advice = (
            ""
            if supply and code
            else "; consider adding a " + ("static analysis or secret scan" if supply else "dependency or image scan")
        )
        yield finding(ID, Outcome.PASS, f"blocking scans: {gates} (all scans: {summary}){advice}", evidence)
        return
    missing = "no security scan (dependency, image, static analysis or secret) that can fail the build"
    note = ""
    if any(repo.exists(p) for p in (".github/dependabot.yml", ".github/dependabot.yaml")):
        note = " (Dependabot alerts are not a pipeline step: they fail no build)"
    found = f"; scans found: {summary}" if scans else "; no security scanner found in any automatic pipeline"
    yield finding(ID, Outcome.FAIL, missing + note + found, evidence)
