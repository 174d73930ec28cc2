"""repo.secrets: no credentials are committed, neither at HEAD nor in the history.

The detection rules (and how placeholders, fixtures, templates and fallbacks are
judged) are in harness/probes/secret_scan.py. This check reads every regular file
at HEAD (up to HEAD_MAX_BYTES each, lines of any length) and every patch in the
history, and says what it did not read: "no secrets found" is only a pass when
nothing was left unread. A secret still present at HEAD is never reported as
history only. Values are masked in every piece of evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import git_history, gitcmd, history_patches, repository, secret_pool
from harness.probes.secret_scan import (  # noqa: F401 - re-exported: iac_state and the tests import them here
    FIXTURE_DIRS,
    KEYWORDS,
    SKIP_FILES,
    Hit,
    formats_only,
    is_placeholder,
    mask,
    prefilter_bytes,
    scan_text,
)

ID = "repo.secrets"
MAX_FINDINGS = 50  # per kind (HEAD, history); the rest are counted
HEAD_MAX_BYTES = 32_000_000  # larger files at HEAD are listed as not read


@dataclass
class HeadScan:
    hits: list[Hit] = field(default_factory=list)
    scanned: int = 0
    vendored: int = 0  # of those scanned, files in vendored folders: scanned for token formats only
    binary: list[str] = field(default_factory=list)  # not text: no text secret to find
    by_type: list[str] = field(default_factory=list)  # lock files, minified bundles, source maps
    unread: list[str] = field(default_factory=list)  # "path (why)": the scan is not complete


def _head_scan(ctx: Context, repo: repository.RepoSnapshot) -> HeadScan:
    out = HeadScan()
    too_large: list[str] = []

    def wanted() -> Iterator[secret_pool.File]:  # lazily: the workers start on the first files meanwhile
        for f in repo.files:
            if not f.is_regular:
                continue  # symlinks and submodules hold no content of their own
            if SKIP_FILES.search(f.name):  # the same verdict as on the path, for a fraction of the cost
                out.by_type.append(f.path)
            elif f.size > HEAD_MAX_BYTES:
                too_large.append(f"{f.path} ({f.size / 1e6:.0f} MB, over the {HEAD_MAX_BYTES // 1_000_000} MB limit)")
            else:
                yield f, formats_only(f.path, repo.vendored(f.path))

    total = sum(f.size for f in repo.files if f.is_regular and f.size <= HEAD_MAX_BYTES)
    for f, formats, result in secret_pool.scan_files(repo, wanted(), total, HEAD_MAX_BYTES, ctx.check_deadline):
        if isinstance(result, list):
            out.scanned += 1
            out.vendored += formats
            out.hits.extend(result)
        elif result == secret_pool.BINARY:
            out.binary.append(f.path)
        else:
            out.unread.append(f"{f.path} (unreadable)")
    out.unread[:0] = too_large
    if repo.truncated:
        out.unread.append(f"files past the first {len(repo.files)} (not listed)")
    out.unread += [f"{p}" for p in repo.problems]
    return out


@dataclass
class Past:
    hit: Hit
    added_in: str  # sha of the oldest commit adding it
    removed_in: str = ""  # sha of the newest commit removing it


def _history_hits(ctx: Context, at_head: set[str]) -> tuple[dict[tuple[str, str], Past], history_patches.PatchScan]:
    found: dict[tuple[str, str], Past] = {}
    removed: dict[tuple[str, str], str] = {}
    skip = lambda p: bool(SKIP_FILES.search(p))  # noqa: E731
    shared = _shared_patches(ctx)
    if shared is not None:  # the history probe's pass carried the patches: no second diff of the history
        scan, patches = shared.scan, shared.patches_for(skip)
    else:
        scan = history_patches.PatchScan()
        deadline = ctx.deadline - max(5.0, ctx.remaining() * 0.2)  # leave time to report
        patches = history_patches.patches(ctx.repo, scan, deadline, skip, prefilter_bytes)
    for patch in patches:
        formats = formats_only(patch.path, repository.is_vendored(patch.path))
        for hit in scan_text(patch.path, patch.added, formats):
            if hit.value in at_head or hit.severity != "fail":
                continue  # flagged at HEAD already (by any rule), or a dev default: no history finding
            if hit.key in found:
                found[hit.key].added_in, found[hit.key].hit = patch.sha, hit  # older commit: the real origin
            else:
                found[hit.key] = Past(hit, patch.sha)
        if patch.removed:
            for hit in scan_text(patch.path, patch.removed, formats):
                removed.setdefault(hit.key, patch.sha)  # newest first: the first seen is the last removal
    for key, past in found.items():
        past.removed_in = removed.get(key, "")
    return found, scan


def _shared_patches(ctx: Context) -> history_patches.Collector | None:
    try:
        history = git_history.get(ctx)
    except (git_history.HistoryError, gitcmd.GitError, OSError):
        return None  # the scan's own pass says what it can
    return history.patches if history.patches is not None and history.patches.usable else None


def _commit_ref(history: git_history.History | None, sha: str, role: str) -> Evidence:
    c = history.by_sha.get(sha) if history else None
    if c is None:
        return Evidence(kind="commit", summary=f"{role} in {sha[:10]}", commit=sha)
    return git_history.commit_evidence(c, f"{role} in {c.short} ({c.committed.date()}): {c.subject}")


@check(
    ID,
    title="No secrets are committed, at HEAD or in the history",
    failure_title="Secrets are committed to the repository",
    proves="Credentials live outside version control, as cloud security practice requires (CQ-2).",
    remediation=(
        "Revoke and rotate the exposed credential first, then move it to a secret store or CI secret, "
        "read it from the environment, ignore the file in .gitignore, and add a secret scanner (e.g. gitleaks) "
        "to the pipeline. A secret in history stays exposed until rotated, even after removal."
    ),
    source="repository",
    timeout=120,
    order=-1,  # the longest check on a large tree (it reads every file): started first, beside the others
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    if not repo.is_git:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "not a git repository: no committed files or history to scan")
        return
    if repo.head is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "the repository has no commits yet")
        return
    head = _head_scan(ctx, repo)
    hits = [h for h in head.hits if h.severity == "fail"]
    for h in hits[:MAX_FINDINGS]:
        yield _head_finding(h, repo.head, Outcome.FAIL, f"{h.name} committed at HEAD in {h.path}:{h.line}")
    if len(hits) > MAX_FINDINGS:
        yield finding(ID, Outcome.FAIL, f"{len(hits) - MAX_FINDINGS} more secrets at HEAD not listed")
    for h in [h for h in head.hits if h.severity == "warn"][:MAX_FINDINGS]:
        if h.rule != "fallback-secret":  # a `KEY=value` in prose: usually an example, never shown unmasked
            yield _head_finding(
                h,
                repo.head,
                Outcome.WARN,
                f"{h.path}:{h.line}: {h.name} in documentation: an example value, or a real one?",
                remediation="Use an obvious placeholder (`<your-secret>`) in documentation; if the value is real, "
                "rotate it and remove it.",
            )
            continue
        yield _head_finding(
            h,
            repo.head,
            Outcome.WARN,
            f"{h.path}:{h.line}: {h.name} ({h.value!r}) is what production uses when the variable is unset",
            remediation="Fail at start-up when the secret is missing (os.environ['X'], no default) instead of "
            "falling back to a built-in value.",
        )

    history, why = git_history.history_or_reason(ctx)
    shallow = history is None and why.startswith(git_history.SHALLOW)
    past, scan = _history_hits(ctx, {h.value for h in head.hits})
    still: list[Past] = []  # in the history and perhaps still at HEAD: the file there could not be read
    for key, p in list(past.items()):
        f = repo.get(p.hit.path)
        data = repo.read_bytes(p.hit.path, HEAD_MAX_BYTES) if f is not None and f.is_regular else b""
        if data is None:
            still.append(past.pop(key))
        elif p.hit.value.encode() in data:
            del past[key]  # at HEAD where it was allowed (marked fixture or allow marker): the HEAD verdict stands
    for p in still[:MAX_FINDINGS]:
        yield finding(
            ID,
            Outcome.FAIL,
            f"{p.hit.name} in the history of {p.hit.path} (added in {p.added_in[:10]}), and the file at HEAD "
            "could not be read: it may still be committed",
            [_commit_ref(history, p.added_in, f"{p.hit.name} ({mask(p.hit.value)}) added to {p.hit.path}")],
            subject=p.hit.path,
        )
    for p in list(past.values())[:MAX_FINDINGS]:
        h = p.hit
        gone = f", removed in {p.removed_in[:10]}" if p.removed_in else ", no removal found: on another branch?"
        refs = [_commit_ref(history, p.added_in, f"{h.name} ({mask(h.value)}) added to {h.path}")]
        if p.removed_in:
            refs.append(_commit_ref(history, p.removed_in, "removed"))
        yield finding(
            ID,
            Outcome.WARN,
            f"{h.name} in the history of {h.path} (added in {p.added_in[:10]}{gone}); not at HEAD, "
            "but anyone with the repository can read it: rotate it",
            refs,
            subject=h.path,
        )
    if len(past) > MAX_FINDINGS:
        yield finding(ID, Outcome.WARN, f"{len(past) - MAX_FINDINGS} more secrets in the history not listed")
    unread = head.unread + [
        f"{path} in {sha[:10]} ({size / 1e6:.0f} MB, not diffed)" for sha, path, size in scan.unread(ctx.repo)
    ]
    summary = Evidence(
        kind="metric",
        summary=f"{head.scanned} files at HEAD"
        + (f" ({head.vendored} in vendored folders, for token formats only)" if head.vendored else "")
        + f" and {scan.commits} commits ({scan.bytes // 1000} kB of patches) "
        f"scanned; {len(head.binary)} binary and {len(head.by_type)} lock/minified files not text-scanned; "
        f"{len(unread)} not read",
        commit=repo.head,
        data={
            "files_scanned": head.scanned,
            "vendored_files_formats_only": head.vendored,
            "commits_scanned": scan.commits,
            "patch_bytes": scan.bytes,
            "binary_files": head.binary[:20],
            "skipped_by_type": head.by_type[:20],
            "not_read": unread[:50],
        },
    )
    if scan.truncated:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"the history scan was cut short ({scan.truncated}): older commits were not scanned for secrets",
            [summary],
            remediation="Scan the full history with a dedicated tool (gitleaks detect) or raise the check's timeout.",
        )
    elif unread:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"{len(unread)} file(s) or blob(s) were not read, so they were not scanned for secrets: "
            + ", ".join(unread[:5])
            + ("…" if len(unread) > 5 else ""),
            [summary],
            remediation="Keep large data files out of the repository (Git LFS or an artefact store), or scan them "
            "with a dedicated tool (gitleaks detect).",
        )
    elif shallow and not hits and not still:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"no secrets found at HEAD, but this is a {why}: the rest of the history was not scanned",
            [summary],
            remediation=git_history.SHALLOW_REMEDIATION,
        )
    elif not hits and not past and not still:
        warned = len(head.hits) - len(hits)
        reason = "no secrets found at HEAD or in the history"
        yield finding(
            ID, Outcome.PASS, reason + (f" ({warned} dev-default fallback(s) warned)" if warned else ""), [summary]
        )


def _head_finding(h: Hit, head: str, outcome: Outcome, reason: str, remediation: str | None = None) -> Finding:
    plain = h.severity == "warn" and h.rule == "fallback-secret"  # a dev default is shown as it is
    ev = Evidence(
        kind="file",
        summary=f"{h.name} at {h.path}:{h.line} ({repr(h.value) if plain else mask(h.value)})",
        path=h.path,
        start_line=h.line,
        end_line=h.line,
        commit=head,
        excerpt=h.text.replace(mask(h.value), h.value) if plain else h.text,
        data={"rule": h.rule},
    )
    return finding(ID, outcome, reason, [ev], subject=h.path, remediation=remediation)
