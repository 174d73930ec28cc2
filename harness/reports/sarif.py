"""SARIF 2.1.0 for code-scanning tools: one rule per check, one result per failing or warning finding.

Location policy (docs/report-schema.md): code scanning accepts only results that
point into the repository. A finding whose evidence names files inside the
repository points at them; any other (a missing file, the history, a live URL) is
a repository-level result with OpenSSF Scorecard's placeholder location ("no file
associated with this alert", line 1), counted in `runs[0].properties.findingsWithoutFileLocation`.
Could-not-check findings are tool execution notifications, never results:
missing data is not a code defect.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from harness.reports import view

FILENAME = "harness.sarif"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "SRCROOT"
LEVEL = {"fail": "error", "warn": "warning"}
MAX_LOCATIONS = 10  # per result; the JSON report keeps every piece of evidence
INFORMATION_URI = "https://pypi.org/project/st0825-harness/"
# A finding about the repository as a whole: Scorecard's placeholder, which code scanning shows as a
# repository-level alert (it is not a path, and no file by that name can collide with it: it has spaces).
ROOT_URI = "no file associated with this alert"


def _relative_uri(path: str, repo: str) -> str | None:
    """A repository-relative, percent-encoded URI, or None when the path is outside the repository."""
    p = PurePosixPath(path.replace("\\", "/"))
    if p.is_absolute():
        root = PurePosixPath(repo.replace("\\", "/"))
        try:
            p = p.relative_to(root)
        except ValueError:
            return None
    if not p.parts or ".." in p.parts or str(p) == ".":
        return None
    return quote(p.as_posix(), safe="/")


def _line(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def file_locations(finding: dict[str, Any], repo: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for ev in finding.get("evidence", []):
        uri = _relative_uri(str(ev["path"]), repo) if ev.get("path") else None
        if uri is None:
            continue
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": SRCROOT}}
        start = _line(ev.get("start_line"))
        if start is not None:
            region: dict[str, Any] = {"startLine": start}
            end = _line(ev.get("end_line"))
            if end is not None and end >= start:
                region["endLine"] = end
            if ev.get("excerpt"):
                region["snippet"] = {"text": ev["excerpt"]}
            physical["region"] = region
        out.append({"physicalLocation": physical, "message": {"text": ev.get("summary", "")}})
        if len(out) >= MAX_LOCATIONS:
            break
    return out


def root_location(finding: dict[str, Any]) -> dict[str, Any]:
    where = view.locations(finding)
    text = "repository-level finding" + (f" ({', '.join(where[:3])})" if where else "")
    return {
        "physicalLocation": {"artifactLocation": {"uri": ROOT_URI}, "region": {"startLine": 1}},
        "message": {"text": text},
    }


def _rule(check: dict[str, Any], criteria: list[str]) -> dict[str, Any]:
    return {
        "id": check["id"],
        "name": check["id"],
        "shortDescription": {"text": check.get("title") or check["id"]},
        "fullDescription": {"text": check.get("proves") or check.get("title") or check["id"]},
        "help": {
            "text": check.get("remediation") or "See the harness HTML report.",
            "markdown": f"**How to fix:** {check.get('remediation') or 'see the harness HTML report.'}\n\n"
            f"**What a pass proves:** {check.get('proves') or check.get('title') or check['id']}",
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {"criteria": criteria, "source": check.get("source", ""), "tags": ["ST0825", *criteria]},
    }


def fingerprint(finding: dict[str, Any], location: dict[str, Any]) -> str:
    uri = location["physicalLocation"]["artifactLocation"]["uri"]
    key = json.dumps([finding.get("check_id"), uri, finding.get("subject"), finding.get("reason")])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _result(
    finding: dict[str, Any], index: int, locations: list[dict[str, Any]], criteria: list[str]
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding["check_id"],
        "ruleIndex": index,
        "level": LEVEL[finding["outcome"]],
        "message": {"text": finding.get("reason") or finding["check_id"]},
        "locations": locations,
        "partialFingerprints": {"harnessFinding/v1": fingerprint(finding, locations[0])},
        "properties": {"outcome": finding["outcome"], "criteria": criteria},
    }
    if finding.get("subject"):
        result["properties"]["subject"] = finding["subject"]
    if finding.get("remediation"):
        result["properties"]["remediation"] = finding["remediation"]
    waiver = finding.get("waiver")
    if waiver:
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": waiver.get("justification", ""),
                "properties": {"approver": waiver.get("approver", ""), "expires": waiver.get("expires", "")},
            }
        ]
    return result


def render(doc: dict[str, Any]) -> str:
    run_info, grade = doc["run"], doc["grade"]
    repo = str(run_info.get("target", {}).get("repo", ""))
    mapping = view.criteria_by_check(doc)
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for check in doc["checks"]:
        index[check["id"]] = len(rules)
        rules.append(_rule(check, mapping.get(check["id"], [])))
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    unlocated = 0
    for check, f in view.iter_findings(doc):
        cid = check["id"]
        if f.get("outcome") == "could_not_check":
            notifications.append(
                {
                    "level": "warning",
                    "message": {"text": f"{cid}: could not check: {f.get('reason', '')}"},
                    "associatedRule": {"id": cid, "index": index[cid]},
                }
            )
        if f.get("outcome") not in LEVEL:
            continue
        locations = file_locations(f, repo)
        if not locations:
            unlocated += 1
            locations = [root_location(f)]
        results.append(_result(f, index[cid], locations, mapping.get(cid, [])))
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "harness",
                "version": str(doc.get("tool", {}).get("version", "")),
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "automationDetails": {"id": "harness/ST0825-AM1/"},
        "invocations": [
            {
                "executionSuccessful": bool(run_info.get("complete", False)),
                "startTimeUtc": run_info.get("started"),
                "endTimeUtc": run_info.get("finished"),
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": results,
        "properties": {
            "grade": grade.get("value"),
            "provisional": grade.get("provisional"),
            "complete": run_info.get("complete"),
            "gateReached": run_info.get("gate_reached"),
            "summary": grade.get("summary"),
            "findingsWithoutFileLocation": unlocated,
        },
    }
    if repo.startswith("/"):
        root_uri = "file://" + quote(repo.rstrip("/") + "/", safe="/")
        run["originalUriBaseIds"] = {SRCROOT: {"uri": root_uri}}
        commit = run_info.get("target", {}).get("commit")
        if commit:
            run["versionControlProvenance"] = [
                {"repositoryUri": root_uri, "revisionId": str(commit), "mappedTo": {"uriBaseId": SRCROOT}}
            ]
    sarif = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return view.utf8_safe(json.dumps(sarif, indent=2, ensure_ascii=False) + "\n")
