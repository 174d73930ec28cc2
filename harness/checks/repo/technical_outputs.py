"""repo.technical-outputs: the submission's 'specific technical outputs': which kinds of implementation
the assessor is given (application code, tests, IaC, pipelines, configuration, build scripts)."""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import inventory
from harness.probes.repository import RepoFile

ID = "repo.technical-outputs"
STRUCTURED = {".toml", ".yml", ".yaml", ".json"}
CONFIG_SUFFIXES = {".toml", ".ini", ".cfg", ".conf", ".yml", ".yaml", ".json", ".env.example"}
BUILD_NAMES = {"makefile", "justfile", "taskfile.yml", "run.sh", "build.sh", "noxfile.py", "tox.ini", "dockerfile"}
# Without these two kinds there is nothing to assess; the others are reported as present or absent.
REQUIRED = ("application code", "build or deployment scripts")


def _kind(f: RepoFile) -> str | None:
    low = f.path.lower()
    if low.startswith((".github/workflows/", ".circleci/")) or f.name in (".gitlab-ci.yml", "Jenkinsfile"):
        return "pipelines"
    if inventory.is_dockerfile(f) or f.name.lower() in BUILD_NAMES or f.suffix in (".sh", ".ps1"):
        return "build or deployment scripts"
    if f.suffix in CONFIG_SUFFIXES:
        return "configuration"
    return None


@check(
    ID,
    title="The submission holds implementations of the techniques used",
    failure_title="The submission lacks application code or build and deployment scripts",
    proves="The assessor is given source code, build scripts and configuration covering the techniques (SR-3).",
    remediation="Commit the application code, its tests, the build and deployment scripts, the IaC and pipelines.",
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    kinds: dict[str, list[str]] = {}
    inv = inventory.tests(ctx, repo)
    tests = {t.path for t in inv.tests} | set(inv.support)
    for lang_paths in inventory.languages(ctx, repo).values():
        for p in lang_paths:
            kinds.setdefault("tests" if p in tests else "application code", []).append(p)
    for iac in inventory.iac(ctx, repo).files:
        kinds.setdefault("infrastructure-as-code", []).append(iac.path)
    # A file that does not parse is not an implementation of anything: listed, never counted.
    broken = {d.path: d.error for d in inventory.dockerfiles(ctx, repo) if d.error or not d.instructions}
    for f in repo.files:
        if f.is_regular and not inventory.is_vendored(f.path):
            kind = _kind(f)
            if kind and f.suffix in STRUCTURED:
                parsed = inventory.parsed(ctx, repo, f)
                if parsed is None or parsed.error:
                    broken[f.path] = parsed.error if parsed else "binary, too large or unreadable"
            if kind and f.path not in broken:
                kinds.setdefault(kind, []).append(f.path)
    evidence = [
        inventory.evidence_at(
            repo, paths[0], 1, f"{kind}: {len(paths)} file(s)", data={"kind": kind, "files": len(paths)}
        )
        for kind, paths in sorted(kinds.items())
    ]
    evidence += [
        inventory.evidence_at(repo, path, 1, f"not counted: could not parse: {why or 'no instructions'}")
        for path, why in sorted(broken.items())[:10]
    ]
    summary = ", ".join(f"{k} ({len(v)})" for k, v in sorted(kinds.items()))
    missing = [k for k in REQUIRED if k not in kinds]
    if missing:
        yield finding(ID, Outcome.FAIL, f"missing: {', '.join(missing)}; present: {summary or 'nothing'}", evidence)
        return
    yield finding(ID, Outcome.PASS, f"present: {summary}", evidence)
