"""The assessor's evidence pack: submission requirements, 16 questions, overall EPA grade, sign-off sheet."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import epa_grade
from harness.cli import main
from harness.model import Outcome
from harness.reports import signoff, signoff_pdf
from tests.conftest import run_check

ROOT = Path(__file__).resolve().parents[1]
SEED = Path("/work/shared/seeds/001_956320d916634e59.txt")
COMPOSE = """services:
  web:
    build: .
  db:
    image: postgres:16
  proxy:
    image: nginx:1.27
"""


def words(n: int, ksbs: str = "K2 S9 B4") -> str:
    """An analysis of exactly n words (the KSB ids count among them)."""
    filler = ["evidence"] * (n - len(ksbs.split()))
    return " ".join([*ksbs.split(), *filler]) + "\n"


# -- SR-1: the diagram --------------------------------------------------------


def test_diagram_found_and_declared_components_it_never_names_are_listed(make_repo):
    repo = make_repo()
    repo.write("docker-compose.yml", COMPOSE).write("Dockerfile", "FROM python:3.12\n")
    repo.write("docs/architecture.mmd", "flowchart LR\n  user --> proxy[nginx] --> web\n").commit("init")
    [f] = run_check("repo.architecture-diagram", repo.path)
    assert f.outcome is Outcome.PASS
    assert f.evidence[0].path == "docs/architecture.mmd" and f.evidence[0].data["notation"] == "mermaid"
    unnamed = next(e for e in f.evidence if "unnamed" in e.data)
    assert unnamed.data["unnamed"] == ["db"]  # web and the proxy are named, the database is not
    derived = next(e for e in f.evidence if "mermaid" in e.data).data["mermaid"]
    assert derived.startswith("flowchart LR")
    assert re.search(r'c_db\[\("db \(store\)"\)\]', derived) and "c_proxy --> c_web" in derived
    assert "c_web --> c_db" in derived
    dot = next(e for e in f.evidence if "dot" in e.data).data
    assert '"proxy" -> "web";' in dot["dot"] and '"db" [label="db (store)", shape=cylinder];' in dot["dot"]
    if shutil.which("dot"):  # Graphviz installed: the same diagram as SVG
        assert dot["svg"].lstrip().startswith("<?xml") and "db (store)" in dot["svg"]
    else:
        assert "svg" not in dot


def test_diagram_in_a_markdown_block_counts(make_repo):
    repo = make_repo()
    repo.write("README.md", "# App\n\n```mermaid\nflowchart LR\n  a --> b\n```\n").commit("init")
    [f] = run_check("repo.architecture-diagram", repo.path)
    assert f.outcome is Outcome.PASS
    assert (f.evidence[0].path, f.evidence[0].start_line) == ("README.md", 3)


def test_no_diagram_fails_and_still_offers_the_derived_one(make_repo):
    repo = make_repo()
    repo.write("docker-compose.yml", COMPOSE).write("logo.svg", "<svg/>").commit("init")
    [f] = run_check("repo.architecture-diagram", repo.path)
    assert f.outcome is Outcome.FAIL and f.remediation
    derived = f.evidence[-1].data["mermaid"]
    assert all(name in derived for name in ("c_web", "c_db", "c_proxy"))


# -- SR-2: the analysis ---------------------------------------------------------


def test_analysis_of_280_words_passes_with_its_ksbs(make_repo):
    repo = make_repo()
    repo.write("README.md", "# App\n\n## Technical breadth analysis\n\n" + words(280) + "\n## Next\n\nmore words\n")
    repo.commit("init")
    [f] = run_check("repo.technical-analysis", repo.path)
    assert f.outcome is Outcome.PASS, f.reason
    assert f.evidence[0].data["words"] == 280 and f.evidence[0].data["ksbs"] == ["K2", "S9", "B4"]
    assert f.evidence[0].start_line == 3


def test_analysis_of_340_words_fails_the_limit(make_repo):
    repo = make_repo()
    repo.write("docs/analysis.md", words(340)).commit("init")
    [f] = run_check("repo.technical-analysis", repo.path)
    assert f.outcome is Outcome.FAIL and "340 words, over the 300-word limit" in f.reason


def test_analysis_naming_no_ksb_and_no_analysis_fail(make_repo):
    repo = make_repo()
    repo.write("docs/analysis.md", "We built a thing. K99 is not a KSB.\n").commit("init")
    [f] = run_check("repo.technical-analysis", repo.path)
    assert f.outcome is Outcome.FAIL and "names no KSB" in f.reason
    other = make_repo("other")
    other.write("README.md", "# App\n").commit("init")
    [g] = run_check("repo.technical-analysis", other.path)
    assert g.outcome is Outcome.FAIL and "no analysis found" in g.reason


# -- SR-3: the technical outputs ---------------------------------------------------


def test_technical_outputs_lists_the_kinds_present(make_repo):
    repo = make_repo()
    repo.write("app.py", "print(1)\n").write("tests/test_app.py", "def test_a():\n    assert True\n")
    repo.write("Dockerfile", "FROM python:3.12\n").write(".github/workflows/ci.yml", "on: push\n").commit("init")
    [f] = run_check("repo.technical-outputs", repo.path)
    assert f.outcome is Outcome.PASS
    kinds = {e.data["kind"] for e in f.evidence}
    assert kinds == {"application code", "tests", "build or deployment scripts", "pipelines"}
    bare = make_repo("bare")
    bare.write("README.md", "# nothing\n").commit("init")
    [g] = run_check("repo.technical-outputs", bare.path)
    assert g.outcome is Outcome.FAIL and "application code" in g.reason


# -- a whole run: KSB backing, prerequisites, questions, sign-off ----------------------


def verify(repo: Path, out: Path, *extra: str) -> dict:
    checks = ["repo.technical-analysis", "repo.gitignore", "repo.architecture-diagram", "repo.technical-outputs"]
    args = ["verify", "--repo", str(repo), "--scope", "repository", "--format", "json", "--out", str(out), *extra]
    for c in checks:
        args += ["--only", c]
    assert main(args) in (0, 1)
    return json.loads((out / "harness-report.json").read_text())


def test_ksbs_named_with_and_without_backing_findings(make_repo, tmp_path):
    repo = make_repo()
    # K2 is a CQ-1 KSB, and repo.gitignore (mapped to CQ-1) passes; B4 belongs to no AM1 criterion.
    repo.write(".gitignore", ".env\n").write("app.py", "print(1)\n").write("docs/analysis.md", words(50, "K2 B4"))
    repo.commit("init")
    doc = verify(repo.path, tmp_path / "out")
    backing = {k["ksb"]: k["backed_by"] for k in doc["evidence_pack"]["ksbs"]}
    assert backing == {"K2": ["CQ-1"], "B4": []}
    html = signoff.render(doc)
    assert "not backed by any finding: B4" in html
    from harness.reports import html as html_report

    page = html_report.render(doc)
    assert "<tr><td>K2</td><td>CQ-1</td></tr>" in page and "<tr><td>B4</td><td><strong class='o-fail'>" in page


def test_missing_prerequisite_says_submission_incomplete_beside_the_grade(make_repo, tmp_path):
    repo = make_repo()
    repo.write(".gitignore", ".env\n").write("app.py", "print(1)\n").write("Dockerfile", "FROM x\n").commit("init")
    doc = verify(repo.path, tmp_path / "out")
    pre = doc["evidence_pack"]["prerequisites"]
    assert pre["complete"] is False and pre["missing"] == ["SR-1", "SR-2"]
    assert "Submission incomplete: SR-1, SR-2 not met" in signoff.render(doc)
    # The prerequisites never change the AM1 grade itself.
    assert not any(c.startswith("SR-") for c in doc["grade"]["not_met"] + doc["grade"]["undetermined"])


def test_sixteen_questions_two_per_theme_gaps_first_and_deterministic(make_repo, tmp_path):
    repo = make_repo()
    repo.write("app.py", "print(1)\n").commit("init")  # no .gitignore: CQ-1 is not met
    doc = verify(repo.path, tmp_path / "out")
    qs = doc["evidence_pack"]["questions"]
    assert len(qs) == 16
    assert [q["theme"] for q in qs] == [t for t in ("CQ", "UN", "CI", "RP", "OP", "DP", "AU", "DS") for _ in (0, 1)]
    assert qs[0]["criterion"] == "CQ-1" and qs[0]["status"] == "not_met"
    assert "repo.gitignore" in qs[0]["about"]  # cites the evidence the question is about
    again = verify(repo.path, tmp_path / "again")
    assert again["evidence_pack"]["questions"] == qs


def test_signoff_sheet_holds_header_rows_boxes_questions_and_grades(make_repo, tmp_path):
    repo = make_repo()
    repo.write(".gitignore", ".env\n").write("app.py", "print(1)\n")
    head = repo.commit("init")
    doc = verify(repo.path, tmp_path / "out", "--am2", "pass", "--candidate", "Ada <Lovelace>")
    html = signoff.render(doc)
    assert head in html and "Ada &lt;Lovelace&gt;" in html and "<script" not in html
    assert html.count("not met<") >= len(doc["criteria"])  # a decision box pair per criterion
    assert html.count("class='q'") == 16
    assert "Overall EPA grade" in html and "AM2 as entered</th><td>PASS" in html
    for am1, overall in (("undetermined", "not computed"), ("distinction", "<strong>MERIT</strong>")):
        doc["grade"]["value"] = am1
        assert overall in signoff.render(doc)


def test_am2_in_a_projects_harness_toml_is_ignored(make_repo, tmp_path):
    repo = make_repo()
    repo.write("harness.toml", '[run]\nam2 = "distinction"\n').write("app.py", "print(1)\n").commit("init")
    doc = verify(repo.path, tmp_path / "out")
    assert "am2" not in doc["run"]
    assert any(i["key"] == "run.am2" for i in doc["run"]["settings"]["ignored_from_project"])


# -- the overall EPA grade -----------------------------------------------------------

# The specification's table (Qualification Specification V1.1, "Grading"), as printed.
SPEC_TABLE = """
Fail	Fail	Fail
Fail	Pass	Fail
Fail	Distinction	Fail
Pass	Fail	Fail
Pass	Pass	Pass
Pass	Distinction	Pass
Distinction	Fail	Fail
Distinction	Pass	Merit
Distinction	Distinction	Distinction
"""


def _cells(text: str) -> list[tuple[str, str, str]]:
    rows = re.findall(r"^(Fail|Pass|Distinction)\t(Fail|Pass|Distinction)\t(Fail|Pass|Merit|Distinction)$", text, re.M)
    return [(a.lower(), b.lower(), c.lower()) for a, b, c in rows]


@pytest.mark.parametrize(("am1", "am2", "expected"), _cells(SPEC_TABLE))
def test_overall_grade_cell_by_cell(am1, am2, expected):
    assert epa_grade.overall(am1, am2) == expected


def test_table_matches_the_seed_specification_when_present():
    if not SEED.is_file():
        pytest.skip("the specification seed is not on this machine")
    assert sorted(_cells(SEED.read_text())) == sorted(_cells(SPEC_TABLE))


def test_no_overall_grade_without_final_grades():
    assert epa_grade.overall("undetermined", "pass") is None
    assert epa_grade.overall("distinction", "") is None


# -- the printed sheet of the reference project -----------------------------------------


def test_reference_project_signoff_prints_on_at_most_four_a4_pages(tmp_path):
    if signoff_pdf.browser() is None or shutil.which("pdfinfo") is None:
        pytest.skip("headless Chromium and poppler's pdfinfo are not installed")
    out = tmp_path / "run"
    args = ["verify", "--repo", str(ROOT), "--scope", "repository", "--format", "signoff", "--out", str(out)]
    assert main(args) in (0, 1)
    pdf = out / "harness-signoff.pdf"  # printed by harness itself when Chromium is installed
    assert pdf.is_file(), sorted(p.name for p in out.iterdir())
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=30, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert 1 <= pages <= 4
    assert "A4" in info


def test_html_report_gains_contents_page_numbers_commit_and_submission_status(make_repo, tmp_path):
    from harness.reports import html

    repo = make_repo()
    repo.write(".gitignore", ".env\n").write("app.py", "print(1)\n")
    head = repo.commit("init")
    doc = verify(repo.path, tmp_path / "out")
    page = html.render(doc)
    assert "<nav class='contents'><h2>Contents</h2>" in page and 'href="#checks-run"' in page
    assert 'counter(page) " of " counter(pages)' in page
    assert f"<code>{head}</code> on <code>main</code>" in page
    assert "Submission incomplete: SR-1, SR-2, SR-3 not met" in page  # no diagram, analysis or build script
    from harness.reports import terminal

    lines = [str(t) for t in terminal._grade_lines(doc)]
    assert lines[2] == "Submission incomplete: SR-1, SR-2, SR-3 not met"  # right under the grade and its summary


def test_a_run_saved_before_the_evidence_pack_still_gets_its_questions(make_repo, tmp_path):
    repo = make_repo()
    repo.write("app.py", "print(1)\n").commit("init")
    doc = verify(repo.path, tmp_path / "out")
    del doc["evidence_pack"]
    html = signoff.render(doc)
    assert html.count("class='q'") == 16 and "unknown (not a git repository)" in html


def test_derived_diagram_merges_kubernetes_objects_and_enters_by_published_ports(make_repo):
    repo = make_repo()
    repo.write("compose.yaml", "services:\n  web:\n    image: app\n    ports: ['80:80']\n  worker:\n    image: app\n")
    for kind in ("Deployment", "Service"):  # one component, declared twice
        repo.write(f"k8s/api-{kind.lower()}.yaml", f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: api\n")
    repo.commit("init")
    [f] = run_check("repo.architecture-diagram", repo.path)
    data = next(e for e in f.evidence if "mermaid" in e.data).data
    assert sorted(c["name"] for c in data["components"]) == ["api", "web", "worker"]
    assert "user --> c_web" in data["mermaid"] and "user --> c_worker" not in data["mermaid"]


def test_a_plain_folder_inside_a_repository_has_no_commit(make_repo, tmp_path):
    outer = make_repo("outer")
    outer.write("project/app.py", "print(1)\n").commit("init")
    doc = verify(outer.path / "project", tmp_path / "out")
    assert doc["evidence_pack"]["target"] == {"commit": "", "branch": "", "remote": ""}
    assert "unknown (not a git repository)" in signoff.render(doc)
