"""repo.iac-state: infrastructure state and plaintext stack secrets are not committed.

Terraform state (`*.tfstate`, `.terraform/`) and Pulumi state (`.pulumi/`) hold
every resource attribute, passwords included, in plain text; a Pulumi stack
file's secret values must be `secure:` (encrypted), never plain strings.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator

import yaml

from harness import yamlsafe
from harness.checks.base import check, finding
from harness.checks.repo.secrets import FIXTURE_DIRS, is_placeholder, mask
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import git_history, repository

ID = "repo.iac-state"
MAX_LISTED = 20

IAC_FILE = re.compile(r"(?:^|/)(?:[^/]+\.tf|[^/]+\.tf\.json|terragrunt\.hcl|Pulumi\.ya?ml|Pulumi\.[^/]+\.ya?ml)$")
STATE_FILE = re.compile(
    r"(?:^|/)(?:[^/]*\.tfstate(?:\.[^/]*)?|\.terraform/(?!\.terraform\.lock\.hcl$).+|\.pulumi/(?:stacks|backups|history)/.+)$"
)
PROJECT_FILE = re.compile(r"(?:^|/)Pulumi\.ya?ml$")
STACK_FILE = re.compile(r"(?:^|/)Pulumi\.[^/]+\.ya?ml$")
SECRET_KEY = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|apikey|private[_-]?key|credential|dsn)")


def _kind(path: str) -> str:
    if ".pulumi/" in path:
        return "Pulumi state"
    if ".terraform/" in path:
        return "Terraform working folder"
    return "Terraform state"


def plaintext_stack_secrets(path: str, text: str) -> list[tuple[str, int, str]]:
    """(config key, line, value) of secret-named plain values in a Pulumi stack file; raises yaml.YAMLError."""
    doc = yamlsafe.load(text)
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        return []
    lines = text.splitlines()
    out = []
    for key, value in config.items():
        if not isinstance(key, str) or not SECRET_KEY.search(key.split(":")[-1]):
            continue
        if isinstance(value, dict) or not isinstance(value, str | int) or is_placeholder(str(value)):
            continue  # {secure: ...} is encrypted; objects and lists are not single secrets
        line = next((i for i, ln in enumerate(lines, 1) if ln.strip().startswith((key + ":", f'"{key}":'))), 1)
        out.append((key, line, str(value)))
    return out


@check(
    ID,
    title="Infrastructure state and stack secrets are kept out of the repository",
    failure_title="Infrastructure state or plaintext stack secrets are committed",
    proves=(
        "IaC state, which holds every resource attribute including passwords, lives in a remote backend, "
        "and stack secrets are encrypted (CQ-2, DP-1)."
    ),
    remediation=(
        "Remove the state from the repository (git rm --cached), ignore *.tfstate*, .terraform/ and .pulumi/ in "
        ".gitignore, keep state in a remote backend (Terraform Cloud/S3, Pulumi Cloud or an object store), "
        "set stack secrets with `pulumi config set --secret`, and rotate anything the state exposed."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    if not repo.is_git:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "not a git repository: no committed files or history to read")
        return
    if repo.head is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "the repository has no commits yet")
        return
    iac = [f for f in repo.files if IAC_FILE.search(f.path)]
    state = [f for f in repo.files if STATE_FILE.search(f.path) and not FIXTURE_DIRS.search(f.path)]
    fixtures = [f.path for f in repo.files if STATE_FILE.search(f.path) and FIXTURE_DIRS.search(f.path)]
    bad = 0
    for f in state[:MAX_LISTED]:
        ev = Evidence(kind="file", summary=f"{_kind(f.path)} committed: {f.path}", path=f.path, commit=repo.head)
        yield finding(ID, Outcome.FAIL, f"{_kind(f.path)} committed at HEAD: {f.path}", [ev], subject=f.path)
    bad += len(state)
    for f in [f for f in iac if STACK_FILE.search(f.path)]:
        text = repo.read_text(f.path)
        if text is None:
            bad += 1
            yield finding(ID, Outcome.COULD_NOT_CHECK, f"{f.path}: cannot read (binary or too large)", subject=f.path)
            continue
        try:
            secrets = plaintext_stack_secrets(f.path, text)
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" at line {where.line + 1}" if where is not None else ""
            bad += 1  # no pass while a stack file is unread
            yield finding(ID, Outcome.COULD_NOT_CHECK, f"{f.path}: invalid YAML{at}", subject=f.path)
            continue
        for key, line, value in secrets:
            bad += 1
            ev = Evidence(
                kind="file",
                summary=f"plaintext value of {key} ({mask(value)})",
                path=f.path,
                start_line=line,
                end_line=line,
                commit=repo.head,
                excerpt=f"{key}: {mask(value)}",
            )
            yield finding(
                ID,
                Outcome.FAIL,
                f"{f.path}:{line}: stack config {key} is a plaintext secret (not `secure:`)",
                [ev],
                subject=f.path,
            )

    for f in [f for f in iac if PROJECT_FILE.search(f.path)]:
        # The pass below rests on recognising the IaC; an unreadable project file is no evidence.
        problem = _unreadable_project(repo.read_text(f.path))
        if problem:
            bad += 1
            yield finding(ID, Outcome.COULD_NOT_CHECK, f"{f.path}: {problem}", subject=f.path)

    history, why = git_history.history_or_reason(ctx)
    past = 0
    if history is not None:
        past = yield from _history(history, {f.path for f in repo.files})
    if bad or past:
        return
    if history is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, f"the history could not be read: {why}")
        return
    if not iac:
        yield finding(ID, Outcome.NOT_APPLICABLE, "no Terraform or Pulumi code in the repository")
        return
    ev = Evidence(
        kind="file",
        summary=f"{len(iac)} IaC files, no state files at HEAD or in {len(history.commits)} commits",
        path=iac[0].path,
        commit=repo.head,
        data={"iac_files": [f.path for f in iac[:MAX_LISTED]], "test_fixture_state_ignored": fixtures[:MAX_LISTED]},
    )
    yield finding(ID, Outcome.PASS, f"{len(iac)} IaC files and no committed state or plaintext stack secrets", [ev])


def _unreadable_project(text: str | None) -> str | None:
    if text is None:
        return "cannot read (binary or too large)"
    try:
        data = yamlsafe.load(text)
    except yaml.YAMLError:
        return "invalid YAML"
    return None if isinstance(data, dict) else "not a Pulumi project file (expected a mapping)"


def _history(history: git_history.History, at_head: set[str]) -> Generator[Finding, None, int]:
    """WARN for each state file that was committed once and is gone from HEAD; returns how many."""
    added: dict[str, git_history.Commit] = {}
    removed: dict[str, git_history.Commit] = {}
    for c in history.commits:  # newest first
        for path in c.created:
            if STATE_FILE.search(path) and path not in at_head and not FIXTURE_DIRS.search(path):
                added[path] = c  # keeps the oldest
        for path in c.deleted:
            if STATE_FILE.search(path) and path not in at_head and not FIXTURE_DIRS.search(path):
                removed.setdefault(path, c)  # keeps the newest
    for path in sorted(added)[:MAX_LISTED]:
        ev = [git_history.commit_evidence(added[path], f"{path} added in {added[path].short}: {added[path].subject}")]
        gone = removed.get(path)
        if gone is not None:
            ev.append(git_history.commit_evidence(gone, f"{path} removed in {gone.short}: {gone.subject}"))
        where = f"removed in {gone.short}" if gone else "still on another branch"
        yield finding(
            ID,
            Outcome.WARN,
            f"{_kind(path)} {path} is in the history (added in {added[path].short}, {where}): "
            "rotate any secret it held",
            ev,
            subject=path,
        )
    return len(added)
