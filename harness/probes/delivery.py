"""Delivery metrics from a repository's history: deployment events, lead time, frequency, recovery time.

Each metric is computed from events the history shows, and each comes with its definition, so a
reader can redo the sum. Times are git's own (committer dates; an annotated tag's tagger date),
exact to the second. No CI history here: that needs an API (another probe).
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from harness.checks.repo.fix_commits import find_fixes
from harness.model import Evidence
from harness.probes import gitcmd
from harness.probes.git_history import Commit, History

# A tag that names a release or a deployment: v1.2, 1.2.3, release-7, deploy/2024-05-01, prod_12.
DEPLOY_TAG = re.compile(
    r"(?i)^(?:v|release[-/_.]?|rel[-/_])?\d+(?:\.\d+)+(?:[-+][\w.]+)?$"  # not a maintenance line like 1.0.x
    r"|^(?:release|deploy(?:ed|ment)?|prod(?:uction)?)[-/_.]"
)
# A commit that records a release or a deployment: "Release 1.2.0", "chore(release): 1.2", "deploy to production".
RELEASE_SUBJECT = re.compile(
    r"(?i)^(?:chore\(release\)|release\b|released\b|deploy(?:ed)?\b(?:\s+\S+)?\s+to\s+prod|bump\s+version\b)"
)
_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{40})")

DEFINITIONS = {
    "deployments": (
        "deployment events: tags named like a release or deployment (v1.2, 1.2.3, release-*, deploy-*, prod-*; "
        "time = the annotated tag's date, else its commit's) and commits recording one ('Release …', "
        "'chore(release): …', 'deploy … to prod…'; time = commit date) when there is no such tag, "
        "on the checked-out branch; one per commit"
    ),
    "lead_time": (
        "lead time for changes: for each commit, from its commit date to the first deployment event that "
        "contains it; the median over the deployed commits"
    ),
    "deployment_interval": (
        "deployment frequency: deployment events per week over the span from the first to the last, "
        "and the mean interval between consecutive events"
    ),
    "recovery_time": (
        "recovery time: from a change that broke the branch to the change that restored it, by commit "
        "dates; the broken change is the one a revert names ('This reverts commit <sha>'), else, for a fix "
        "commit, the previous commit touching the same files; the median over the pairs"
    ),
}
# The live figures: measured while harness watches (live.source-to-user, live.alert-fires), by monotonic clock.
LIVE_DEFINITIONS = {
    "live_lead_time": (
        "lead time to the user: from the push of a canary commit to the first answer of the version endpoint "
        "that names it (one change, observed now)"
    ),
    "detect_time": "detect time: from the start of the injected fault to its alert firing in Prometheus",
    "restore_time": (
        "restore time (DORA's failed deployment recovery time, for the drill): from the alert firing to the "
        "platform healthy again, that is the alert resolved after the restore command and the health "
        "endpoint answering 2xx"
    ),
}
LIVE_NAMES = {"live_lead_time": "lead time to the user", "detect_time": "detect time", "restore_time": "restore time"}
# Which DORA band each live figure is placed in (None: DORA publishes no band for it).
LIVE_BANDS = {"live_lead_time": "lead_time", "detect_time": None, "restore_time": "recovery_time"}


def banded_metric(
    key: str, shown: str, seconds: float, definition: str, band_of: str | None, **data: object
) -> Evidence:
    """A figure as evidence: the value, its definition and its DORA band, keyed by `metric` (rehearse reads it)."""
    placed = band(band_of, seconds) if band_of else "DORA publishes no band for this"
    return Evidence(
        kind="metric",
        summary=f"{shown} [{placed}] ({definition})",
        data={"metric": key, "seconds": round(seconds, 2), "band": placed, "definition": definition, **data},
    )


def live_metric(key: str, seconds: float, **data: object) -> Evidence:
    definition = LIVE_DEFINITIONS[key]
    shown = f"{LIVE_NAMES[key]} {seconds:.1f} s"
    return banded_metric(key, shown, seconds, definition, LIVE_BANDS[key], **data)


@dataclass(frozen=True)
class DeployEvent:
    name: str  # the tag, or the commit's subject
    kind: str  # "tag" | "release commit"
    sha: str
    at: dt.datetime


@dataclass(frozen=True)
class Recovery:
    broken: Commit
    restored: Commit
    how: str

    @property
    def seconds(self) -> int:
        return int((self.restored.committed - self.broken.committed).total_seconds())


@dataclass
class Delivery:
    events: list[DeployEvent]  # oldest first
    lead_times: dict[str, int] = field(default_factory=dict)  # commit sha -> seconds to its deployment
    deployed_by: dict[str, DeployEvent] = field(default_factory=dict)  # commit sha -> the event deploying it
    recoveries: list[Recovery] = field(default_factory=list)

    @property
    def median_lead_time(self) -> float | None:
        return statistics.median(self.lead_times.values()) if self.lead_times else None

    @property
    def mean_interval(self) -> float | None:
        if len(self.events) < 2:
            return None
        return (self.events[-1].at - self.events[0].at).total_seconds() / (len(self.events) - 1)

    @property
    def median_recovery(self) -> float | None:
        return statistics.median(r.seconds for r in self.recoveries) if self.recoveries else None


def _tag_dates(history: History) -> dict[str, dt.datetime]:
    """tag name -> its date (the tagger's for an annotated tag, the commit's for a lightweight one)."""
    raw = gitcmd.run(
        history.root, ["for-each-ref", "refs/tags", "--format=%(refname:strip=2)%00%(creatordate:iso-strict)"], 30
    )
    out = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        name, _, when = line.partition("\0")
        try:
            out[name] = dt.datetime.fromisoformat(when)
        except ValueError:
            continue  # a tag of a tree or blob has no date worth using
    return out


def deploy_events(history: History, branch: set[str]) -> list[DeployEvent]:
    """Deployment events on the branch's commits (`branch`: their shas), oldest first, one per commit.

    Deploy tags when the branch has any (a commit with several is one deployment, at the earliest tag's
    date); else release commits. Counting both would count a release twice: a release commit on a
    branch, then the merge tagged.
    """
    events: dict[str, DeployEvent] = {}
    dates = _tag_dates(history) if history.tags else {}
    for name, sha in sorted(history.tags.items()):
        earliest = sha not in events or dates.get(name, events[sha].at) < events[sha].at
        if sha in branch and DEPLOY_TAG.search(name) and name in dates and earliest:
            events[sha] = DeployEvent(name, "tag", sha, dates[name])
    if events:  # a project that tags its deployments: a release commit is not one more (it is merged, then tagged)
        return sorted(events.values(), key=lambda e: (e.at, e.name))
    for c in history.commits:
        if c.sha in branch and RELEASE_SUBJECT.search(c.subject):
            events[c.sha] = DeployEvent(c.subject, "release commit", c.sha, c.committed)
    return sorted(events.values(), key=lambda e: (e.at, e.name))


def _revert_targets(history: History) -> dict[str, str]:
    """revert commit sha -> the sha it names ('This reverts commit <sha>.'), from the branch's messages."""
    raw = gitcmd.run(
        history.root, ["log", "-z", "--format=%H%x1f%B", "--grep=This reverts commit", "HEAD"], 60, check=False
    )
    out = {}
    for entry in raw.decode("utf-8", "replace").split("\0"):
        sha, _, body = entry.strip().partition("\x1f")
        named = _REVERTS.search(body)
        if sha and named:
            out[sha] = named.group(1)
    return out


