"""JUnit XML: one testcase per criterion, parsed back with xml.etree."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.reports import junit
from tests.test_reports_common import synthetic_doc


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name", ""): c for c in root.iter("testcase") if c.get("name") != "gate"}


def test_one_testcase_per_criterion(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    root = ET.fromstring(junit.render(doc).encode("utf-8"))
    cases = _cases(root)
    assert set(cases) == {c["id"] for c in doc["criteria"]}
    assert cases["CQ-1"].get("classname") == "Code Quality"
    assert "CQ-1: Writes code" in (cases["CQ-1"].findtext("system-out") or "")  # the name is the stable id
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == str(len(doc["criteria"]) + 1)  # and the gate


def test_statuses_map_to_failure_and_skipped(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    cases = _cases(ET.fromstring(junit.render(doc).encode("utf-8")))
    failure = cases["CQ-1"].find("failure")
    assert failure is not None and "repo.gitignore" in failure.get("message", "")
    assert "src/a b.py:3-7" in (failure.text or "")
    for crit in doc["criteria"]:
        case = cases[crit["id"]]
        if crit["status"] == "met":
            assert case.find("failure") is None and case.find("skipped") is None
        elif crit["status"] == "not_met":
            assert case.find("failure") is not None
        else:  # could not check, assessor, out of scope: neither pass nor fail
            skipped = case.find("skipped")
            assert skipped is not None and case.find("failure") is None
            assert skipped.get("message")
    assert "could not check" in cases["CQ-3"].find("skipped").get("message", "")  # type: ignore[union-attr]
    assert "awaiting assessor" in cases["CQ-4"].find("skipped").get("message", "")  # type: ignore[union-attr]


def test_grade_properties_and_escaping(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    text = junit.render(doc)
    root = ET.fromstring(text.encode("utf-8"))
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["grade"] == "fail" and props["grade.provisional"] == "true" and props["run.complete"] == "true"
    assert "<script>" not in text  # escaped, and control characters replaced so the XML parses
    message = _cases(root)["CQ-1"].find("failure").get("message", "")  # type: ignore[union-attr]
    assert "<script>alert(1)</script>" in message
