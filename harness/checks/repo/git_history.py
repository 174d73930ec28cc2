"""repo.git-history: the project's own commits are spread over time and show branching and merging.

A fork of a course starter inherits the starter's commits and merges; those are
set aside first, so only the apprentice's own work is counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import git_history, git_ownership
from harness.probes.git_history import Commit, History
from harness.probes.git_ownership import Ownership

ID = "repo.git-history"
MIN_OWN_COMMITS = 10
MIN_DISTINCT_DAYS = 3
MIN_OWN_MERGES = 1
MIN_OWN_BRANCHES = 2
MIN_SQUASHED_PRS = 2  # squash-merged pull requests leave "(#12)" subjects and no merge commit
EXAMPLES = 5
_SQUASHED_PR = re.compile(r"\(#\d+\)\s*$")
# git's own subjects for merging a branch's remote copy into itself (`git pull`, `git merge origin/main`).
_REMOTE_MERGE = re.compile(
    r"^Merge (?:remote-tracking branch '(?:[^'/]+/)?(?P<ref>[^']+)'"
    r"|branch '(?P<pulled>[^']+)' of \S+)(?: into (?P<into>\S+))?\s*$"
)
DEFAULT_BRANCHES = {"main", "master"}  # git leaves out " into <branch>" when merging into these


@check(
    ID,
    title="The project's own history shows regular commits, branches and merges",
    failure_title="The project's own history shows too few commits, days or branches",
    proves=(
        "Code is versioned the way distributed source control is meant to be used: small commits over "
        "time, on branches merged back (CQ-1, CI-3). A starter's inherited history does not count."
    ),
    remediation=(
        "Commit your own work in small steps over several days, on feature branches merged back to main "
        "by pull request (keep the branches or use merge commits so the history shows them)."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    history, why = git_history.history_or_reason(ctx)
    if history is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, why, remediation=git_history.remediation_for(why))
        return
    owned = git_ownership.get_ownership(ctx)
    yield judge(history, owned)


def is_remote_sync(subject: str) -> bool:
    """A merge of a branch's own remote copy into it: `git pull` on main, `git merge origin/main` on main."""
    m = _REMOTE_MERGE.match(subject)
    if m is None:
        return False
    branch = m.group("ref") or m.group("pulled")
    into = m.group("into")
    return branch == into if into else branch in DEFAULT_BRANCHES


def own_merges(history: History, owned: Ownership) -> tuple[list[Commit], list[Commit]]:
    """(merges of own work, merges that only synced: starter updates, or a branch with its remote copy)."""
    work: list[Commit] = []
    syncs: list[Commit] = []
    for c in owned.own:
        if not c.is_merge:
            continue
        inherited = all(p in owned.inherited for p in c.parents[1:])
        (syncs if inherited or is_remote_sync(c.subject) else work).append(c)
    return work, syncs


def own_branches(history: History, owned: Ownership, upstream: str) -> list[str]:
    """Branch names (local or on any remote but the upstream) whose tip is own work."""
    names = set()
    for name, sha in history.local_branches.items():
        if sha not in owned.inherited and sha not in owned.automated:
            names.add(name)
    for name, sha in history.remote_branches().items():
        remote, _, branch = name.partition("/")
        if remote != upstream and sha not in owned.inherited and sha not in owned.automated:
            names.add(branch)
    return sorted(names)


