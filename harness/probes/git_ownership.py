"""Whose work is it: the project owner's identities, and own work versus inherited history.

The owner is the author of the tip of the branch under test. The same person
commits under several identities (a laptop's "ada <ada@laptop>", GitHub's
noreply address, initials); the rules below link them as an assessor would,
from the commits themselves. `.mailmap` is project input: it renames authors
for display, but it never moves the boundary between the owner's work and the
starter's (see `mailmap_claims`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from harness.context import Context
from harness.probes.git_history import MAX_COMMITS, Commit, History, get

# GitHub's commit addresses: "12345+login@users.noreply.github.com" (since 2017) or "login@users.noreply.github.com".
_NOREPLY = re.compile(r"^(?:\d+\+)?([a-z0-9-]+)@users\.noreply\.github\.com$")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_MIN_KEY = 2  # a one-letter name or login links nobody


def _compact(name: str) -> str:
    return _NOT_ALNUM.sub("", name.casefold())


def _short_forms(name: str) -> set[str]:
    """A full name's compact spellings: "Ada Apprentice" -> adaapprentice, ada, aapprentice, adaa."""
    tokens = [t for t in _NOT_ALNUM.split(name.casefold()) if t]
    forms = {"".join(tokens)}
    if len(tokens) >= 2:
        first, last = tokens[0], tokens[-1]
        forms |= {first, first[0] + last, first + last[0]}
    return {f for f in forms if len(f) >= _MIN_KEY}


def github_login(email: str) -> str | None:
    m = _NOREPLY.match(email.strip().casefold())
    return m.group(1) if m else None


@dataclass
class OwnerIdentity:
    """The owner's identities: linked by shared address, same name, GitHub login, or a short form of the name."""

    display: str  # name <email> of the tip's author
    tip: str = ""  # the tip author's compact name
    names: set[str] = field(default_factory=set)  # compact names
    emails: set[str] = field(default_factory=set)
    forms: set[str] = field(default_factory=set)  # short forms of the tip author's name, and its logins
    linked: list[str] = field(default_factory=list)  # every identity accepted, as "name <email>"

    def matches(self, name: str, email: str) -> bool:
        key, mail = _compact(name), email.strip().casefold()
        login = github_login(mail)
        if mail in self.emails or (len(key) >= _MIN_KEY and key in self.names):
            return True
        if login is not None and (login in self.names or login in self.forms):
            return True
        # A short form of the owner's name, or the tip's name a short form of this one ("ada" at the tip).
        # Only the tip's name, not every linked one: "ada" linked must not pull in "Ada Lovelace".
        return len(key) >= _MIN_KEY and (key in self.forms or self.tip in _short_forms(name) - {key})

    def add(self, name: str, email: str) -> None:
        mail = email.strip().casefold()
        self.names.add(_compact(name))
        self.emails.add(mail)
        login = github_login(mail)
        if login:
            self.forms.add(login)
        self.linked.append(f"{name} <{email}>")


def is_bot(name: str, email: str) -> bool:
    """CI and dependency bots (release notes, version bumps): they commit for the owner, they are not the owner."""
    mail = email.strip().casefold()
    return name.rstrip().endswith("[bot]") or "[bot]@" in mail or mail in _BOT_EMAILS


_BOT_EMAILS = {"github-actions@github.com", "action@github.com", "noreply@github.com"}
_BOT_NAME = re.compile(r"(^|[-_ .])bot$|^bot[-_]|^(dependabot|renovate|github-actions)\b", re.I)
# A machine's history: one identity committing the same subject again and again ("Synchronize repo from
# Repoman"). A person's terse repeats ("wip", "fix tests") are short, and GitHub's web-UI defaults name the
# file ("Update README.md"): neither makes a person a machine.
MIN_MECHANICAL = 5
MECHANICAL_SHARE = 0.9
_WEB_UI_SUBJECT = re.compile(r"^(Update|Create|Delete|Rename|Add files via upload)\b")


def automation_identities(history: History) -> set[tuple[str, str]]:
    """(name, email) pairs that commit for the project but are not a person: bots and mechanical committers."""
    subjects: dict[tuple[str, str], list[str]] = {}
    for c in history.commits:
        if not c.is_merge:
            subjects.setdefault((c.author_name, c.author_email), []).append(c.subject.strip())
    out = {i for i in subjects if is_bot(*i) or _BOT_NAME.search(i[0].strip())}
    for ident, subs in subjects.items():
        if len(subs) < MIN_MECHANICAL:
            continue
        top, count = Counter(subs).most_common(1)[0]
        if count >= MECHANICAL_SHARE * len(subs) and len(top.split()) >= 3 and not _WEB_UI_SUBJECT.match(top):
            out.add(ident)
    return out


def _tip_author(history: History, machines: Collection[tuple[str, str]] = ()) -> Commit | None:
    """The author of the newest non-merge commit on HEAD's first-parent line that is not a bot's.

    A vote over a window of recent commits would let a long starter history
    outvote a young fork; the tip of the branch under test is always the owner's.
    """
    sha: str | None = history.head
    seen = 0
    while sha in history.by_sha and seen < MAX_COMMITS:
        c = history.by_sha[sha]
        if (
            not c.is_merge
            and not is_bot(c.author_name, c.author_email)
            and (c.author_name, c.author_email) not in machines
        ):
            return c
        sha = c.parents[0] if c.parents else None
        seen += 1
    return None