def recoveries(history: History, branch_commits: list[Commit]) -> list[Recovery]:
    """Broken-to-restored pairs on the branch: reverts naming a commit first, then fixes to the same files."""
    by_sha = {c.sha: c for c in branch_commits}
    pairs: dict[str, Recovery] = {}
    for revert, target in _revert_targets(history).items():
        if revert in by_sha and target in by_sha and by_sha[target].committed <= by_sha[revert].committed:
            pairs[revert] = Recovery(by_sha[target], by_sha[revert], "a revert naming the commit")
    for fx in find_fixes(branch_commits):
        if fx.commit.sha not in pairs and fx.breaking is not None:
            pairs[fx.commit.sha] = Recovery(fx.breaking, fx.commit, fx.how)
    return sorted(pairs.values(), key=lambda r: r.restored.committed)


def measure(history: History) -> Delivery:
    """Every metric from the history reachable from HEAD (the branch under test)."""
    branch = history.ancestors([history.head]) if history.head else set()
    commits = [c for c in history.commits if c.sha in branch]
    delivery = Delivery(deploy_events(history, branch))
    seen: set[str] = set()
    for event in delivery.events:  # oldest first: a commit counts for the first deployment containing it
        # An earlier event's commits and all their ancestors are seen already: stop there (linear overall).
        stack = [event.sha]
        while stack:
            sha = stack.pop()
            if sha in seen or sha not in history.by_sha:
                continue
            seen.add(sha)
            c = history.by_sha[sha]
            stack.extend(c.parents)
            if not c.is_merge:
                delivery.deployed_by[sha] = event
                delivery.lead_times[sha] = max(0, int((event.at - c.committed).total_seconds()))
    delivery.recoveries = recoveries(history, [c for c in commits if not c.is_merge])
    return delivery


@cache
def bands() -> dict[str, Any]:
    text = resources.files("harness.data").joinpath("dora_bands.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


def band(metric: str, seconds: float) -> str:
    """'elite (less than one day)'-style placement of a value among DORA's published bands."""
    year, previous = bands()["source"]["year"], None
    for b in bands()["metrics"][metric]["bands"]:
        if seconds < b.get("lower_s", 0) and previous is not None:  # a gap the report leaves unbanded
            return f"DORA {year}: between {previous['level']} ({previous['wording']}) and {b['level']} ({b['wording']})"
        if seconds < b["upper_s"]:
            return f"DORA {year}: {b['level']} ({b['wording']})"
        previous = b
    return f"DORA {year}: slower than every published band"


def duration(seconds: float) -> str:
    """Exact below a minute, then the two largest units: '45 s', '3 h 20 min', '2 d 4 h'."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    units = [("d", 86400), ("h", 3600), ("min", 60), ("s", 1)]
    parts = []
    for name, size in units:
        if s >= size:
            parts.append(f"{s // size} {name}")
            s %= size
        if len(parts) == 2:
            break
    return " ".join(parts)
