"""Issue 9, class 3: steps that look like tests but are none (absent paths, a script's name, placeholders)."""

from harness.model import Outcome
from tests.conftest import run_check

APP = "def add(a, b):\n    return a + b\n"
TEST = "from app import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"


def workflow(run: str) -> str:
    return (
        "on: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n" + "".join(f"      - run: {r}\n" for r in run.split("\n"))
    )


def gate(repo) -> tuple[Outcome, str]:
    [f] = [f for f in run_check("repo.pipeline", repo.path) if f.outcome in (Outcome.PASS, Outcome.FAIL)]
    return f.outcome, f.reason


def test_a_test_path_absent_from_the_tree_is_no_test_gate(make_repo):
    repo = make_repo()
    repo.write("app/app.py", APP).write("app/test_app.py", TEST)
    repo.write(
        "Jenkinsfile",
        "pipeline {\n  agent any\n  stages {\n    stage('Test') {\n      steps {\n"
        "        sh 'pytest app/tests/'\n        sh 'pytest integration_tests/test_api.py'\n"
        "      }\n    }\n  }\n}\n",
    )
    repo.write(".github/workflows/ci.yml", workflow("pytest app/tests/")).commit("ci")
    outcome, why = gate(repo)
    assert outcome is Outcome.FAIL, why
    assert "app/tests/" in why and "does not hold" in why


def test_a_test_path_that_exists_is_a_gate_even_from_a_sub_folder(make_repo):
    repo = make_repo()
    repo.write("backend/app.py", APP).write("backend/tests/test_app.py", TEST)
    repo.write(".github/workflows/ci.yml", workflow("cd backend && pytest tests/ -k add")).commit("ci")
    outcome, why = gate(repo)
    assert outcome is Outcome.PASS, why


def test_an_absent_test_script_is_no_test_gate(make_repo):
    repo = make_repo()
    repo.write("app.py", APP).write("test_app.py", TEST)
    repo.write(".github/workflows/ci.yml", workflow("bash scripts/run_tests.sh")).commit("ci")
    outcome, why = gate(repo)
    assert outcome is Outcome.FAIL and "scripts/run_tests.sh" in why, why


def test_a_script_named_test_is_judged_by_what_it_runs(make_repo):
    repo = make_repo()
    repo.write("app.py", APP).write("test_app.py", TEST)
    repo.write("test.sh", "#!/bin/sh\nset -e\ndocker build -t app .\necho built\n")
    repo.write(".github/workflows/ci.yml", workflow("./test.sh")).commit("ci")
    outcome, why = gate(repo)
    assert outcome is Outcome.FAIL and "is a script" in why, why
    repo.write("test.sh", "#!/bin/sh\nset -e\npython -m pytest -q\n").commit("real tests")
    outcome, why = gate(repo)
    assert outcome is Outcome.PASS and "test.sh:3" in why, why


def test_npms_placeholder_test_script_is_no_test(make_repo):
    repo = make_repo()
    placeholder = '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}\n'
    repo.write("package.json", placeholder).write("index.js", "module.exports = 1;\n")
    repo.write(".github/workflows/ci.yml", workflow("npm ci\nnpm test")).commit("ci")
    outcome, why = gate(repo)
    assert outcome is Outcome.FAIL and "placeholder" in why, why
    repo.write("package.json", '{"scripts": {"test": "react-scripts test --watchAll=false"}}\n').commit("tests")
    outcome, why = gate(repo)
    assert outcome is Outcome.PASS, why  # a real runner harness has no pattern for still counts by `npm test`


def test_a_report_file_the_run_writes_is_not_an_absent_test_path(make_repo):
    repo = make_repo()
    repo.write("app.py", APP).write("tests/test_app.py", TEST)
    run = "py.test --verbose --junit-xml test-reports/results.xml tests/\npytest -c config/pytest.ini --html out/r.html"
    repo.write(".github/workflows/ci.yml", workflow(run)).commit("ci")
    outcome, why = gate(repo)
    assert outcome is Outcome.PASS, why
