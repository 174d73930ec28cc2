"""repo.threat-model: a documented threat model and an encryption-at-rest decision, for the assessor (DS-2)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import inventory

ID = "repo.threat-model"
DOC_SUFFIXES = {".md", ".rst", ".txt", ".adoc", ".org"}
THREAT = re.compile(r"(\bSTRIDE\b|threat[- ]model|attack surface|trust boundar|\bthreats?\b.*\b(mitigat|risk))", re.I)
AT_REST = re.compile(r"encrypt\w*\s+(data\s+)?at[- ]rest|at[- ]rest\s+encrypt\w*|encryption\s+at\s+rest", re.I)
RATIONALE = re.compile(
    r"\b(because|decid|decision|rationale|therefore|chose|choose|since|trade-?off|not needed"
    r"|accept(ed)? (the )?risk|so that)\b",
    re.I,
)
IAC_ENCRYPTION = re.compile(
    r"(storage_encrypted\s*[=:]\s*true|\bencrypted\s*[=:]\s*(true|True)|StorageEncrypted\s*:\s*(true|'true')"
    r"|kms_key_id|KmsKeyId|aws_kms_key|kms\.Key\(|server_side_encryption_configuration|sse_algorithm|BucketEncryption"
    r"|infrastructure_encryption_enabled|customer_managed_key|encryption_at_host_enabled|disk_encryption_set"
    r"|storage_encrypted=True|storageEncrypted:\s*true|encryption\s*\{)"
)


@check(
    ID,
    title="A threat model and an encryption-at-rest decision are documented for the assessor",
    failure_title="No threat model or encryption-at-rest decision is documented",
    proves="The threats to the data, and the reasons for encrypting it at rest or not, are written down (DS-2); "
    "the assessor judges them.",
    remediation=(
        "Write docs/threat-model.md: the assets, trust boundaries and threats (e.g. STRIDE) with mitigations, and a "
        "decision record on encrypting data at rest (what is encrypted, how, or why not)."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    docs = [
        f
        for f in repo.files
        if f.is_regular and (f.suffix in DOC_SUFFIXES or "docs" in f.folders) and not inventory.is_vendored(f.path)
    ]
    threats = inventory.grep(repo, docs, THREAT, limit=10)
    at_rest = inventory.grep(repo, docs, AT_REST, limit=20)
    with_reason = []
    for hit in at_rest:
        text = repo.read_text(hit.path) or ""
        window = "\n".join(text.splitlines()[max(0, hit.line - 3) : hit.line + 5])
        if RATIONALE.search(window):
            with_reason.append(hit)
    iac_files = [f for i in inventory.iac(ctx, repo).hosted if (f := repo.get(i.path)) is not None]
    encryption = inventory.grep(repo, iac_files, IAC_ENCRYPTION, limit=10)
    ev = [inventory.evidence_at(repo, h.path, h.line, "threat model", h.text) for h in threats[:5]]
    ev += [inventory.evidence_at(repo, h.path, h.line, "encryption-at-rest decision", h.text) for h in with_reason[:5]]
    ev += [
        inventory.evidence_at(repo, h.path, h.line, "encryption at rest mentioned (no rationale nearby)", h.text)
        for h in at_rest[:3]
        if h not in with_reason
    ]
    ev += [inventory.evidence_at(repo, h.path, h.line, "storage encryption in IaC", h.text) for h in encryption[:5]]
    parts = []
    parts.append(f"threat model in {threats[0].path}" if threats else "no threat model found")
    if with_reason:
        parts.append(f"encryption-at-rest decision in {with_reason[0].path}")
    elif encryption:
        parts.append(f"storage encryption configured in {encryption[0].path} (no written rationale)")
    else:
        parts.append("no encryption-at-rest decision found")
    if not ev:
        yield finding(ID, Outcome.FAIL, "nothing documents threats or an encryption-at-rest decision")
        return
    yield finding(
        ID,
        Outcome.MANUAL,
        "; ".join(parts) + ": for the assessor to judge",
        ev,
        remediation="Be ready to explain each threat and the encryption-at-rest decision to the assessor."
        if threats and (with_reason or encryption)
        else None,
    )