def judge(history: History, owned: Ownership) -> Finding:
    commits = [c for c in owned.own if not c.is_merge]
    days = sorted({c.authored.date() for c in commits})
    merges, syncs = own_merges(history, owned)
    branches = own_branches(history, owned, owned.remote)
    squashed = [c for c in commits if _SQUASHED_PR.search(c.subject)]
    authors = sorted({c.display_name or c.author_name for c in commits})

    evidence = [
        Evidence(
            kind="metric",
            summary=(
                f"{len(commits)} own commits by {len(authors)} author(s) on {len(days)} day(s), "
                f"{len(merges)} merges of own work, {len(branches)} own branches; "
                f"{len(owned.inherited)} inherited commits excluded"
            ),
            commit=history.head,
            data={
                "own_commits": len(commits),
                "distinct_days": len(days),
                "first_day": days[0].isoformat() if days else None,
                "last_day": days[-1].isoformat() if days else None,
                "own_merges": len(merges),
                "sync_merges": len(syncs),
                "own_branches": branches[:50],
                "squash_merged_prs": len(squashed),
                "authors": authors[:20],
                "owner": owned.owner,
                "owner_identities": owned.identities[:20],
                "mailmap_refused": owned.mailmap_refused[:20],
                "inherited_commits": len(owned.inherited),
                "inherited_rule": owned.method,
                "automated_commits": len(owned.automated),
                "automation_identities": owned.machines[:20],
                "history_truncated": history.truncated or None,
            },
        )
    ]
    if owned.boundary is not None:
        evidence.append(
            git_history.commit_evidence(
                owned.boundary, f"newest inherited commit (fork point): {owned.boundary.short} {owned.boundary.subject}"
            )
        )
    if owned.mailmap_refused:
        evidence.append(
            Evidence(
                kind="note",
                summary=f".mailmap maps {len(owned.mailmap_refused)} inherited identities onto the owner: "
                "shown renamed, still counted as inherited",
                data={"refused": owned.mailmap_refused[:20]},
            )
        )
    evidence += [git_history.commit_evidence(c, f"merge {c.short}: {c.subject}") for c in merges[:EXAMPLES]]
    if not merges:
        evidence += [git_history.commit_evidence(c, f"squash-merged PR {c.short}: {c.subject}") for c in squashed[:3]]

    excluded = (
        f"; {len(owned.inherited)} inherited commits excluded ({owned.method})"
        if owned.inherited
        else f" (nothing inherited: {owned.method})"
    )
    if owned.automated:
        excluded += (
            f"; {len(owned.automated)} commits by automation ({', '.join(owned.machines[:3])}) are nobody's "
            "working practice and are not counted"
        )
    problems = []
    if len(commits) < MIN_OWN_COMMITS:
        problems.append(f"only {len(commits)} own commits (at least {MIN_OWN_COMMITS} wanted)")
    # Work spread over days shows integration over time, which the assessor asks about (CI-3);
    # the criterion itself asks for versioned, mergeable code, so a short history only warns.
    short_history = len(days) < MIN_DISTINCT_DAYS
    branched = len(merges) >= MIN_OWN_MERGES or len(branches) >= MIN_OWN_BRANCHES or len(squashed) >= MIN_SQUASHED_PRS
    if not branched:
        problems.append(
            f"no evidence of branching: {len(merges)} merges of own work, {len(branches)} own branches, "
            f"{len(squashed)} squash-merged pull requests"
            + (f" ({len(syncs)} merges only synced a branch with its remote or the starter)" if syncs else "")
        )
    if history.truncated:
        # Counts only grow with more history, so a pass on a partial read still holds.
        evidence.append(Evidence(kind="note", summary=f"history read partially: {history.truncated}"))
    if problems:
        return finding(ID, Outcome.FAIL, "; ".join(problems) + excluded, evidence)
    if short_history:
        return finding(
            ID,
            Outcome.WARN,
            f"{len(commits)} own commits and {len(merges)} merges of own work, but all on {len(days)} day(s) "
            f"(at least {MIN_DISTINCT_DAYS} show integration over time)" + excluded,
            evidence,
            remediation="Commit and merge small changes regularly over the life of the project, not in one burst.",
        )
    return finding(
        ID,
        Outcome.PASS,
        f"{len(commits)} own commits on {len(days)} days, {len(merges)} merges of own work and "
        f"{len(branches)} own branches" + excluded,
        evidence,
    )
