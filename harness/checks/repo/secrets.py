"""repo.secrets: no credentials are committed, neither at HEAD nor in the history.

Well-known token formats (private keys, AWS, GCP, Azure, GitHub, Slack, Stripe,
passwords in URLs), then secret-named assignments whose value looks real:
anything in a credentials file (.env, *.tfvars, .npmrc, .pypirc, kubeconfig,
.netrc, Docker config), and random-looking literals elsewhere. Placeholders
(changeme, example, xxx, ${VAR}, <...>) and lines marked as allowed are skipped.
Values are masked in every piece of evidence.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from harness import redact, textscan
from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import git_history, repository

ID = "repo.secrets"
MAX_FINDINGS = 50  # per kind (HEAD, history); the rest are counted
MIN_ENTROPY = 3.0  # bits per character for a secret-named literal outside credentials files
MIN_LENGTH = 8
MAX_LINE = 4000


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    pattern: re.Pattern[str]
    group: int | str = 1  # the group holding the secret value


RULES = [
    Rule("private-key", "private key", re.compile(r"-----BEGIN ((?:RSA|EC|DSA|OPENSSH|PGP|ENCRYPTED) )?PRIVATE KEY")),
    Rule("aws-access-key-id", "AWS access key id", re.compile(r"\b((?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16})\b")),
    Rule(
        "aws-secret-key",
        "AWS secret access key",
        re.compile(r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),
    ),
    Rule("gcp-api-key", "Google API key", re.compile(r"\b(AIza[0-9A-Za-z_\-]{35})(?![0-9A-Za-z_\-])")),
    Rule("azure-storage-key", "Azure storage account key", re.compile(r"AccountKey=([A-Za-z0-9+/]{80,}={0,2})")),
    Rule(
        "github-token", "GitHub token", re.compile(r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|github_pat_\w{60,})")
    ),
    Rule("slack-token", "Slack token", re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]{10,})")),
    Rule(
        "slack-webhook",
        "Slack webhook URL",
        re.compile(r"(https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+)"),
    ),
    Rule("stripe-key", "Stripe live key", re.compile(r"\b((?:sk|rk)_live_[0-9a-zA-Z]{20,})")),
    Rule("url-password", "password in a URL", re.compile(r"\b[a-z][a-z0-9+.-]*://[^:/@\s\"']+:([^@/\s\"']{8,})@")),
]
_KEYS = r"password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret"
_ASSIGN = r"[\"']?[ \t]*(?::=|=>|:|=)[ \t]*(?P<q>[\"'`]?)(?P<value>[^\s\"'`,;]+)(?P=q)"
GENERIC = re.compile(rf"(?i)(?<![\w.-])(?P<key>[\w.-]*(?:{_KEYS}|credentials?)[\w.-]*){_ASSIGN}")
# In credentials files every secret-named value counts, including plain `auth` and kubeconfig key data.
RELAXED = re.compile(rf"(?i)(?<![\w.-])(?P<key>[\w.-]*(?:{_KEYS}|credentials?|auth|key-data)[\w.-]*){_ASSIGN}")
NETRC = re.compile(r"\bpassword\s+(?P<value>\S+)")
NOT_SECRET_KEY = re.compile(
    r"(?i)(?:url|uri|file|path|name|names|length|len|type|env|header|field|endpoint|prefix|ttl|expiry|expires|"
    r"timeout|count|regex|pattern|policy|label|mode|id|ref|arn|version|store|method|provider|kind|format|size|"
    r"min|max|required|enabled|hash|hashed|reset|confirm|confirmation|input|form|param|validator|encryption|"
    r"algorithm|algo|scheme|strength)$"
)
PLACEHOLDER_WORDS = (
    "changeme", "change_me", "change-me", "example", "xxx", "dummy", "placeholder", "your_", "your-", "yourpass",
    "redacted", "sample", "fake", "notreal", "not-a-real", "not_a_real", "todo", "replace", "insert", "test",
    "secret_here", "****",
)  # fmt: skip
COMMON_DEFAULTS = {"password", "postgres", "secret", "admin", "root", "mysql", "guest", "redis", "none", "null", "true"}
# psql's variable interpolation: blank before the colon, a quote right after it (YAML and JSON never write this).
PSQL_VARIABLE = re.compile(r"""[ \t]+:['"][A-Za-z_]\w*['"]""")
ALLOW_MARKERS = ("pragma: allowlist secret", "gitleaks:allow", "harness: allow-secret")
FIXTURE_DIRS = re.compile(r"(?i)(?:^|/)(?:tests?|fixtures?|testdata|spec|__tests__)(?:/|$)")
FIXTURE_MARK = re.compile(r"(?i)\b(?:fake|dummy|not a real|test (?:key|only)|for tests?)\b")
CREDENTIAL_FILES = re.compile(
    r"(?i)(?:^|/)(?:\.env(?:\.[\w.-]+)?|[\w.-]+\.tfvars(?:\.json)?|\.npmrc|\.pypirc|\.netrc|_netrc|\.git-credentials"
    r"|\.?kubeconfig[\w.-]*|[\w.-]+\.kubeconfig|\.kube/config|\.docker/config\.json|\.dockercfg)$"
)
ENV_TEMPLATES = re.compile(r"(?i)\.env\.(?:example|sample|template|dist|defaults?|tpl)$")
SKIP_FILES = re.compile(
    r"(?i)(?:^|/)(?:package-lock\.json|yarn\.lock|pnpm-lock\.yaml|poetry\.lock|Pipfile\.lock|uv\.lock|go\.sum|"
    r"Cargo\.lock|composer\.lock|Gemfile\.lock)$|\.min\.(?:js|css)$|\.(?:svg|map)$"
)
# Substring tests (lowercased) are far faster than one case-insensitive regex over megabytes of patches.
# Each rule's literal part, lower-cased: a line holding none of them cannot match (scan_text relies on it).
FORMAT_KEYWORDS = (
    "private key", "akia", "asia", "agpa", "aida", "aroa", "anpa", "aws_secret", "awssecret", "aiza", "accountkey",
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "hooks.slack", "_live_", "://",
)  # fmt: skip
KEYWORDS = (*FORMAT_KEYWORDS, "pass", "secret", "token", "key", "auth", "credential", "pwd")
KEYWORDS_BYTES = tuple(k.encode() for k in KEYWORDS)