def identities(history: History) -> set[tuple[str, str]]:
    """Every raw (name, email) author pair: a handful, over thousands of commits."""
    return {(c.author_name, c.author_email) for c in history.commits}


def owner_identity(
    history: History, idents: set[tuple[str, str]] | None = None, machines: Collection[tuple[str, str]] = ()
) -> OwnerIdentity:
    """Link the tip author's identities over the raw (not mailmapped) authors, until nothing more joins."""
    tip = _tip_author(history, machines)
    if tip is None:
        return OwnerIdentity("")
    owner = OwnerIdentity(tip.author, _compact(tip.author_name), forms=_short_forms(tip.author_name))
    owner.add(tip.author_name, tip.author_email)
    pending = (
        (identities(history) if idents is None else idents) - {(tip.author_name, tip.author_email)} - set(machines)
    )
    grown = True
    while grown:  # a handful of identities: a fixed point over them is cheap
        grown = False
        for name, email in sorted(pending):
            if owner.matches(name, email):
                owner.add(name, email)
                pending.discard((name, email))
                grown = True
    return owner


@dataclass
class Ownership:
    """Which commits are the project's own, and which were inherited from a starter."""

    own: list[Commit]  # newest first
    inherited: set[str]
    method: str  # how the inherited part was found, in one sentence
    boundary: Commit | None  # the newest inherited commit (the fork point)
    owner: str  # the project owner's identity (name <email>)
    remote: str = ""  # the upstream remote's name (configured)
    upstream_refs: list[str] = field(default_factory=list)
    identities: list[str] = field(default_factory=list)  # the owner's identities accepted
    mailmap_refused: list[str] = field(default_factory=list)  # .mailmap claims on inherited commits
    automated: set[str] = field(default_factory=set)  # commits by bots and mechanical committers: nobody's own work
    machines: list[str] = field(default_factory=list)  # those committers, as "name <email>"


def mailmap_claims(history: History, owner: OwnerIdentity, inherited: set[str]) -> list[str]:
    """Identities that .mailmap maps onto the owner although their commits are inherited (refused).

    The rule: .mailmap may rename anyone for display, but only the rules of
    `OwnerIdentity` decide whose commits are the owner's; a mapping of the
    starter's authors onto the owner would otherwise turn the starter's
    history into own work.
    """
    out: set[str] = set()
    for sha in inherited:
        c = history.by_sha.get(sha)
        if c is None or not c.mailmapped:
            continue
        if owner.matches(c.display_name, c.display_email) and not owner.matches(c.author_name, c.author_email):
            out.add(f"{c.author} -> {c.display_name} <{c.display_email}>")
    return sorted(out)


def ownership(history: History, upstream_remote: str) -> Ownership:
    """Split own work from inherited history.

    With an upstream remote, everything reachable from its refs is inherited.
    Without one, the leading commits by other authors before the owner's first
    commit (and their ancestors) are taken as the starter's history.
    """
    idents = identities(history)
    machines = automation_identities(history)
    owner = owner_identity(history, idents, machines)
    upstream = history.remote_branches(upstream_remote) if upstream_remote else {}
    upstream_refs: list[str] = []
    if upstream:
        inherited = history.ancestors(list(upstream.values()))
        method = f"commits reachable from the '{upstream_remote}' remote ({len(upstream)} refs) are inherited"
        upstream_refs = sorted(upstream)
    else:
        theirs = {i for i in idents if owner.matches(*i)}
        by_owner = [c.sha for c in history.commits if (c.author_name, c.author_email) in theirs]
        if not by_owner:
            inherited = set()
        else:
            # Inherited: what lies before the owner's first commits, topologically (dates can lie),
            # plus unrelated starter commits older than any of the owner's.
            after = history.descendants(by_owner)
            first = min(history.by_sha[s].committed for s in by_owner)
            inherited = history.ancestors(by_owner) - after
            inherited |= {c.sha for c in history.commits if c.committed < first and c.sha not in after}
        method = (
            f"no '{upstream_remote}' remote: commits by other authors before the owner's first commit are inherited"
        )
    automated = {c.sha for c in history.commits if (c.author_name, c.author_email) in machines}
    own = [c for c in history.commits if c.sha not in inherited and c.sha not in automated]
    boundary = None
    if inherited:
        boundary = max((history.by_sha[s] for s in inherited if s in history.by_sha), key=lambda c: c.committed)
    return Ownership(
        own,
        inherited,
        method,
        boundary,
        owner.display,
        upstream_remote,
        upstream_refs,
        identities=owner.linked,
        mailmap_refused=mailmap_claims(history, owner, inherited),
        automated=automated,
        machines=sorted(f"{n} <{e}>" for n, e in machines),
    )


def get_ownership(ctx: Context) -> Ownership:
    remote = ctx.config.repository.upstream_remote
    return ctx.memo(f"git_ownership:{remote}", lambda: ownership(get(ctx), remote))
