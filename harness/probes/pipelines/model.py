"""The pipeline model every CI system is read into: pipelines → jobs → steps → commands."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from harness.probes.pipelines.shell import Simple, split

MAX_PIPELINE_BYTES = 1_000_000
MAX_INCLUDES = 20
MAX_CALL_DEPTH = 10  # GitHub's own limit on nested reusable workflows
MAX_EXPANDED_JOBS = 2000  # a bound on fan-out (a workflow calling another many times, nested)

GITHUB_DIR = ".github/workflows/"
# GitHub Actions' format, also read by Gitea and Forgejo Actions from their own folders.
ACTIONS_DIRS = {GITHUB_DIR: "github", ".gitea/workflows/": "gitea", ".forgejo/workflows/": "forgejo"}
ACTIONS_SYSTEMS = set(ACTIONS_DIRS.values())
ROOT_FILES = {
    ".gitlab-ci.yml": "gitlab",
    "azure-pipelines.yml": "azure",
    "azure-pipelines.yaml": "azure",
    "Jenkinsfile": "jenkins",
    ".travis.yml": "travis",
    ".circleci/config.yml": "circleci",
    "bitbucket-pipelines.yml": "bitbucket",
}
SYSTEM_NAMES = {
    "github": "GitHub Actions",
    "gitea": "Gitea Actions",
    "forgejo": "Forgejo Actions",
    "gitlab": "GitLab CI",
    "azure": "Azure Pipelines",
    "jenkins": "Jenkins",
    "travis": "Travis CI",
    "circleci": "CircleCI",
    "bitbucket": "Bitbucket Pipelines",
}

# Actions that only prepare the runner.
INERT_USES = re.compile(r"^(actions/(checkout|setup-[\w-]+|cache)|checkout$)", re.I)
# A command whose failure is swallowed: `cmd || true`, `|| echo ...`, `|| exit 0`, `|| :`, `; exit 0`.
SWALLOW = re.compile(r"\|\|\s*(true\b|:|echo\b|exit\s+0\b|/bin/true\b|printf\b)|;\s*exit\s+0\b")
# Job conditions that run a job even when the jobs it needs failed.
RUNS_AFTER_FAILURE = re.compile(r"\b(always|failure)\(\)|!\s*cancelled\(\)")


# -- model ------------------------------------------------------------------
@dataclass
class Command:
    text: str  # one logical shell line (continuations joined)
    line: int
    stdin: str = ""  # a heredoc's body fed to the command (`ssh host <<EOF ... EOF`)
    # What the line runs indirectly: (command, where it is defined), e.g. a built image's CMD or a make recipe.
    inner: list[tuple[str, str]] = field(default_factory=list)
    # Per simple command of the line (by its text): what its definition runs when one was found (a script,
    # a package.json script, a make target), and the paths it names that are not in the repository.
    defined: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    absent: dict[str, list[str]] = field(default_factory=dict)

    @property
    def simples(self) -> tuple[Simple, ...]:
        return split(self.text)

    @property
    def segments(self) -> list[str]:
        """The line's commands, without inert ones (so `echo "pytest"` is never a test)."""
        return [s.text for s in self.simples if not s.inert]


@dataclass
class Step:
    name: str
    line: int
    end_line: int
    commands: list[Command] = field(default_factory=list)
    uses: str = ""  # action, Azure task, CircleCI orb command or Bitbucket pipe
    inputs: dict[str, str] = field(default_factory=dict)
    condition: str = ""
    cannot_fail: str = ""  # why this step's failure never fails the pipeline
    cannot_fail_line: int | None = None
    # The folder its commands start in, as written (GitHub `working-directory`, Azure `workingDirectory`);
    # "" is the checkout's root.
    workdir: str = ""

    @property
    def inert(self) -> bool:
        if self.uses and not INERT_USES.search(self.uses):
            return False
        return all(not c.segments for c in self.commands)


@dataclass
class Job:
    id: str
    name: str
    line: int
    end_line: int
    steps: list[Step] = field(default_factory=list)
    needs: list[str] | None = None  # None: the system's default ordering applies
    stage: str = ""
    group: str = ""  # jobs in a sequential pipeline are ordered within their group
    condition: str = ""
    cannot_fail: str = ""
    cannot_fail_line: int | None = None
    manual: bool = False
    scheduled_only: bool = False
    artifacts: bool = False  # the CI keeps files from this job (GitLab artifacts:)
    path: str = ""  # the file defining the job when it is not the pipeline's own (a called reusable workflow)
    via: str = ""  # the calls that brought it in: "deploy.yml job `ci` → ci.yml job `x`"
    calls: str = ""  # the reusable workflow this job calls (GitHub `jobs.<id>.uses`)
    call_note: str = ""  # why that workflow's jobs are not part of the pipeline (remote, missing, cycle)


@dataclass
class Pipeline:
    system: str  # github | gitlab | azure | jenkins | travis | circleci | bitbucket
    path: str
    name: str
    lines: int
    triggers: dict[str, int] = field(default_factory=dict)  # trigger → line
    schedules: list[tuple[str, int]] = field(default_factory=list)  # (cron, line)
    workflow_run: list[str] = field(default_factory=list)  # workflows whose completion triggers this one
    jobs: list[Job] = field(default_factory=list)
    ordering: str = "needs"  # needs | stages | sequential
    stages: list[str] = field(default_factory=list)
    stage_needs: dict[str, list[str]] = field(default_factory=dict)  # Azure stage `dependsOn:` when given
    templates: list[tuple[str, int]] = field(default_factory=list)  # GitLab `include: template:`
    files: list[str] = field(default_factory=list)  # this file and its local includes
    called_by: list[str] = field(default_factory=list)  # workflows that call this one (`uses: ./...`)
    # Values its files assign to each variable (`env:`, `variables:`, Jenkins `environment`, shell `X=`).
    variables: dict[str, list[str]] = field(default_factory=dict)
    _base: Pipeline | None = field(default=None, repr=False, compare=False)
    _views: dict[str, Pipeline] = field(default_factory=dict, repr=False, compare=False)

    @property
    def system_name(self) -> str:
        return SYSTEM_NAMES[self.system]

    def view(self, path: str) -> Pipeline:
        """This pipeline as seen from `path`, a workflow it calls: same jobs and triggers, that file's lines.

        Matches in called jobs carry a view so that `m.pipeline.path:m.line` names the right file while
        the triggers (and so is_ci/is_automatic) remain the caller's.
        """
        base = self._base or self
        if not path or path == base.path:
            return base
        if path not in base._views:
            base._views[path] = dataclasses.replace(base, path=path, files=[path], _base=base, _views={})
        return base._views[path]

    def job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.id == job_id), None)


@dataclass
class PipelineProblem:
    path: str
    message: str


@dataclass
class Pipelines:
    pipelines: list[Pipeline]
    problems: list[PipelineProblem]  # files found but not readable as pipelines
    head: str | None
