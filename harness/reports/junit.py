"""JUnit XML: one testcase per criterion, so any CI system shows the AM1 criteria as tests.

Test case names are the criterion ids (stable across catalogue wording changes); the
wording is in system-out. One more test case, `gate`, fails exactly when harness exits 1
(the grade did not reach the gate, or the run was incomplete), so the counts agree with the job.

not met -> <failure>; could not check, awaiting assessor and out of scope ->
<skipped> with a message: missing data is neither a pass nor a fail. The grade
travels as testsuite properties. xml.etree escapes markup; characters XML 1.0
cannot carry at all (terminal escapes, NUL) are replaced before they reach it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from harness.reports import view

FILENAME = "harness-junit.xml"
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SKIP_MESSAGE = {
    "undetermined": "could not check",
    "assessor": "awaiting assessor",
    "out_of_scope": "out of scope",
}


def _x(text: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(text if text is not None else ""))


def _finding_text(f: dict[str, Any]) -> str:
    where = view.locations(f)
    line = f"[{view.outcome_label(f.get('outcome', ''))}] {f.get('check_id', '?')}: {f.get('reason', '')}"
    if where:
        line += f"\n    at {', '.join(where)}"
    if f.get("remediation"):
        line += f"\n    fix: {f['remediation']}"
    return line


def _duration(crit: dict[str, Any], checks: dict[str, dict[str, Any]]) -> float:
    return round(sum(float(checks.get(c, {}).get("duration_s", 0) or 0) for c in crit.get("checks", [])), 3)


def _testcase(crit: dict[str, Any], theme: str, checks: dict[str, dict[str, Any]]) -> ET.Element:
    case = ET.Element(
        "testcase",
        classname=_x(theme),
        name=_x(crit["id"]),
        time=f"{_duration(crit, checks):.3f}",
    )
    status = crit["status"]
    held = view.held_back_findings(crit, checks)
    details = "\n".join(_finding_text(f) for f in held)
    if status == "not_met":
        failing = [f for f in held if f.get("outcome") == "fail"] or held
        message = "; ".join(f"{f.get('check_id')}: {view.first_line(f.get('reason'))}" for f in failing)
        failure = ET.SubElement(case, "failure", message=_x(message), type="not_met")
        failure.text = _x(details)
    elif status in SKIP_MESSAGE:
        message = f"{SKIP_MESSAGE[status]}: {crit.get('reason', '')}"
        skipped = ET.SubElement(case, "skipped", message=_x(message))
        if details:
            skipped.text = _x(details)
    waived = view.waived_findings(crit, checks)
    level = " (Distinction)" if crit.get("level") == "distinction" else ""
    out = [f"{crit['id']}{level}: {crit.get('text', '')}"]
    if view.is_partial(crit):  # a pass in CI, but it says what it rests on and what did not run
        out.append(f"{crit.get('reason', '')}; the grade is provisional")
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="partial", value="true")
        ET.SubElement(props, "property", name="checks_not_run", value=_x(" ".join(crit.get("checks_not_run", []))))
    out += [_finding_text(f) + f"\n    WAIVED: {(f.get('waiver') or {}).get('justification', '')}" for f in waived]
    if status == "assessor":
        out += [f"look at: {crit.get('look_at', '')}"] + [f"ask: {q}" for q in crit.get("questions", [])]
    ET.SubElement(case, "system-out").text = _x("\n".join(out))
    return case


def _gate_case(doc: dict[str, Any]) -> ET.Element:
    """A test case for the gate itself: failed exactly when the run's exit code is 1."""
    run, grade = doc["run"], doc["grade"]
    gate = str(run.get("gate", "pass"))
    case = ET.Element("testcase", classname="harness", name="gate", time="0.000")
    if run.get("gate_reached"):
        ET.SubElement(case, "system-out").text = _x(f"grade {grade.get('value')} reached the gate {gate}")
        return case
    if not run.get("complete", False):
        why = f"the run was incomplete (interrupted by {run.get('interrupted_by') or 'a stop'})"
    else:
        why = f"grade {grade.get('value')} did not reach the gate {gate}"
    failure = ET.SubElement(case, "failure", message=_x(why), type="gate_not_reached")
    failure.text = _x(f"{why}\n{grade.get('summary', '')}")
    return case


def render(doc: dict[str, Any]) -> str:
    checks = view.checks_by_id(doc)
    names = view.theme_names(doc)
    criteria = doc["criteria"]
    grade, run = doc["grade"], doc["run"]
    gate_failed = not run.get("gate_reached")
    suite = ET.Element(
        "testsuite",
        name="harness ST0825 AM1",
        tests=str(len(criteria) + 1),
        failures=str(sum(1 for c in criteria if c["status"] == "not_met") + int(gate_failed)),
        errors="0",
        skipped=str(sum(1 for c in criteria if c["status"] in SKIP_MESSAGE)),
        time=f"{float(run.get('duration_s', 0) or 0):.3f}",
        timestamp=_x(run.get("started", "")),
        hostname=_x(run.get("host", "")),
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("grade", grade.get("value")),
        ("grade.provisional", grade.get("provisional")),
        ("grade.partial", " ".join(grade.get("partial", []))),
        ("grade.summary", grade.get("summary")),
        ("run.complete", run.get("complete")),
        ("run.gate", run.get("gate")),
        ("run.gate_reached", run.get("gate_reached")),
        ("catalogue.version", doc.get("catalogue", {}).get("version")),
        ("harness.version", doc.get("tool", {}).get("version")),
    ):
        value_text = str(value).lower() if isinstance(value, bool) else str(value if value is not None else "")
        ET.SubElement(props, "property", name=name, value=_x(value_text))
    for tid, crits in view.themes_in_order(doc):
        for crit in crits:
            suite.append(_testcase(crit, names.get(tid, tid), checks))
    suite.append(_gate_case(doc))
    root = ET.Element("testsuites", name="harness", tests=suite.get("tests", "0"))
    root.set("failures", suite.get("failures", "0"))
    root.set("skipped", suite.get("skipped", "0"))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
