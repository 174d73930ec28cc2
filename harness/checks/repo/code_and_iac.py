"""repo.code-and-iac: general purpose code and infrastructure-as-code for a hosted environment, side by side."""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import inventory

ID = "repo.code-and-iac"
SHOWN_PER_KIND = 5


@check(
    ID,
    title="The project holds both general purpose code and infrastructure-as-code",
    failure_title="General purpose code or infrastructure-as-code is missing",
    proves="The application and the cloud infrastructure it runs on are both written and versioned as code (CQ-1).",
    remediation=(
        "Describe the hosted environment as code beside the application (Pulumi, Terraform, Bicep, CloudFormation, "
        "CDK, Ansible, Kubernetes manifests or a Helm chart) and commit it; a compose file alone only covers "
        "the local environment."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    langs = inventory.languages(ctx, repo)
    inv = inventory.iac(ctx, repo)
    hosted = inv.hosted
    evidence: list[Evidence] = []
    for lang, paths in sorted(langs.items(), key=lambda kv: -len(kv[1])):
        evidence.append(
            inventory.evidence_at(
                repo, paths[0], 1, f"{lang}: {len(paths)} files", data={"language": lang, "files": len(paths)}
            )
        )
    kinds: dict[str, list[inventory.IacFile]] = {}
    for f in hosted:
        kinds.setdefault(f.kind, []).append(f)
    for kind, files in sorted(kinds.items()):
        for f in files[:SHOWN_PER_KIND]:
            evidence.append(
                inventory.evidence_at(repo, f.path, f.line, f"{kind}: {f.note or f.path}", data={"iac_kind": kind})
            )
    compose = inv.of("compose")
    code_summary = ", ".join(f"{lang} ({len(p)})" for lang, p in sorted(langs.items(), key=lambda kv: -len(kv[1])))
    iac_summary = ", ".join(f"{k} ({len(v)})" for k, v in sorted(kinds.items()))
    if not hosted:
        for path, why in inv.problems[:10]:
            evidence.append(inventory.evidence_at(repo, path, 1, f"could not parse: {why}"))
        for f in compose[:3]:
            evidence.append(inventory.evidence_at(repo, f.path, 1, "compose file: local automation, not hosted IaC"))
        if inv.problems:
            names = ", ".join(p for p, _ in inv.problems[:5])
            yield finding(
                ID,
                Outcome.COULD_NOT_CHECK,
                f"no infrastructure-as-code recognised, and candidate files could not be parsed: {names}",
                evidence,
                remediation="Fix the syntax of the files named, then run harness again.",
            )
            return
        note = " (a compose file was found: it counts as local automation, not as IaC for a hosted environment)"
        yield finding(
            ID,
            Outcome.FAIL,
            "no infrastructure-as-code for a hosted environment" + (note if compose else ""),
            evidence,
        )
        return
    if not langs:
        yield finding(ID, Outcome.FAIL, f"infrastructure-as-code ({iac_summary}) but no general purpose code", evidence)
        return
    yield finding(
        ID, Outcome.PASS, f"general purpose code: {code_summary}; infrastructure-as-code: {iac_summary}", evidence
    )
    for path, why in inv.problems[:10]:
        yield finding(
            ID,
            Outcome.WARN,
            f"{path} looks like infrastructure-as-code but could not be parsed ({why})",
            [inventory.evidence_at(repo, path, 1, f"could not parse: {why}")],
            remediation=f"Fix the syntax of {path}.",
            subject=path,
        )