def prefilter(text: str) -> bool:
    low = text.lower()
    return any(k in low for k in KEYWORDS)


def prefilter_bytes(data: bytes) -> bool:
    low = data.lower()
    return any(k in low for k in KEYWORDS_BYTES)


@dataclass(frozen=True)
class Hit:
    rule: str
    name: str
    path: str
    line: int
    value: str
    text: str  # the line, value masked

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule, self.value)


def mask(value: str) -> str:
    return value[:4] + "***"


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def is_placeholder(value: str) -> bool:
    low = value.lower().strip()
    if not low or low in COMMON_DEFAULTS or len(set(low)) <= 2:
        return True
    if low[0] in "$%<{[(@&*" or "${" in low or "{{" in low or "$(" in low:
        return True
    return any(word in low for word in PLACEHOLDER_WORDS)


def _credible(value: str, quoted: bool, relaxed: bool) -> bool:
    """Whether a secret-named value looks like a real credential rather than code or a placeholder."""
    if is_placeholder(value):
        return False
    if relaxed:
        return len(value) >= 4
    if len(value) < MIN_LENGTH or entropy(value) < MIN_ENTROPY:
        return False
    if not quoted and re.fullmatch(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*(?:\(\))?", value):
        return False  # an identifier or attribute path: code, not a literal
    return not re.search(r"[()\[\]]", value)


def formats_only(repo: repository.RepoSnapshot | None, path: str) -> bool:
    """Whether only well-known token formats count in this file: one in a vendored folder (third-party
    code, whose made-up example passwords are not the candidate's), unless it is a credentials file."""
    vendored = repo.vendored(path) if repo else repository.is_vendored(path)
    return vendored and not CREDENTIAL_FILES.search(path)


def scan_text(path: str, text: str, formats: bool = False) -> list[Hit]:
    """Secrets in one text (a file, or the added lines of a patch); one hit per line at most.

    With `formats`, only well-known token formats (RULES) count, not secret-named assignments.
    """
    if SKIP_FILES.search(path):
        return []
    # Every rule matches within one line: scan only the lines holding a keyword (none: nothing to find).
    lines = textscan.keyword_lines(text, FORMAT_KEYWORDS if formats else KEYWORDS, MAX_LINE)
    if not lines.starts:
        return []
    view = lines.text
    relaxed = bool(CREDENTIAL_FILES.search(path)) and not ENV_TEMPLATES.search(path)
    # Test code is full of made-up passwords: there only well-known token formats count, and those
    # too are skipped when the file says they are fake.
    in_tests = bool(FIXTURE_DIRS.search(path))
    fixture = in_tests and bool(FIXTURE_MARK.search(path + "\n" + text[:2000]))
    hits: dict[int, Hit] = {}

    def add(rule: str, name: str, pos: int, value: str) -> None:
        i = lines.index(pos)
        n = lines.numbers[i]
        if n in hits:
            return
        line = lines.line(i)
        if any(m in line for m in ALLOW_MARKERS):
            return
        hits[n] = Hit(rule, name, path, n, value, line.replace(value, mask(value)).strip()[:200])

    for rule in RULES:
        for m in rule.pattern.finditer(view):
            value = m.group(rule.group) or m.group(0)
            if rule.id == "private-key":
                end = lines.origin(m.end())  # the key's body is on the next lines, which hold no keyword
                body = text[end : end + 200].split("-----", 2)
                value = (body[1] if len(body) > 1 else "").strip()[:40] or m.group(0)
                if fixture or "..." in value or is_placeholder(value):
                    continue
                add(rule.id, rule.name, m.start(), value)
            elif not is_placeholder(value) and not fixture and not (in_tests and rule.id == "url-password"):
                add(rule.id, rule.name, m.start(rule.group), value)
    for m in (RELAXED if relaxed else GENERIC).finditer("" if in_tests or formats else view):
        key, value = m.group("key"), m.group("value")
        if NOT_SECRET_KEY.search(key) or not _credible(value, bool(m.group("q")), relaxed):
            continue
        if PSQL_VARIABLE.match(view, m.end("key")):
            continue  # `PASSWORD :'name'` is psql interpolating a variable, not a literal
        add("secret-assignment", f"value of {key}", m.start("value"), value)
    if re.search(r"(?:^|/)[._]netrc$", path) and not formats:
        for m in NETRC.finditer(view):
            if not is_placeholder(m.group("value")):
                add("netrc-password", ".netrc password", m.start("value"), m.group("value"))
    for h in hits.values():
        redact.register(h.value)  # belt and braces: the report masks the value wherever it appears
    return sorted(hits.values(), key=lambda h: h.line)


def _head_hits(repo: repository.RepoSnapshot) -> tuple[list[Hit], int, int]:
    """Hits at HEAD, files scanned, and how many of those only for token formats (vendored)."""
    hits: list[Hit] = []
    scanned = vendored = 0
    for f, text in repo.texts([f for f in repo.files if f.is_regular and not SKIP_FILES.search(f.path)]):
        scanned += 1
        formats = formats_only(repo, f.path)
        vendored += formats
        hits.extend(scan_text(f.path, text, formats))
    return hits, scanned, vendored


@dataclass
class Past:
    hit: Hit
    added_in: str  # sha of the oldest commit adding it
    removed_in: str = ""  # sha of the newest commit removing it


def _history_hits(
    ctx: Context, at_head: set[tuple[str, str]]
) -> tuple[dict[tuple[str, str], Past], git_history.PatchScan]:
    scan = git_history.PatchScan()
    found: dict[tuple[str, str], Past] = {}
    removed: dict[tuple[str, str], str] = {}
    deadline = ctx.deadline - max(5.0, ctx.remaining() * 0.2)  # leave time to report
    for patch in git_history.patches(ctx.repo, scan, deadline, lambda p: bool(SKIP_FILES.search(p)), prefilter_bytes):
        formats = formats_only(None, patch.path)
        for hit in scan_text(patch.path, patch.added, formats):
            if hit.key in at_head:
                continue
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
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    if not repo.is_git:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "not a git repository: no committed files or history to scan")
        return
    if repo.head is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "the repository has no commits yet")
        return
    hits, scanned, vendored = _head_hits(repo)
    for h in hits[:MAX_FINDINGS]:
        ev = Evidence(
            kind="file",
            summary=f"{h.name} at {h.path}:{h.line} ({mask(h.value)})",
            path=h.path,
            start_line=h.line,
            end_line=h.line,
            commit=repo.head,
            excerpt=h.text,
            data={"rule": h.rule},
        )
        yield finding(ID, Outcome.FAIL, f"{h.name} committed at HEAD in {h.path}:{h.line}", [ev], subject=h.path)
    if len(hits) > MAX_FINDINGS:
        yield finding(ID, Outcome.FAIL, f"{len(hits) - MAX_FINDINGS} more secrets at HEAD not listed")

    history, _ = git_history.history_or_reason(ctx)
    past, scan = _history_hits(ctx, {h.key for h in hits})
    for key, p in list(past.items()):
        # Still in the file at HEAD, where it was allowed (marked fixture or allow marker): the HEAD verdict stands.
        if p.hit.value in (repo.read_text(p.hit.path) or ""):
            del past[key]
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
    # Vendored folders (third-party code) are scanned for token formats only: say so.
    partly = f" ({vendored} in vendored folders, for token formats only)" if vendored else ""
    summary = Evidence(
        kind="metric",
        summary=f"{scanned} files at HEAD{partly} and {scan.commits} commits ({scan.bytes // 1000} kB of patches) "
        "scanned",
        commit=repo.head,
        data={
            "files_scanned": scanned,
            "vendored_files_formats_only": vendored,
            "commits_scanned": scan.commits,
            "patch_bytes": scan.bytes,
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
    elif not hits and not past:
        yield finding(ID, Outcome.PASS, "no secrets found at HEAD or in the history", [summary])
