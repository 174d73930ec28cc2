"""The pipelines probe: every CI definition at HEAD, normalised to one model (pipelines → jobs → steps).

GitHub Actions (and Gitea/Forgejo Actions), GitLab CI, Azure Pipelines, CircleCI, Bitbucket, Travis and
Jenkinsfiles are each read by their own module into the model in `model.py`: triggers, jobs, their order
(`needs`, stages, `dependsOn`, sequence), job and step conditions, and steps whose commands keep their
lines so that a finding can name the exact place. `classify.py` says what each step does (test, build,
publish, deploy, security scans) from its command words and harness/data/pipeline_tools.yaml.
"""

from harness.probes.pipelines.classify import (
    Match,
    classify,
    hollow_deploys,
    publish_only,
    runs,
    security_scans,
    teardown_of,
    tools,
    unfounded_tests,
)
from harness.probes.pipelines.collect import collect, collect_paths, get
from harness.probes.pipelines.github import reusable_only
from harness.probes.pipelines.graph import (
    CI_TRIGGERS,
    automatic_triggers,
    describe,
    evidence_at,
    is_automatic,
    is_ci,
    is_placeholder,
    job_runs_on,
    problem_evidence,
    runs_after_failure,
    step_runs_on,
    upstream,
)
from harness.probes.pipelines.model import (
    MAX_PIPELINE_BYTES,
    RUNS_AFTER_FAILURE,
    SYSTEM_NAMES,
    Command,
    Job,
    Pipeline,
    PipelineProblem,
    Pipelines,
    Step,
)
from harness.probes.pipelines.yamlio import LDict, LList, load_yaml

__all__ = [
    "CI_TRIGGERS",
    "MAX_PIPELINE_BYTES",
    "RUNS_AFTER_FAILURE",
    "SYSTEM_NAMES",
    "Command",
    "Job",
    "LDict",
    "LList",
    "Match",
    "Pipeline",
    "PipelineProblem",
    "Pipelines",
    "Step",
    "automatic_triggers",
    "classify",
    "collect",
    "collect_paths",
    "describe",
    "evidence_at",
    "get",
    "hollow_deploys",
    "is_automatic",
    "is_ci",
    "is_placeholder",
    "job_runs_on",
    "load_yaml",
    "problem_evidence",
    "publish_only",
    "reusable_only",
    "runs",
    "runs_after_failure",
    "security_scans",
    "step_runs_on",
    "teardown_of",
    "tools",
    "unfounded_tests",
    "upstream",
]
