"""repo.containers: Dockerfiles pin their base, run as non-root, check their health, and build in a separate stage.

Running as root, a floating or `latest` base and a missing health check are security and hygiene
warnings with advice, never an RP-1 failure: an image is an immutable release unit either way.
This check never fails: a Dockerfile with no FROM builds nothing and is a warning too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import inventory
from harness.probes.inventory import Dockerfile, Instruction
from harness.probes.repository import RepoSnapshot

ID = "repo.containers"
_VAR = re.compile(r"\$\{?(\w+)(?::?-([^}]*))?\}?")
_EXACT = re.compile(r"(\d+\.\d+|(19|20)\d{6})")  # a version or a date-stamped build
_CONTAINER_HINT = re.compile(r"(\bdocker\b|\bcontainer|\bimage\s*[:=]|\bkubectl\b|\bpodman\b)", re.I)
ROOT_USERS = {"root", "0", "0:0", "root:root"}
# What makes a single-stage image carry a build toolchain; without one, a second stage would remove nothing.
_PKG_INSTALL = re.compile(r"\b(apt-get|apt|apk|yum|dnf|microdnf|zypper)\s+(install|add)\b([^;&|\n]*)")
_BUILD_PACKAGE = re.compile(
    r"^(gcc(-[\d.]+)?|g\+\+(-[\d.]+)?|clang(-[\d.]+)?|make|cmake|build-essential|build-base|alpine-sdk|autoconf"
    r"|automake|libtool|pkg-?config|golang(-[\d.]+)?(-go)?|go|rustc|cargo|maven|gradle|openjdk-[\d]+-jdk(-headless)?"
    r"|default-jdk(-headless)?|dotnet-sdk-[\d.]+|[\w.+-]+-(dev|devel))$"
)
_CMD_START = r"(?:^|&&|\|\||[;|]|\bthen|\bdo)\s*(?:sudo\s+)?(?:[\w./-]*/)?"  # a command, not an argument
_BUILD_STEP = re.compile(
    _CMD_START + r"(go\s+(build|install)|cargo\s+(build|install)|mvnw?|gradlew?|dotnet\s+(build|publish)|javac"
    r"|pip3?\s+wheel|python3?\s+(-m\s+build|setup\.py\s+(build|bdist\w*|install))|configure|c?make|tsc"
    r"|(npm|yarn|pnpm)\s+(run\s+)?build)(?=\s|$)",
    re.M,
)
_NPM_INSTALL = re.compile(
    _CMD_START + r"(?:(?:npm\s+(?:install|i|ci)|pnpm\s+(?:install|i)|yarn\s+install)(?=\s|$)"
    r"|yarn(?=[ \t]*(?:$|&&|;|\||-)))[^;&|\n]*",
    re.M,
)
_NPM_PROD = re.compile(r"--(omit[= ]dev|production|prod\b|only[= ]prod)")
_SDK_BASE = re.compile(r"^(?:[\w.-]+/)*(golang|rust|maven|gradle|gcc|buildpack-deps|sdk)(?::|@|$)", re.I)
# Full (not slim or alpine) language images are built on buildpack-deps, which carries gcc and make.
_FULL_LANG_BASE = re.compile(r"^(?:library/)?(python|node|ruby)(?=[:@]|$)(?!:[^@]*(slim|alpine))", re.I)
_JDK_BASE = re.compile(r"^(?:[\w.-]+/)*(openjdk|eclipse-temurin|amazoncorretto):[^@]*jdk", re.I)


@dataclass
class Stage:
    index: int
    base: str  # as resolved
    line: int
    name: str | None
    user: tuple[str, int] | None = None
    healthcheck: int | None = None
    instructions: list[Instruction] = field(default_factory=list)


def _resolve(value: str, args: dict[str, str]) -> tuple[str, list[str]]:
    """Substitute ARG defaults; return the unresolved variable names too."""
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        if m.group(1) in args:
            return args[m.group(1)]
        if m.group(2) is not None:
            return m.group(2)
        missing.append(m.group(1))
        return m.group(0)

    return _VAR.sub(sub, value), missing


def _stages(df: Dockerfile) -> tuple[list[Stage], dict[str, str], list[tuple[int, str]]]:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    unresolved: list[tuple[int, str]] = []
    for ins in df.instructions:
        if ins.keyword == "ARG" and not stages:
            name, _, default = ins.args.partition("=")
            if default:
                global_args[name.strip()] = default.strip().strip("'\"")
        elif ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            if not words:
                continue
            base, missing = _resolve(words[0], global_args)
            if missing:
                unresolved.append((ins.line, ", ".join(missing)))
            alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(len(stages), base, ins.line, alias.lower() if alias else None))
        elif stages:
            stage = stages[-1]
            stage.instructions.append(ins)
            if ins.keyword == "USER":
                stage.user = (ins.args.strip(), ins.line)
            elif ins.keyword == "HEALTHCHECK":
                stage.healthcheck = None if ins.args.strip().upper() == "NONE" else ins.line
    return stages, global_args, unresolved


def _inherited(stages: list[Stage], stage: Stage, attr: str) -> object:
    """USER and HEALTHCHECK carry over when a stage is built FROM an earlier stage."""
    seen = 0
    while stage is not None and seen < len(stages):
        value = getattr(stage, attr)
        if value is not None:
            return value
        parent = next((s for s in stages[: stage.index] if s.name and s.name == stage.base.lower()), None)
        if parent is None:
            return None
        stage, seen = parent, seen + 1
    return None


def _healthchecks_elsewhere(ctx: Context, repo: RepoSnapshot) -> list[Evidence]:
    out = []
    for c in inventory.compose_files(ctx, repo):
        for name, svc in c.services.items():
            if isinstance(svc.get("healthcheck"), dict) and not svc["healthcheck"].get("disable"):
                out.append(
                    inventory.evidence_at(
                        repo, c.path, c.line_of_key("healthcheck", name), f"compose service {name} has a healthcheck"
                    )
                )
    probe = re.compile(r"\b(livenessProbe|readinessProbe|health_check|healthCheck|healthcheck)\b")
    iac_files = [f for i in inventory.iac(ctx, repo).hosted if (f := repo.get(i.path)) is not None]
    for hit in inventory.grep(repo, iac_files, probe, limit=3):
        out.append(inventory.evidence_at(repo, hit.path, hit.line, "health check in infrastructure code", hit.text))
    return out


def _build_tools(repo: RepoSnapshot, df: Dockerfile, stage: Stage) -> list[tuple[int, str]]:
    """(line, what) for each sign that this stage compiles or installs a build toolchain."""
    out: list[tuple[int, str]] = []
    base = stage.base
    if _SDK_BASE.match(base) or _FULL_LANG_BASE.match(base) or _JDK_BASE.match(base):
        out.append((stage.line, f"base image {base} is a build image"))
    lines = (repo.read_text(df.path) or "").splitlines()
    for ins in stage.instructions:
        if ins.keyword != "RUN":
            continue
        # The raw lines, so heredoc bodies count too: one command per line, continuations joined, comments dropped.
        raw = [ln.strip() for ln in lines[ins.line - 1 : ins.end_line] if not ln.lstrip().startswith("#")]
        body = re.sub(r"^RUN\s+(--\S+\s+)*", "", "\n".join(raw), flags=re.I).replace("\\\n", " ")
        for m in _PKG_INSTALL.finditer(body):
            pkgs = [w for w in m.group(3).split() if not w.startswith("-")]
            tools = [p for p in pkgs if _BUILD_PACKAGE.match(p.split("=")[0])]
            if tools:
                out.append((ins.line, f"installs {', '.join(tools[:4])}"))
        if step := _BUILD_STEP.search(body):
            out.append((ins.line, f"runs `{step.group(0).strip()}`"))
        pruned = re.search(r"\bnpm\s+prune\b[^;&|]*--(production|omit[= ]dev)", body)
        for m in _NPM_INSTALL.finditer(body):
            if not pruned and not _NPM_PROD.search(m.group(0)):
                out.append((ins.line, f"`{m.group(0).strip()}` installs devDependencies"))
    return out


def _judge(ctx: Context, repo: RepoSnapshot, df: Dockerfile, elsewhere: list[Evidence]) -> Finding:
    ev = lambda line, summary, text=None: inventory.evidence_at(repo, df.path, line, summary, text)  # noqa: E731
    if df.error:
        return finding(ID, Outcome.COULD_NOT_CHECK, f"{df.path}: {df.error}", [ev(1, df.error)], subject=df.path)
    stages, _args, unresolved = _stages(df)
    if not stages:
        # Builds no image (e.g. every line commented out): nothing immutable or mutable to judge, so advice only.
        return finding(
            ID,
            Outcome.WARN,
            f"{df.path}: no FROM instruction, so it builds no image",
            [ev(1, "no FROM")],
            remediation=f"Delete {df.path} if it is unused, or give it a FROM line.",
            subject=df.path,
        )
    warns: list[Evidence] = []
    names = {s.name for s in stages if s.name}
    for line, missing in unresolved:
        warns.append(ev(line, f"{df.path}:{line}: base image uses ARG {missing} with no default: cannot be pinned"))
    for s in stages:
        base = s.base
        if base.lower() == "scratch" or base.lower() in names or "$" in base:
            continue
        ref = inventory.split_image(base)
        where = f"{df.path}:{s.line}"
        if ref.digest:
            continue
        if ref.tag is None:
            warns.append(ev(s.line, f"{where}: base image {base} has no tag (means latest)", f"FROM {base}"))
        elif ref.tag.lower() == "latest":
            warns.append(ev(s.line, f"{where}: base image {base} uses the latest tag", f"FROM {base}"))
        elif not _EXACT.search(ref.tag):
            warns.append(ev(s.line, f"{where}: base image tag {ref.tag!r} is not an exact version", f"FROM {base}"))
    final = stages[-1]
    user = _inherited(stages, final, "user")
    nonroot_base = "nonroot" in final.base.lower()
    if user is None and not nonroot_base:
        warns.append(ev(final.line, f"{df.path}:{final.line}: the final stage sets no USER, so it runs as root"))
    elif isinstance(user, tuple) and user[0].split(":")[0].lower() in {"root", "0"}:
        warns.append(ev(user[1], f"{df.path}:{user[1]}: the final stage runs as {user[0]}", f"USER {user[0]}"))
    health = _inherited(stages, final, "healthcheck")
    if health is None and not elsewhere:
        warns.append(ev(final.line, f"{df.path}: no HEALTHCHECK, and none in compose or infrastructure code"))
    good = [ev(s.line, f"stage {s.index + 1}: FROM {s.base}" + (f" AS {s.name}" if s.name else "")) for s in stages]
    if len(stages) == 1:
        # A separate build stage only helps when there is something to build; runtime-only images pass.
        if tools := _build_tools(repo, df, final):
            what = "; ".join(f"line {ln}: {w}" for ln, w in tools[:3])
            why = f"single-stage build: build tools ship in the runtime image ({what})"
            warns.append(ev(tools[0][0], f"{df.path}: {why}"))
            good += [ev(ln, f"build step: {w}") for ln, w in tools[1:4]]
        else:
            good.append(ev(final.line, "single stage with no build toolchain or build step: nothing to leave behind"))
    if isinstance(user, tuple):
        good.append(ev(user[1], f"final stage runs as {user[0]}", f"USER {user[0]}"))
    if isinstance(health, int):
        good.append(ev(health, "HEALTHCHECK in the image"))
    summary = f"{len(stages)} stage(s), final FROM {final.base}"
    if warns:
        return finding(
            ID,
            Outcome.WARN,
            f"{df.path}: " + "; ".join(e.summary.split(": ", 1)[-1] for e in warns),
            warns + good,
            subject=df.path,
        )
    return finding(
        ID,
        Outcome.PASS,
        f"{df.path}: pinned base, non-root user, health check, {summary}",
        good + elsewhere[:2],
        subject=df.path,
    )


@check(
    ID,
    title="Container images are built from pinned bases, run as non-root and check their own health",
    failure_title="A Dockerfile runs as root or uses a floating base image",
    proves="Images are reproducible and least-privileged, so servers can be recycled from them at will (RP-1).",
    remediation=(
        "Pin every base image to an exact version or a digest (FROM python:3.12.4-slim@sha256:...), add a non-root "
        "USER in the final stage, a HEALTHCHECK, and compile or install build tools only in a build stage that the "
        "runtime stage copies from."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    files = inventory.dockerfiles(ctx, repo)
    if not files:
        yield _no_dockerfile(ctx, repo)
        return
    elsewhere = _healthchecks_elsewhere(ctx, repo)
    for df in files:
        ctx.check_deadline()
        yield _judge(ctx, repo, df, elsewhere)


def _no_dockerfile(ctx: Context, repo: RepoSnapshot) -> Finding:
    inv = inventory.iac(ctx, repo)
    deploy_files = [f for i in inv.hosted if (f := repo.get(i.path)) is not None]
    deploy_files += [f for f in repo.files if f.path.startswith(".github/workflows/")]
    hints = inventory.grep(repo, deploy_files, _CONTAINER_HINT, limit=3)
    if inv.hosted and not hints and not inv.of("compose", "kubernetes", "helm"):
        ev = [
            inventory.evidence_at(repo, f.path, f.line, f"{f.kind}: deploys without container images")
            for f in inv.hosted[:5]
        ]
        return finding(
            ID,
            Outcome.NOT_APPLICABLE,
            "no Dockerfile, and the infrastructure code deploys without containers (no image, docker or "
            "container reference)",
            ev,
        )
    ev = [inventory.evidence_at(repo, h.path, h.line, "container reference", h.text) for h in hints]
    # Deploying images built elsewhere (or none) is no RP-1 failure: there is simply no Dockerfile to judge.
    return finding(ID, Outcome.NOT_APPLICABLE, "no Dockerfile (or Containerfile): no image is built here", ev)
