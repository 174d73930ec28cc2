"""GitLab Code Quality: failing and warning findings as GitLab's Code Climate-style issue list.

GitLab shows these in the merge request's Code Quality widget. A finding is located at its first
file inside the repository, else at the repository root (`.`); the fingerprint is the SARIF one,
so both reports name the same finding the same way.
"""

from __future__ import annotations

import json
from typing import Any

from harness.reports import sarif, view

FILENAME = "gl-code-quality.json"
SEVERITY = {"fail": "major", "warn": "minor"}


def render(doc: dict[str, Any]) -> str:
    repo = str(doc.get("run", {}).get("target", {}).get("repo", ""))
    issues: list[dict[str, Any]] = []
    for check, f in view.iter_findings(doc):
        if f.get("outcome") not in SEVERITY or f.get("waived"):
            continue
        located = sarif.file_locations(f, repo) or [sarif.root_location(f)]
        physical = located[0]["physicalLocation"]
        path = physical["artifactLocation"]["uri"]
        issues.append(
            {
                "type": "issue",
                "check_name": check["id"],
                "description": f"{check['id']}: {view.first_line(f.get('reason'), 500)}",
                "content": {"body": f.get("remediation") or check.get("remediation") or ""},
                "categories": ["Compliance"],
                "severity": SEVERITY[f["outcome"]],
                "fingerprint": sarif.fingerprint(f, located[0]),
                "location": {
                    "path": "." if path == sarif.ROOT_URI else path,
                    "lines": {"begin": physical.get("region", {}).get("startLine", 1)},
                },
            }
        )
    return view.utf8_safe(json.dumps(issues, indent=2, ensure_ascii=False) + "\n")
