"""Secret detection in one text: well-known token formats, secret-named assignments, hard-coded fallbacks.

Judged as an assessor would: placeholders (changeme, <your-key>, xxx, ${VAR},
{{ var }}), empty values, variable names without a value, test code and fixtures
(tests/, .env.test) and templates or examples (*.j2, *.tmpl, *.example, *.sample,
example.*) hold no secrets, except a well-known token format that is not marked
fake. In credentials files (.env, *.tfvars, .npmrc, kubeconfig ...) every
secret-named value counts. A secret-named environment variable read with a
literal fallback (Python's environ.get or getenv with a default, JavaScript's
process.env.X || literal, the shell's ${X:-literal}) in production code is what
runs when the variable is unset: a failure for a real-looking value, a warning
for a dev default. Lines of any
length are scanned; the evidence shows a window around the value, masked.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass

from harness import redact, textscan

MIN_ENTROPY = 3.0  # bits per character for a secret-named literal outside credentials files
MIN_LENGTH = 8
EXCERPT_CONTEXT = 80  # characters either side of the value in the evidence


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    pattern: re.Pattern[str]
    group: int | str = 1  # the group holding the secret value
    literals: tuple[str, ...] = ()  # one of these is in every match, where textscan cannot derive it

    def may_match(self, text: str) -> bool:
        if self.literals:
            return any(word in text for word in self.literals)
        return textscan.may_match(self.pattern, text)


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
        "github-token",
        "GitHub token",
        re.compile(r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|github_pat_\w{60,})"),
        literals=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
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
SECRET_NAME = re.compile(rf"(?i)(?:{_KEYS}|credentials?)")
NETRC = re.compile(r"\bpassword\s+(?P<value>\S+)")
# A name ending in one of these describes a secret rather than holding one; one starting with "public" holds
# what is published by design (.NET's PublicKeyToken in every Web.config, a public key).
NOT_SECRET_KEY = re.compile(
    r"(?i)^public|(?:url|uri|file|path|name|names|length|len|type|env|header|field|endpoint|prefix|ttl|expiry|expires|"
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
# Test settings, templates and examples: their values are stand-ins (only well-known token formats count there).
NOT_REAL_FILES = re.compile(
    r"(?i)(?:^|/)(?:\.env\.(?:test|testing|example|sample|template|dist|defaults?|tpl)|example\.[^/]+"
    r"|[^/]+\.(?:example|sample|template|tmpl|tpl|j2|jinja2?|dist)|[^/]+\.(?:example|sample)\.[^/]+)$"
)
# Prose (READMEs, docs): a `KEY=value` there is usually an example; it is a warning, known token formats still fail.
PROSE_FILES = re.compile(r"(?i)\.(?:md|markdown|rst|adoc|txt)$")
_NAME = r"[A-Za-z_][\w.-]{0,100}"
# A secret-named environment variable read with a literal fallback: what runs when the variable is unset.
FALLBACKS = (
    re.compile(  # Python: os.environ.get("X", "v"), os.getenv("X", "v"), environ.setdefault("X", "v")
        rf"""\b(?:environ\.get|getenv|environ\.setdefault)\(\s*(?P<kq>["'])(?P<key>{_NAME})(?P=kq)\s*,\s*"""
        r"""(?P<q>["'])(?P<value>[^"'\n]*)(?P=q)\s*\)"""
    ),
    re.compile(  # JavaScript: process.env.X || "v", process.env["X"] ?? "v"
        rf"""process\.env(?:\.|\[\s*["'])(?P<key>{_NAME}?)(?:["']\s*\])?\s*(?:\|\||\?\?)\s*"""
        r"""(?P<q>["'`])(?P<value>[^"'`\n]*)(?P=q)"""
    ),
    re.compile(rf"""\$\{{(?P<key>{_NAME}):?-(?P<q>["']?)(?P<value>[^}}"'\s]*)(?P=q)\}}"""),  # shell: ${X:-v}
)
DEV_DEFAULTS = {"dev", "development", "local", "localhost", "default", "debug", "test", "testing", "demo"}
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


def _fewest(words: tuple[str, ...]) -> tuple[str, ...]:
    """`words` without those holding another ("private key" holds "key"): a text holds one of these exactly
    when it holds one of `words`, and each word is one more pass over the text."""
    return tuple(w for w in words if not any(o != w and o in w for o in words))


_SEARCHED = _fewest(KEYWORDS)
KEYWORDS_BYTES = tuple(k.encode() for k in _SEARCHED)


def prefilter(text: str) -> bool:
    low = text.lower()
    return any(k in low for k in _SEARCHED)


def prefilter_bytes(data: bytes) -> bool:
    return textscan.holds_keyword(data.lower(), KEYWORDS_BYTES)


@dataclass(frozen=True)
class Hit:
    rule: str
    name: str
    path: str
    line: int
    value: str
    text: str  # a window of the line around the value, value masked
    severity: str = "fail"  # "warn": a dev-default fallback, not a credential

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


def formats_only(path: str, vendored: bool) -> bool:
    """Whether only well-known token formats count in this file: one in a vendored folder (third-party code,
    whose made-up example passwords are not the candidate's), unless it is a credentials file."""
    return vendored and not CREDENTIAL_FILES.search(path)


def scan_text(path: str, text: str, formats: bool = False) -> list[Hit]:
    """Secrets in one text (a file, or the added lines of a patch); one hit per line at most.

    With `formats`, only well-known token formats (RULES) count, not secret-named assignments.
    """
    if SKIP_FILES.search(path):
        return []
    # The one-line patterns run over the lines holding a keyword only (every line of any length that does,
    # so nothing is skipped): regular expressions cost per character, and most lines hold none.
    lines = textscan.keyword_lines(text, FORMAT_KEYWORDS if formats else _SEARCHED, len(text) + 1)
    view = lines.text
    if not lines.starts:
        return []  # no line holds a keyword (keyword_lines also knows letters that fold to ASCII): nothing to find
    stand_in = bool(NOT_REAL_FILES.search(path))
    prose = bool(PROSE_FILES.search(path))
    relaxed = bool(CREDENTIAL_FILES.search(path)) and not ENV_TEMPLATES.search(path) and not stand_in
    # Test code is full of made-up passwords: there only well-known token formats count, and those
    # too are skipped when the file says they are fake.
    in_tests = bool(FIXTURE_DIRS.search(path)) or stand_in
    fixture = in_tests and bool(FIXTURE_MARK.search(path + "\n" + text[:2000]))
    starts: list[int] = []  # where each line begins, computed at the first hit (most texts have none)
    hits: dict[int, Hit] = {}

    def add(rule: str, name: str, pos: int, value: str, severity: str = "fail") -> None:
        if not starts:
            starts.extend([0, *(m.end() for m in re.finditer("\n", text))])
        n = bisect_right(starts, pos)
        if n in hits:
            return
        begin, end = starts[n - 1], (starts[n] - 1 if n < len(starts) else len(text))
        if any(m in text[begin:end] for m in ALLOW_MARKERS):
            return
        lo, hi = max(begin, pos - EXCERPT_CONTEXT), min(end, pos + len(value) + EXCERPT_CONTEXT)
        window = ("…" if lo > begin else "") + text[lo:hi].strip() + ("…" if hi < end else "")
        hits[n] = Hit(rule, name, path, n, value, window.replace(value, mask(value)), severity)

    at = lines.origin  # an offset in `view` -> the same character's offset in `text`
    for rule in RULES:
        if not rule.may_match(view):
            continue  # none of the literals every match holds (a substring test, far cheaper than the pattern)
        for m in rule.pattern.finditer(view):
            value = m.group(rule.group) or m.group(0)
            if rule.id == "private-key":
                end = at(m.end())  # the key's body is on the next lines, which hold no keyword
                body = text[end : end + 200].split("-----", 2)
                value = (body[1] if len(body) > 1 else "").strip()[:40] or m.group(0)
                if fixture or "..." in value or is_placeholder(value):
                    continue
                add(rule.id, rule.name, at(m.start()), value)
            elif not is_placeholder(value) and not fixture and not (in_tests and rule.id == "url-password"):
                add(rule.id, rule.name, at(m.start(rule.group)), value)
    if formats:
        return _registered(hits)
    for pattern in FALLBACKS if not in_tests else ():
        for m in pattern.finditer(text) if textscan.may_match(pattern, text) else ():
            key, value = m.group("key"), m.group("value")
            if not value or not SECRET_NAME.search(key) or NOT_SECRET_KEY.search(key):
                continue  # no fallback (empty literal), or not a secret's variable
            dev = (
                is_placeholder(value) or value.lower() in DEV_DEFAULTS or "insecure" in value.lower() or len(value) < 4
            )
            add("fallback-secret", f"hard-coded fallback for {key}", m.start("value"), value, "warn" if dev else "fail")
    for m in (RELAXED if relaxed else GENERIC).finditer("" if in_tests else view):
        key, value = m.group("key"), m.group("value")
        if NOT_SECRET_KEY.search(key) or not _credible(value, bool(m.group("q")), relaxed):
            continue
        if PSQL_VARIABLE.match(view, m.end("key")):
            continue  # `PASSWORD :'name'` is psql interpolating a variable, not a literal
        add("secret-assignment", f"value of {key}", at(m.start("value")), value, "warn" if prose else "fail")
    if re.search(r"(?:^|/)[._]netrc$", path):
        for m in NETRC.finditer(text):
            if not is_placeholder(m.group("value")):
                add("netrc-password", ".netrc password", m.start("value"), m.group("value"))
    return _registered(hits)


def _registered(hits: dict[int, Hit]) -> list[Hit]:
    for h in hits.values():
        if h.severity == "fail":
            redact.register(h.value)  # belt and braces: the report masks the value wherever it appears
    return sorted(hits.values(), key=lambda h: h.line)
