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


def scans(make_repo, run: str, extra: dict[str, str], ci: str = "") -> tuple[list[Outcome], str]:
    repo = make_repo()
    for path, text in {"Makefile": ROOT, **extra}.items():
        repo.write(path, text)
    repo.write(".github/workflows/ci.yml", ci or workflow(run)).commit("ci")
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


def step_workflow(run: str, step_dir: str = "", job_dir: str = "", top_dir: str = "") -> str:
    """`run` in one step, with GitHub's working directory at step, job or workflow level."""

    def defaults(where: str, indent: str) -> str:
        return f"{indent}defaults:\n{indent}  run:\n{indent}    working-directory: {where}\n" if where else ""

    step = "      - run: " + run + "\n" + (f"        working-directory: {step_dir}\n" if step_dir else "")
    return (
        "on: push\n"
        + defaults(top_dir, "")
        + "jobs:\n  scan:\n    runs-on: ubuntu-latest\n"
        + defaults(job_dir, "    ")
        + "    steps:\n      - uses: actions/checkout@v4\n"
        + step
    )


@pytest.mark.parametrize(
    "dirs",
    [
        {"step_dir": "backend"},
        {"step_dir": "./backend/"},
        {"job_dir": "backend"},
        {"top_dir": "backend"},
        {"top_dir": "frontend", "step_dir": "backend"},  # the step's own folder wins
    ],
)
def test_working_directory_is_where_make_runs(make_repo, dirs):
    outs, why = scans(
        make_repo, "", {"backend/Makefile": SCAN, "frontend/app.js": "x\n"}, step_workflow("make scan", **dirs)
    )
    assert Outcome.PASS in outs and "pip-audit" in why, why


@pytest.mark.parametrize(
    "dirs",
    [
        {"step_dir": "frontend"},
        {"step_dir": "${{ github.workspace }}/elsewhere"},  # a folder harness cannot tell: never guessed
        {"top_dir": "backend", "step_dir": "frontend"},
        {"step_dir": "../backend"},
    ],
)
def test_working_directory_elsewhere_does_not_borrow_the_folders_recipe(make_repo, dirs):
    outs, why = scans(
        make_repo, "", {"backend/Makefile": SCAN, "frontend/app.js": "x\n"}, step_workflow("make scan", **dirs)
    )
    assert Outcome.PASS not in outs and "pip-audit" not in why, why


def test_azure_working_directory_is_where_make_runs(make_repo):
    repo = make_repo()
    for path, text in {"Makefile": ROOT, "backend/Makefile": SCAN}.items():
        repo.write(path, text)
    pipeline = "trigger: [main]\nsteps:\n  - script: make scan\n    workingDirectory: backend\n"
    repo.write("azure-pipelines.yml", pipeline).commit("ci")
    findings = run_check("repo.security-scanning", repo.path)
    why = " | ".join(f.reason for f in findings)
    assert Outcome.PASS in [f.outcome for f in findings] and "pip-audit" in why, why
