"""repo.automated-refresh: images and dependencies are refreshed without anyone remembering to."""

from __future__ import annotations

import json
from collections.abc import Iterator

import yaml

from harness import yamlsafe
from harness.checks.base import check, finding
from harness.checks.repo import deploy_gate
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import pipelines, repository
from harness.probes.repository import RepoSnapshot

ID = "repo.automated-refresh"
DEPENDABOT = (".github/dependabot.yml", ".github/dependabot.yaml")
RENOVATE = (
    "renovate.json",
    "renovate.json5",
    ".renovaterc",
    ".renovaterc.json",
    ".renovaterc.json5",
    ".github/renovate.json",
    ".github/renovate.json5",
    ".gitlab/renovate.json",
    ".gitlab/renovate.json5",
)


@check(
    ID,
    title="Scheduled rebuilds or a dependency bot keep images and dependencies patched",
    failure_title="Nothing rebuilds or updates the service unless someone remembers to",
    proves=(
        "Security patches in base images and dependencies reach production without manual work (RP-D1): a "
        "scheduled pipeline rebuilds or redeploys, or a bot proposes updates that an automated deploy ships."
    ),
    remediation=(
        "Add `on: schedule` (cron) to the workflow that builds and deploys, or add .github/dependabot.yml "
        "(or Renovate) together with an automated deploy on merge."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    if not repo.is_git or repo.head is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "not a git repository with commits: nothing committed to read")
        return
    model = pipelines.get(ctx)
    evidence: list[Evidence] = []
    found: list[str] = []
    refresh: list[str] = []  # schedules that rebuild or redeploy
    for pipe in model.pipelines:
        if not pipe.schedules:
            continue
        cron, line = pipe.schedules[0]
        work = pipelines.classify(pipe, "build") + pipelines.classify(pipe, "deploy")
        # Judged on the scheduled run alone: a job or step whose condition skips it on schedule refreshes nothing.
        scheduled = [m for m in work if pipelines.step_runs_on(pipe, m.job, m.step, "schedule")]
        evidence.append(pipelines.evidence_at(repo, pipe.path, line, f"{pipe.path}:{line}: schedule {cron}"))
        if scheduled:
            w = scheduled[0]
            refresh.append(f"{pipe.path}:{line} on schedule ({cron}) rebuilds or redeploys (line {w.line})")
        elif work:
            w = work[0]
            cond = w.step.condition or w.job.condition or "a job it needs is skipped"
            found.append(
                f"{pipe.path}:{line} runs on a schedule ({cron}) but its build and deploy steps are skipped on "
                f"schedule (line {w.line}, job `{w.job.id}`: `{cond[:80]}`)"
            )
            evidence.append(pipelines.evidence_at(repo, pipe.path, w.line, f"{w.where}: skipped on schedule"))
        else:
            found.append(f"{pipe.path}:{line} runs on a schedule ({cron}) but neither builds nor deploys")
    bots, bot_problems = _bots(repo, evidence)
    found += bots
    auto_deploy = deploy_gate.automatic_deploys(model)
    for problem in bot_problems:
        yield finding(
            ID,
            Outcome.FAIL,
            problem,
            [e for e in evidence if e.path and e.path in problem][:1],
            remediation="Fix the bot configuration so that the bot can read it.",
        )
    if refresh:
        yield finding(ID, Outcome.PASS, "; ".join(refresh + found), evidence)
        return
    if bots and auto_deploy:
        d = auto_deploy[0]
        evidence.append(pipelines.evidence_at(repo, d.pipeline.path, d.line, f"{d.where}: automated deploy"))
        yield finding(
            ID,
            Outcome.PASS,
            "; ".join(found) + f"; merged updates ship through the automated deploy at {d.where}",
            evidence,
        )
        return
    if bots:
        yield finding(
            ID,
            Outcome.WARN,
            "; ".join(found) + "; but no automated deploy ships the merged updates",
            evidence,
            remediation="Deploy automatically on merge to main, or add a scheduled rebuild and redeploy.",
        )
        return
    if found:
        yield finding(ID, Outcome.FAIL, "; ".join(found) + "; and no dependency-update bot is configured", evidence)
        return
    yield finding(ID, Outcome.FAIL, "no scheduled pipeline and no dependency-update bot (Dependabot, Renovate)")


def _bots(repo: RepoSnapshot, evidence: list[Evidence]) -> tuple[list[str], list[str]]:
    found: list[str] = []
    problems: list[str] = []
    for path in DEPENDABOT:
        if not repo.exists(path):
            continue
        text = repo.read_text(path, 500_000)
        try:
            doc = yamlsafe.load(text or "")
        except yaml.YAMLError as exc:
            problems.append(f"{path} is not valid YAML: {str(exc).splitlines()[0]}")
            evidence.append(Evidence(kind="file", summary=f"{path}: malformed", path=path, commit=repo.head))
            continue
        updates = doc.get("updates") if isinstance(doc, dict) else None
        if not isinstance(updates, list) or not updates:
            problems.append(f"{path} declares no `updates:`, so Dependabot updates nothing")
            continue
        ecos = sorted({str(u.get("package-ecosystem")) for u in updates if isinstance(u, dict)})
        found.append(f"Dependabot updates {', '.join(ecos)} ({path})")
        evidence.append(pipelines.evidence_at(repo, path, 1, f"{path}: {len(updates)} update entries"))
    for path in RENOVATE:
        if repo.exists(path):
            found.append(f"Renovate is configured ({path})")
            evidence.append(pipelines.evidence_at(repo, path, 1, f"{path}: Renovate configuration"))
    if repo.exists("package.json"):
        try:
            pkg = json.loads(repo.read_text("package.json", 2_000_000) or "{}")
        except ValueError:
            pkg = {}
        if isinstance(pkg, dict) and "renovate" in pkg:
            found.append("Renovate is configured (package.json `renovate` key)")
            evidence.append(pipelines.evidence_at(repo, "package.json", 1, "package.json: renovate configuration"))
    return found, problems
