"""Reports from a real `harness verify` on a temporary git repository, and `harness report` re-rendering."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from harness.cli import main
from harness.reports import FILE_FORMATS, signoff_pdf
from harness.reports.schema import load_schema, validate_document

ALL_FILE_FORMATS = ["json", "html", "junit", "sarif", "markdown", "codequality", "signoff"]


@pytest.fixture
def real_run(make_repo, tmp_path: Path) -> Path:
    """A real run's report folder: every format written by `harness verify`."""
    repo = make_repo()
    repo.write(".gitignore", ".venv/\n.env\n").write("app.py", "print('hello')\n").commit("init")
    out = tmp_path / "out"
    args = ["verify", "--repo", str(repo.path), "--out", str(out)]
    for fmt in ALL_FILE_FORMATS:
        args += ["--format", fmt]
    code = main(args)
    assert code in (0, 1)  # gate reached or not; never a usage error
    return out


def test_verify_writes_every_format(real_run: Path) -> None:
    names = sorted(p.name for p in real_run.iterdir())
    expected = [
        "harness-report.json",
        "harness-report.html",
        "harness-junit.xml",
        "harness.sarif",
        "harness-summary.md",
        "gl-code-quality.json",
        "harness-signoff.html",
    ]
    if signoff_pdf.browser() is not None:  # the sign-off sheet is also printed to PDF where Chromium is installed
        expected.append(signoff_pdf.PDF_FILENAME)
    assert names == sorted(expected)
    assert set(FILE_FORMATS) == set(ALL_FILE_FORMATS)
    ET.fromstring((real_run / "harness-junit.xml").read_bytes())
    sarif = json.loads((real_run / "harness.sarif").read_text())
    assert sarif["version"] == "2.1.0"


def test_real_run_validates_against_the_schema(real_run: Path) -> None:
    doc = json.loads((real_run / "harness-report.json").read_text())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(load_schema()).iter_errors(doc)]
    assert errors == []
    assert validate_document(doc) is None
    assert doc["criteria"] and doc["checks"]


def test_report_rerenders_a_saved_run(real_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "again"
    code = main(["report", str(real_run / "harness-report.json"), "--format", "html", "--out", str(out)])
    assert code in (0, 1)
    again = (out / "harness-report.html").read_text()
    doc = json.loads((real_run / "harness-report.json").read_text())
    assert all(f'id="crit-{c["id"]}"' in again for c in doc["criteria"])
    main(["report", str(real_run / "harness-report.json")])  # default: terminal
    assert "GRADE:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff garbage",
        b"{not json",
        b"[]",
        b'{"schema_version": "1.0"}',
        b'{"schema_version": "9.0", "criteria": []}',
    ],
)
def test_corrupt_run_file_is_one_line_exit_2(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "run.json"
    bad.write_bytes(content)
    code = main(["report", str(bad), "--format", "html", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("harness: error:") and err.count("\n") == 1
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_tampered_field_is_named(real_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads((real_run / "harness-report.json").read_text())
    doc["checks"][0]["findings"][0]["outcome"] = "great"
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(doc))
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "checks[0].findings[0].outcome" in err and err.count("\n") == 1
