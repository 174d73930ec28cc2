"""Issue 9: a make run reads the Makefile of the folder it runs in (`cd web && make scan`, `make -C web`)."""

import pytest

from harness.model import Outcome
from tests.conftest import run_check

SCAN = "scan:\n\tpip-audit -r requirements.txt\n"
ROOT = "scan:\n\techo nothing to scan\n"


def workflow(run: str) -> str:
    body = "\n".join("          " + line for line in run.splitlines())
    return (
        "on: push\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: |\n" + body + "\n"
    )


def scans(make_repo, run: str, extra: dict[str, str]) -> tuple[list[Outcome], str]:
    repo = make_repo()
    for path, text in {"Makefile": ROOT, **extra}.items():
        repo.write(path, text)
    repo.write(".github/workflows/ci.yml", workflow(run)).commit("ci")
    findings = run_check("repo.security-scanning", repo.path)
    return [f.outcome for f in findings], " | ".join(f.reason for f in findings)


@pytest.mark.parametrize(
    "run",
    [
        "cd backend && make scan",
        "cd backend\nmake scan",
        "cd backend; make",
        "make -C backend scan",
        "make --directory=backend scan",
        "cd services/../backend/ && make scan",
    ],
)
def test_make_in_a_folder_reads_that_folders_makefile(make_repo, run):
    outs, why = scans(make_repo, run, {"backend/Makefile": SCAN})
    assert Outcome.PASS in outs and "pip-audit" in why, why


@pytest.mark.parametrize(
    "run",
    [
        "make scan",  # the root Makefile's scan only echoes
        "cd frontend && make scan",  # a folder without a Makefile
        "cd ../backend && make scan",  # outside the repository: never read
        "cd backend && cd .. && make scan",
    ],
)
def test_make_elsewhere_does_not_borrow_the_folders_recipe(make_repo, run):
    outs, why = scans(make_repo, run, {"backend/Makefile": SCAN, "frontend/app.js": "x\n"})
    assert Outcome.PASS not in outs and "pip-audit" not in why, why
