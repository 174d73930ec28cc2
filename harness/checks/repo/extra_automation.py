"""repo.extra-automation: automation beyond set-up and deploy (schedules, bots, release, hooks, API scripts)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import inventory, pipelines
from harness.probes.repository import RepoSnapshot

ID = "repo.extra-automation"
BOT_FILES = {
    ".github/dependabot.yml": "Dependabot",
    ".github/dependabot.yaml": "Dependabot",
    "renovate.json": "Renovate",
    "renovate.json5": "Renovate",
    ".renovaterc": "Renovate",
    ".renovaterc.json": "Renovate",
    ".github/renovate.json": "Renovate",
    ".github/renovate.json5": "Renovate",
    ".pre-commit-config.yaml": "pre-commit hooks",
    ".pre-commit-config.yml": "pre-commit hooks",
    "lefthook.yml": "lefthook git hooks",
    ".releaserc": "semantic-release",
    ".releaserc.json": "semantic-release",
    ".releaserc.yml": "semantic-release",
    "release.config.js": "semantic-release",
    "release-please-config.json": "release-please",
    ".goreleaser.yml": "GoReleaser",
    ".goreleaser.yaml": "GoReleaser",
}
# Tools that only a pipeline or script runs: their configuration alone automates nothing (bots and hooks are
# run by the platform or by git). The pattern finds the tool among the commands a pipeline runs.
RUN_BY_PIPELINE = {
    "semantic-release": re.compile(r"semantic-release"),
    "release-please": re.compile(r"release-please"),
    "GoReleaser": re.compile(r"goreleaser"),
}
RELEASE_STEP = re.compile(
    r"(semantic-release|release-please-action|googleapis/release-please|goreleaser|changesets/action)"
)
API_CALL = re.compile(
    r"(\brequests\.(get|post|put|patch|delete)\(|\bhttpx\.|\bboto3\.(client|resource)\(|\bfrom azure\.|\bgh api\b"
    r"|\bcurl\b[^\n]*https?://(?!localhost|127\.0\.0\.1)|Invoke-RestMethod|\burllib\.request\.urlopen\(|\bfetch\(\s*['\"`]https?://)"
)
SCRIPT_SUFFIXES = {".sh", ".py", ".ps1", ".js", ".ts", ".bash", ""}
SCRIPT_DIRS = {"scripts", "script", "bin", "tools", "ops", "automation", "hack"}


def _schedules(ctx: Context, repo: RepoSnapshot) -> tuple[list[Evidence], list[tuple[str, str]]]:
    """Scheduled pipelines and release automation, from the pipeline model (every CI system it reads)."""
    model = pipelines.get(ctx)
    found: list[Evidence] = []
    problems = [(p.path, p.message) for p in model.problems]
    for pipe in model.pipelines:
        if pipe.schedules:
            cron, line = pipe.schedules[0]
            what = f"scheduled {pipe.system_name} pipeline {pipe.path}" + (f" (cron {cron})" if cron else "")
            found.append(inventory.evidence_at(repo, pipe.path, line, what))
        for path in pipe.files:
            text = repo.read_text(path, pipelines.MAX_PIPELINE_BYTES) or ""
            m = RELEASE_STEP.search(text)
            if m:
                line = text.count("\n", 0, m.start()) + 1
                found.append(inventory.evidence_at(repo, path, line, f"release automation: {m.group(1)}", m.group(0)))
                break
    return found, problems


def _pipeline_runs(ctx: Context) -> tuple[str, set[str]]:
    """Every command and action the pipelines run (scripts and package.json scripts resolved), and the
    scripts that deploy steps run (a deploy hook is the deploy itself, not automation beyond it)."""
    model = pipelines.get(ctx)
    texts: list[str] = []
    deploy_scripts: set[str] = set()
    for pipe in model.pipelines:
        for job in pipe.jobs:
            for step in job.steps:
                texts.append(step.uses)
                for cmd in step.commands:
                    texts += [t for t, _, _ in pipelines.runs(cmd)]
        for m in pipelines.classify(pipe, "deploy"):
            for cmd in m.step.commands:
                deploy_scripts |= {src.rsplit(":", 1)[0] for _, src in cmd.inner if src}
    return "\n".join(texts), deploy_scripts


def _api_scripts(repo: RepoSnapshot, skip: Collection[str] = ()) -> list[Evidence]:
    files = [
        f
        for f in repo.files
        if f.is_regular
        and f.suffix in SCRIPT_SUFFIXES
        and (set(f.folders) & SCRIPT_DIRS or ("/" not in f.path and f.suffix in (".sh", ".ps1")))
    ]
    seen: set[str] = set()
    out = []
    for h in inventory.grep(repo, files, API_CALL, limit=50):
        if h.path not in seen and h.path not in skip:
            seen.add(h.path)
            out.append(inventory.evidence_at(repo, h.path, h.line, f"script calling an API: {h.path}", h.text))
    return out


@check(
    ID,
    title="Automation beyond set-up and deploy reduces recurring effort",
    failure_title="No automation beyond set-up and deploy",
    proves="Recurring chores (updates, scheduled jobs, releases, hygiene, API tasks) are automated (AU-D1).",
    remediation=(
        "Automate a recurring chore: a scheduled workflow, Dependabot or Renovate, release automation, pre-commit "
        "hooks, or a script that drives an API you otherwise click through by hand."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    evidence, problems = _schedules(ctx, repo)
    ran, deploy_scripts = _pipeline_runs(ctx)
    idle: list[Evidence] = []
    for path, what in BOT_FILES.items():
        f = repo.get(path)
        if f is None:
            continue
        needs_run = RUN_BY_PIPELINE.get(what)
        if needs_run is not None and not needs_run.search(ran):
            idle.append(inventory.evidence_at(repo, path, 1, f"{what} configuration that no pipeline runs: {path}"))
            continue
        p = inventory.parsed(ctx, repo, f) if f.suffix in (".json", ".yml", ".yaml") else None
        if p is not None and p.error:
            problems.append((path, p.error))
            continue
        if p is not None and not p.docs:
            continue  # an empty configuration automates nothing
        evidence.append(inventory.evidence_at(repo, path, 1, f"{what}: {path}"))
    if repo.glob(".husky/*"):
        evidence.append(inventory.evidence_at(repo, repo.glob(".husky/*")[0].path, 1, "husky git hooks"))
    evidence += _api_scripts(repo, deploy_scripts)[:5]
    for ev in idle:
        yield finding(
            ID,
            Outcome.WARN,
            f"{ev.path} configures {ev.summary.split(' configuration')[0]}, but no pipeline or script runs it: "
            "configuration that nothing runs automates nothing",
            [ev],
            remediation=f"Run it from a pipeline (e.g. a release job on the main branch), or delete {ev.path}.",
            subject=ev.path,
        )
    for path, why in problems:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"{path} could not be parsed ({why}), so it was not counted",
            [inventory.evidence_at(repo, path, 1, why)],
            remediation=f"Fix the syntax of {path}.",
            subject=path,
        )
    if not evidence and problems:
        return  # what could not be read may be the automation: no verdict
    if not evidence:
        yield finding(ID, Outcome.FAIL, "no scheduled job, bot, release automation, git hook or API script found")
        return
    kinds = sorted({e.summary.split(":")[0].split(" ")[0] for e in evidence})
    yield finding(
        ID,
        Outcome.PASS,
        f"{len(evidence)} piece(s) of extra automation: " + "; ".join(e.summary for e in evidence[:5]),
        evidence,
        subject=", ".join(kinds),
    )
