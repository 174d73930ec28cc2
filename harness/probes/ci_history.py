"""The CI's run history on the main branch: GitHub Actions workflow runs or GitLab pipelines and deployments.

Read only when the operator names the variable holding a token (repository.ci_history.token_env);
the token is registered for masking and sent only to repository.ci_history.api_url. Bounded: at most
max_pages pages of 100, max_bytes a page, timeout_s for every request together. Times are the API's own
(ISO 8601, to the second). Any failure is a `CiError` (the check makes it could_not_check).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from harness import redact
from harness.config import CiHistoryConfig

if TYPE_CHECKING:
    from harness.probes.http import HttpClient

DEFAULT_API = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}
PER_PAGE = 100
# owner/name on GitHub; a numeric id or a group/subgroup/name path on GitLab. Nothing else reaches a URL path.
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}"
_PROJECT = {"github": re.compile(rf"{_NAME}/{_NAME}"), "gitlab": re.compile(rf"\d+|{_NAME}(?:/{_NAME}){{1,20}}")}
# A workflow that deploys or releases, by its name or file: deploy.yml, "Release", "CD", publish.
DEPLOY_WORKFLOW = re.compile(r"(?i)deploy|release|publish|\bcd\b|delivery")
GREEN = {"success"}
RED = {"failure", "failed", "timed_out", "startup_failure"}  # not cancelled or skipped: nobody broke anything

DEFINITIONS = {
    "ci_recovery": (
        "time to the next green run: for each red streak on the branch (a run that failed after a green one, "
        "per workflow on GitHub, per pipeline on GitLab), from the failed run's last update to the next "
        "successful run's last update; the median over the streaks"
    ),
    "ci_lead_time": (
        "lead time by the CI: for each successful deployment run (GitHub: a workflow named like deploy, "
        "release, publish or CD; GitLab: a successful deployment) whose commit is in the history, from the "
        "commit date to the run's last update; the median"
    ),
}


class CiError(Exception):
    """The history could not be read: one line, no token in it."""


@dataclass(frozen=True)
class Run:
    id: str
    workflow: str  # GitHub: the workflow's name; GitLab: "pipeline" or "deployment to ENV"
    sha: str
    status: str  # the conclusion (GitHub) or status (GitLab)
    updated: dt.datetime
    url: str = ""


@dataclass(frozen=True)
class RedStreak:
    first_failed: Run
    failed: int  # runs in the streak
    green: Run | None  # None: still red at the newest run read

    @property
    def seconds(self) -> int | None:
        return None if self.green is None else int((self.green.updated - self.first_failed.updated).total_seconds())


@dataclass
class CiHistory:
    provider: str
    branch: str
    runs: list[Run]  # oldest first
    deployments: list[Run]  # oldest first
    pages: int
    truncated: bool  # more pages existed than max_pages
    streaks: list[RedStreak] = field(default_factory=list)

    @property
    def failed_runs(self) -> list[Run]:
        return [r for r in self.runs if r.status in RED]

    @property
    def median_recovery(self) -> float | None:
        done = [s.seconds for s in self.streaks if s.seconds is not None]
        return statistics.median(done) if done else None


def configured(ci: CiHistoryConfig) -> str:
    """'' when the history can be read, else what is missing (for the report)."""
    if not ci.provider:
        return "repository.ci_history.provider is not set"
    if not ci.project:
        return "repository.ci_history.project is not set"
    if not _PROJECT[ci.provider].fullmatch(ci.project):
        return f"repository.ci_history.project is not a {ci.provider} project name: {ci.project[:100]!r}"
    if not ci.token_env:
        return "repository.ci_history.token_env (the variable holding an API token) is not set"
    if not os.environ.get(ci.token_env):
        return f"the variable {ci.token_env} (repository.ci_history.token_env) is empty or not set"
    return ""


def _when(raw: Any) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise CiError(f"a run has no readable time: {str(raw)[:40]!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)  # both APIs answer in UTC


class _Pager:
    def __init__(self, ci: CiHistoryConfig, token: str) -> None:
        self.ci, self.end, self.pages, self.truncated = ci, time.monotonic() + ci.timeout_s, 0, False
        self.api = (ci.api_url or DEFAULT_API[ci.provider]).rstrip("/")
        from harness.probes.http import HttpClient  # requests loads only for a run that reads a CI's history

        self.http: HttpClient = HttpClient(max_body=ci.max_bytes, max_redirects=0)
        if ci.provider == "github":
            self.headers = {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Authorization": f"Bearer {token}",
            }
        else:
            self.headers = {"PRIVATE-TOKEN": token}

    def get(self, path: str, params: dict[str, Any], items: str | None) -> list[dict[str, Any]]:
        """Every item of a paged list (`items`: the key holding them, None for a bare list), within bounds."""
        from harness.probes.http import HttpFailure

        out: list[dict[str, Any]] = []
        for page in range(1, self.ci.max_pages + 1):
            if self.pages >= self.ci.max_pages:
                self.truncated = True
                break
            url = f"{self.api}{path}?{urlencode({**params, 'per_page': PER_PAGE, 'page': page})}"
            try:
                res = self.http.get(url, deadline=self.end, headers=self.headers)
            except HttpFailure as exc:
                raise CiError(redact.text(str(exc))) from None
            self.pages += 1
            if res.status != 200:
                raise CiError(f"GET {redact.text(url)} answered {res.status} (token, project or api_url wrong?)")
            if res.truncated:
                raise CiError(f"GET {redact.text(url)}: the page is larger than max_bytes ({self.ci.max_bytes})")
            try:
                doc = res.json()
            except ValueError:
                raise CiError(f"GET {redact.text(url)}: the answer is not JSON") from None
            batch = doc.get(items) if items and isinstance(doc, dict) else doc
            if not isinstance(batch, list):
                raise CiError(f"GET {redact.text(url)}: no list of runs in the answer")
            out += [b for b in batch if isinstance(b, dict)]
            if len(batch) < PER_PAGE:
                return out
        else:
            self.truncated = True
        return out


def _github(p: _Pager, ci: CiHistoryConfig) -> tuple[list[Run], list[Run]]:
    raw = p.get(f"/repos/{ci.project}/actions/runs", {"branch": ci.branch}, "workflow_runs")
    runs = [
        Run(
            str(r.get("id")),
            str(r.get("name") or r.get("path") or r.get("workflow_id") or "?"),
            str(r.get("head_sha") or ""),
            str(r.get("conclusion") or r.get("status") or ""),
            _when(r.get("updated_at")),
            str(r.get("html_url") or ""),
        )
        for r in raw
        if r.get("status") == "completed" and r.get("head_branch", ci.branch) == ci.branch
    ]
    deploys = [r for r in runs if r.status in GREEN and DEPLOY_WORKFLOW.search(r.workflow)]
    return runs, deploys


def _gitlab(p: _Pager, ci: CiHistoryConfig) -> tuple[list[Run], list[Run]]:
    project = f"/projects/{quote(ci.project, safe='')}"
    raw = p.get(f"{project}/pipelines", {"ref": ci.branch}, None)
    runs = [
        Run(
            str(r.get("id")),
            "pipeline",
            str(r.get("sha") or ""),
            str(r.get("status") or ""),
            _when(r.get("updated_at")),
        )
        for r in raw
        if r.get("status") in GREEN | RED
    ]
    raw_deploys = p.get(f"{project}/deployments", {"ref": ci.branch, "status": "success"}, None)
    deploys = [
        Run(
            str(d.get("id")),
            f"deployment to {(d.get('environment') or {}).get('name', '?')}",
            str(d.get("sha") or ""),
            "success",
            _when(d.get("finished_at") or d.get("updated_at")),
        )
        for d in raw_deploys
        if d.get("status") == "success"
    ]
    return runs, deploys


def red_streaks(runs: list[Run]) -> list[RedStreak]:
    """Per workflow, each run of failures and the green run that ended it (runs oldest first)."""
    by_workflow: dict[str, list[Run]] = {}
    for r in runs:
        by_workflow.setdefault(r.workflow, []).append(r)
    out: list[RedStreak] = []
    for seq in by_workflow.values():
        first: Run | None = None
        count = 0
        for r in seq:
            if r.status in RED:
                first, count = first or r, count + 1
            elif r.status in GREEN and first is not None:
                out.append(RedStreak(first, count, r))
                first, count = None, 0
        if first is not None:
            out.append(RedStreak(first, count, None))
    return sorted(out, key=lambda s: s.first_failed.updated)


def read(ci: CiHistoryConfig) -> CiHistory:
    """The branch's run history, within the configured bounds; CiError on any failure."""
    token = os.environ.get(ci.token_env, "")
    redact.register(token)
    pager = _Pager(ci, token)
    try:
        runs, deploys = (_github if ci.provider == "github" else _gitlab)(pager, ci)
    finally:
        pager.http.close()
    runs.sort(key=lambda r: (r.updated, r.id))
    deploys.sort(key=lambda r: (r.updated, r.id))
    hist = CiHistory(ci.provider, ci.branch, runs, deploys, pager.pages, pager.truncated)
    hist.streaks = red_streaks(runs)
    return hist
