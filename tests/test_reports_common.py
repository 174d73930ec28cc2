"""A realistic run document for the report tests, and tests of the shared report views.

`synthetic_doc` goes through the real `build_document` (waivers, grading,
redaction) with hand-made check results, so every outcome, a waiver, file, URL
and commit evidence, and hostile text all appear in one document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.catalogue import load as load_catalogue
from harness.checks.base import Check, CheckMeta
from harness.config import Config
from harness.engine import CheckResult, RunOutcome
from harness.model import Evidence, Finding, Outcome, now_iso
from harness.reports import view
from harness.run import build_document

HOSTILE = '<script>alert(1)</script> & "quotes" </script><!-- \x1b[31mred\x00'
WAIVER_NOTE = "Rotated key; the match is a test fixture"


def _check(cid: str) -> Check:
    meta = CheckMeta(
        id=cid,
        title=f"{cid} title",
        failure_title=f"{cid} failure title",
        proves=f"{cid} proves something",
        remediation=f"fix {cid}",
        source="live" if cid.startswith("live.") else "repository",
    )
    return Check(meta=meta, fn=lambda ctx: [])


def _f(cid: str, outcome: Outcome, reason: str, evidence: list[Evidence] | None = None, **kw: Any) -> Finding:
    return Finding(check_id=cid, outcome=outcome, reason=reason, evidence=evidence or [], **kw)


def synthetic_findings() -> dict[str, list[Finding]]:
    return {
        "repo.gitignore": [
            _f(
                "repo.gitignore",
                Outcome.FAIL,
                HOSTILE,
                [Evidence("file", "root .gitignore", path="src/a b.py", start_line=3, end_line=7, excerpt=HOSTILE)],
                remediation="Add a .gitignore",
            )
        ],
        "repo.secrets": [
            _f(
                "repo.secrets",
                Outcome.FAIL,
                "a private key is committed",
                [Evidence("file", "key file", path="keys/id_rsa", start_line=1, end_line=1, commit="a" * 40)],
            )
        ],
        "repo.commit-size": [
            _f("repo.commit-size", Outcome.WARN, "one large commit", [Evidence("file", "big", path="big.txt")])
        ],
        "repo.git-history": [
            _f("repo.git-history", Outcome.PASS, "42 commits", [Evidence("commit", "c", commit="b" * 40)])
        ],
        "repo.unit-tests": [_f("repo.unit-tests", Outcome.COULD_NOT_CHECK, "pytest is not installed")],
        "repo.fix-commits": [
            _f("repo.fix-commits", Outcome.PASS, "3 fix commits", [Evidence("commit", "fix build", commit="c" * 40)])
        ],
        "live.tls": [
            _f(
                "live.tls",
                Outcome.FAIL,
                "certificate expired",
                [
                    Evidence(
                        "http",
                        "GET /",
                        url="https://app.example.org/",
                        excerpt="HTTP/1.1 200 OK",
                        timestamp=now_iso(),
                        sha256="0" * 64,
                        command=["curl", "-sS", "https://app.example.org/"],
                    )
                ],
            )
        ],
    }


def synthetic_doc(tmp_path: Path, *, complete: bool = True) -> dict[str, Any]:
    config = Config(base_dir=tmp_path)
    config.project.repo = str(tmp_path)
    config.waivers = [
        {"check": "repo.secrets", "justification": WAIVER_NOTE, "approver": "Tutor", "expires": "2099-12-31"}
    ]
    catalogue = load_catalogue()
    results = [CheckResult(_check(cid), findings, now_iso(), 0.01) for cid, findings in synthetic_findings().items()]
    outcome = RunOutcome(results=results, complete=complete, interrupted_by=None if complete else "SIGINT")
    return build_document(config, catalogue, outcome, catalogue.check_ids(), now_iso(), 0.5)


def criterion(doc: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in doc["criteria"] if c["id"] == cid)


def test_synthetic_document_has_every_status(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    statuses = {c["status"] for c in doc["criteria"]}
    assert {"not_met", "undetermined", "assessor"} <= statuses
    assert criterion(doc, "CQ-1")["status"] == "not_met"
    secrets = view.checks_by_id(doc)["repo.secrets"]["findings"][0]
    assert secrets["waived"] is True and secrets["waiver"]["justification"] == WAIVER_NOTE


def test_held_back_findings_resolve_to_their_evidence(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    held = view.held_back_findings(criterion(doc, "CQ-1"), view.checks_by_id(doc))
    gitignore = next(f for f in held if f["check_id"] == "repo.gitignore")
    assert view.locations(gitignore) == ["src/a b.py:3-7"]
    # A check that never ran has no finding: the reference comes back, without evidence.
    not_run = [f for f in view.held_back_findings(criterion(doc, "CQ-2"), view.checks_by_id(doc)) if not f["evidence"]]
    assert any(f["reason"] == "not run" for f in not_run)


def test_themes_with_failures_come_first(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    ordered = view.themes_in_order(doc)
    ranks = [view.status_rank(crits[0]["status"]) for _, crits in ordered]
    assert ranks == sorted(ranks)
    assert ordered[0][1][0]["status"] == "not_met"
    for _, crits in ordered:
        assert [view.status_rank(c["status"]) for c in crits] == sorted(view.status_rank(c["status"]) for c in crits)


def test_location_formats() -> None:
    assert view.location({"path": "a.py", "start_line": 2, "end_line": 2}) == "a.py:2"
    assert view.location({"path": "a.py"}) == "a.py"
    assert view.location({"url": "https://x.test/"}) == "https://x.test/"
    assert view.location({"commit": "abcdef0123456789"}) == "commit abcdef012345"
    assert view.location({"kind": "note"}) is None


def test_every_format_survives_undecodable_text(tmp_path: Path) -> None:
    """A lone surrogate (an undecodable byte kept by surrogateescape) must not crash writing UTF-8."""
    from harness.reports import junit, render, sarif, terminal

    doc = synthetic_doc(tmp_path)
    gitignore = view.checks_by_id(doc)["repo.gitignore"]["findings"][0]
    for ref in criterion(doc, "CQ-1")["held_back_by"]:
        if ref["reason"] == gitignore["reason"]:
            ref["reason"] = "bad byte \udcff here"
    gitignore["reason"] = "bad byte \udcff here"
    gitignore["evidence"][0]["excerpt"] = "\udcfe"
    for text in (render("html", doc), junit.render(doc), sarif.render(doc), terminal.render(doc)):
        assert "bad byte" in text
        text.encode("utf-8")  # raises if a surrogate survived
