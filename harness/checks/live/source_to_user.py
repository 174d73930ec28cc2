"""live.source-to-user: a canary commit pushed now reaches the end user; the lead time is measured.

The canary is committed in a fresh clone in a temporary folder (the user's
working tree is never touched), changes only `.harness-canary`, and is pushed
without force to live.source_to_user.branch. Branches named main, master,
production or release* are "protected": harness refuses to push there unless
live.source_to_user.allow_protected is true (a project that deploys only from
main sets it deliberately). The version endpoint (first live.urls + version_path)
is polled until its `commit` field (full or short sha) names the canary; with
github_repo set the Actions run for that sha is followed; with live.docker_host the
serving image's org.opencontainers.image.revision label must name it too.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness import redact
from harness.checks.base import check, finding
from harness.config import SourceToUserConfig
from harness.context import Context
from harness.model import Evidence, Finding, Outcome, now_iso
from harness.probes import commands, delivery, docker_engine
from harness.probes.http import HttpClient, HttpFailure, HttpResult, client_for

ID = "live.source-to-user"
PROTECTED = ("main", "master", "production", "release*")
COMMIT_FIELDS = ("commit", "sha", "git_sha", "git_commit", "revision")
CANARY_FILE = ".harness-canary"
REVISION_LABEL = "org.opencontainers.image.revision"
LABEL_SETTLE_S = 30.0  # how long old instances may keep running after the new version answers
GIT_TIMEOUT_S = 120.0


def is_protected(branch: str) -> bool:
    return any(fnmatch.fnmatchcase(branch, p) for p in PROTECTED)


def commit_matches(reported: str, sha: str) -> bool:
    value = reported.strip().lower()
    return len(value) >= 7 and (sha.startswith(value) or value.startswith(sha))


@check(
    ID,
    title="A commit pushed now reaches the end user, with its lead time measured",
    failure_title="A pushed commit did not reach the end user in time",
    proves="The pipeline delivers from source to the user with no manual step, and how fast (CI-2, PR-1).",
    remediation=(
        "Make a push to the deployment branch build, test and deploy automatically, and have the version "
        "endpoint report the deployed commit (`commit` field)."
    ),
    source="live",
    timeout=1200,
    exclusive=True,
    order=40,
)
def run(ctx: Context) -> Iterator[Finding]:
    live = ctx.config.live
    s = live.source_to_user
    if not s.remote:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "live.source_to_user.remote is not set: nowhere to push a canary")
        return
    if not live.urls:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "live.urls is not set: no version endpoint to watch")
        return
    if is_protected(s.branch) and not s.allow_protected:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"refusing to push a canary commit to the protected branch {s.branch!r} "
            "(main, master, production, release*)",
            remediation="Set live.source_to_user.allow_protected = true if pushing a harmless canary commit to "
            f"{s.branch} is acceptable, or name a deployment branch that is not protected.",
        )
        return
    _register_secrets(s)
    token = os.environ.get(s.github_token_env, "") if s.github_repo else ""
    redact.register(token)
    url = live.urls[0].rstrip("/") + live.version_path
    with tempfile.TemporaryDirectory(prefix="harness-canary-") as tmp:
        pushed = _push_canary(ctx, s, Path(tmp) / "clone")
        if isinstance(pushed, Finding):
            yield pushed
            return
        sha, push_started, push_ev = pushed
    yield from _follow(ctx, s, url, sha, push_started, push_ev, token)


def _register_secrets(s: SourceToUserConfig) -> None:
    parts = urlsplit(s.remote)
    if parts.password:
        redact.register(parts.password)


def _git(clone: Path, *args: str, timeout: float) -> commands.CommandResult:
    env = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_PAGER": "cat"}
    return commands.run(["git", "-C", str(clone), *args], timeout=timeout, env=env)


def _push_canary(ctx: Context, s: SourceToUserConfig, clone: Path) -> tuple[str, float, list[Evidence]] | Finding:
    env = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    argv = ["git", "clone", "--quiet", "--depth", "1", "--single-branch", "--branch", s.branch, s.remote, str(clone)]
    cloned = commands.run(argv, timeout=ctx.bounded(GIT_TIMEOUT_S), env=env)
    if not cloned.ok:
        return finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"could not clone branch {s.branch} of the remote ({cloned.describe()})",
            [cloned.evidence("git clone")],
            remediation="Check live.source_to_user.remote and branch, and that this machine may read and push it.",
        )
    (clone / CANARY_FILE).write_text(f"harness canary {now_iso()}\n")
    ident = ["-c", "user.name=harness canary", "-c", "user.email=harness@localhost", "-c", "commit.gpgsign=false"]
    for args in (["add", CANARY_FILE], [*ident, "commit", "--quiet", "-m", "chore: harness canary (source-to-user)"]):
        res = _git(clone, *args, timeout=ctx.bounded(60))
        if not res.ok:
            return finding(
                ID, Outcome.COULD_NOT_CHECK, f"could not commit the canary ({res.describe()})", [res.evidence("git")]
            )
    sha = _git(clone, "rev-parse", "HEAD", timeout=ctx.bounded(30)).stdout.strip()
    started = time.monotonic()
    push = _git(clone, "push", "--quiet", "origin", f"HEAD:refs/heads/{s.branch}", timeout=ctx.bounded(GIT_TIMEOUT_S))
    evidence = [push.evidence(f"git push of canary {sha[:12]} to {s.branch}")]
    if not push.ok:  # someone pushed meanwhile: rebase once on top of it, never force
        pulled = _git(
            clone, *ident, "pull", "--quiet", "--rebase", "origin", s.branch, timeout=ctx.bounded(GIT_TIMEOUT_S)
        )
        sha = _git(clone, "rev-parse", "HEAD", timeout=ctx.bounded(30)).stdout.strip()
        started = time.monotonic()
        push = _git(
            clone, "push", "--quiet", "origin", f"HEAD:refs/heads/{s.branch}", timeout=ctx.bounded(GIT_TIMEOUT_S)
        )
        evidence += [pulled.evidence("git pull --rebase"), push.evidence(f"git push of canary {sha[:12]} (retry)")]
    if not push.ok:
        return finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"the canary commit could not be pushed to {s.branch} ({push.describe()})",
            evidence,
            remediation="Give this machine push access to the deployment branch (a deploy key or token).",
        )
    return sha, started, evidence


def _follow(
    ctx: Context,
    s: SourceToUserConfig,
    url: str,
    sha: str,
    push_started: float,
    push_ev: list[Evidence],
    token: str,
) -> Iterator[Finding]:
    http = client_for(ctx)
    end = push_started + min(s.timeout_s, ctx.remaining())
    last: HttpResult | None = None
    last_seen, last_error = "", ""
    run_info: dict[str, Any] | None = None
    next_ci = 0.0
    seen_after: float | None = None
    polls = 0
    while time.monotonic() < end and not ctx.cancelled:
        if s.github_repo and time.monotonic() >= next_ci and not _completed(run_info):
            run_info = _actions_run(ctx, s, sha, token) or run_info
            next_ci = time.monotonic() + max(5.0, s.poll_interval_s)
        polls += 1
        try:
            last = http.get(url, deadline=time.monotonic() + ctx.bounded(10))
            last_seen, last_error = _reported_commit(last), ""
            if commit_matches(last_seen, sha):
                seen_after = time.monotonic() - push_started
                break
        except HttpFailure as exc:
            last_error = str(exc)
        time.sleep(min(s.poll_interval_s, max(0.0, end - time.monotonic())))
    timing = Evidence(
        kind="timing",
        summary=f"canary {sha[:12]} pushed to {s.branch}; {polls} polls of {url}",
        commit=sha,
        url=url,
        data={"lead_time_s": round(seen_after, 2) if seen_after is not None else None, "timeout_s": s.timeout_s},
    )
    evidence = [*push_ev, timing] + ([last.evidence("last version answer")] if last is not None else [])
    if seen_after is None:
        what = f"last version seen: {last_seen or '(no commit field)'}" if last is not None else last_error
        cut = ctx.shared.cancel.is_set()  # an interrupted run stopped the wait: nothing was judged
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK if cut else Outcome.FAIL,
            f"commit {sha[:12]} "
            + ("was pushed, but the run was interrupted before it reached " if cut else "did not reach ")
            + f"{url}{'' if cut else f' within {s.timeout_s:g} s'}; {what}",
            evidence,
            subject="lead-time",
        )
    else:
        yield finding(
            ID,
            Outcome.PASS,
            f"commit {sha[:12]} reached the user {seen_after:.1f} s after the push (lead time)",
            [*evidence, delivery.live_metric("live_lead_time", seen_after, commit=sha, url=url)],
            subject="lead-time",
        )
    if s.github_repo:
        if seen_after is not None and not _completed(run_info):
            run_info = _actions_run(ctx, s, sha, token) or run_info
        yield _ci_finding(s, sha, run_info)
    if ctx.config.live.docker_host and seen_after is not None:
        yield _image_revision(ctx, sha)


def _reported_commit(res: HttpResult) -> str:
    try:
        doc = res.json()
    except ValueError:
        return ""
    if not isinstance(doc, dict):
        return ""
    return next((str(doc[f]) for f in COMMIT_FIELDS if doc.get(f)), "")


def _completed(info: dict[str, Any] | None) -> bool:
    return bool(info) and info.get("status") == "completed"  # type: ignore[union-attr]


def _actions_run(ctx: Context, s: SourceToUserConfig, sha: str, token: str) -> dict[str, Any] | None:
    api = s.github_api_url.rstrip("/")
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    http: HttpClient = client_for(ctx)
    try:
        res = http.get(
            f"{api}/repos/{s.github_repo}/actions/runs?head_sha={sha}",
            deadline=time.monotonic() + ctx.bounded(15),
            headers=headers,
        )
        doc = res.json() if res.status == 200 else {}
    except (HttpFailure, ValueError):
        return None
    runs = doc.get("workflow_runs") or [] if isinstance(doc, dict) else []
    if not runs:
        return None
    r = runs[0]
    return {
        k: r.get(k) for k in ("id", "name", "status", "conclusion", "html_url", "created_at", "updated_at", "event")
    }


def _ci_finding(s: SourceToUserConfig, sha: str, info: dict[str, Any] | None) -> Finding:
    if info is None:
        return finding(
            ID,
            Outcome.WARN,
            f"no GitHub Actions run was found for {sha[:12]} in {s.github_repo}",
            remediation=f"Trigger the workflow on push to {s.branch}; "
            f"set {s.github_token_env} for private repositories.",
            subject="ci-run",
        )
    ev = [Evidence(kind="http", summary=f"Actions run {info.get('id')}", url=info.get("html_url"), data=info)]
    state = f"{info.get('name')} run {info.get('id')}: {info.get('status')} / {info.get('conclusion')}"
    if info.get("conclusion") == "success":
        return finding(ID, Outcome.PASS, f"the pipeline ran for the canary: {state}", ev, subject="ci-run")
    if info.get("status") == "completed":
        return finding(ID, Outcome.FAIL, f"the pipeline for the canary did not succeed: {state}", ev, subject="ci-run")
    return finding(ID, Outcome.WARN, f"the pipeline for the canary had not finished: {state}", ev, subject="ci-run")


def _image_revision(ctx: Context, sha: str) -> Finding:
    live = ctx.config.live
    # The version endpoint can report the canary while the previous instances are still being
    # retired (a rollout starts the new ones first), so look again for a few seconds before judging.
    settle_until = time.monotonic() + min(LABEL_SETTLE_S, ctx.remaining())
    while True:
        try:
            containers = docker_engine.snapshot(live.docker_host, live.docker_label, ctx.bounded(30), with_diff=False)
        except docker_engine.DockerUnavailable as exc:
            return finding(ID, Outcome.COULD_NOT_CHECK, str(exc), subject="image-revision")
        revisions = {c.name: c.image_labels.get(REVISION_LABEL, "") for c in containers}
        settled = containers and all(commit_matches(r, sha) for r in revisions.values())
        if settled or time.monotonic() >= settle_until:
            break
        time.sleep(1.0)
    ev = [Evidence(kind="note", summary=f"{REVISION_LABEL} of the serving images", data=revisions)]
    if not containers:
        return finding(ID, Outcome.COULD_NOT_CHECK, "no labelled container is running", ev, subject="image-revision")
    wrong = {n: r for n, r in revisions.items() if not commit_matches(r, sha)}
    if not wrong:
        reason = f"every serving image carries {REVISION_LABEL}={sha[:12]}"
        return finding(ID, Outcome.PASS, reason, ev, subject="image-revision")
    return finding(
        ID,
        Outcome.FAIL,
        "serving images do not carry the canary's revision: "
        + ", ".join(f"{n}: {r or 'no label'}" for n, r in sorted(wrong.items())),
        ev,
        remediation=f"Label images with {REVISION_LABEL} = the commit sha when building them.",
        subject="image-revision",
    )
