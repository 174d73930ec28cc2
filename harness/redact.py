"""Secrets never leave the process: every string of a run document passes through here.

Masked by pattern: credentials in URLs (also JSON-escaped and percent-encoded),
Authorization / Cookie / Set-Cookie / API-key headers in any text (and as dict
keys), and well-known key formats (AWS, GitHub, GitLab, Slack, Google, Azure,
private key blocks). Secret values the run learned (tokens, DSNs read from the
environment) are registered and masked wherever they appear.

Every pattern has only bounded quantifiers and no nested repetition, and input
is cut to MAX_CHARS first, so masking is linear in the input: a hostile 10 MB
commit subject or metric label cannot stall a run (Python's `re` backtracks, so
one unbounded `[a-z]*://` would make it quadratic).
"""

from __future__ import annotations

import re
import threading
from typing import Any

MASK = "***"
MAX_CHARS = 1_000_000  # longer strings are cut (and say so) before masking
# Evidence keeps headers and parsed JSON as dicts: a string under a key naming a credential
# (Authorization, X-Debug-Authorization, Set-Cookie, api_key, db_password...) is masked whatever it looks like.
_SENSITIVE_KEY = re.compile(
    r"(?i)authorization|cookie|passw(?:or)?d|secret|api[_\-]?key|(?:auth|access|refresh|session)[_\-]?token"
    r"|private[_\-]?key|credential"
)
_VALUE_SEP = r"[\"'\\]{0,3}\s{0,8}[:=]\s{0,8}[\"'\\]{0,3}"  # `: `, `": "`, `=`, `\": \"` (JSON inside JSON)
# scheme://userinfo@ (slashes may be JSON-escaped); the last @ before a delimiter ends the userinfo.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{0,31}:\\?/\\?/)([^\s/?#\"'<>\\]{1,512})@")
# The same, percent-encoded: https%3A%2F%2Fuser%3Apass%40host
_URL_USERINFO_ENCODED = re.compile(r"(?i)(%3a%2f%2f)((?:(?!%2f|%40)[^\s/?#\"'<>\\]){1,512}?)(%40)")
_HEADERS = re.compile(
    r"(?i)\b((?:proxy-)?authorization|(?:set-)?cookie|x-api-key|x-auth-token)(" + _VALUE_SEP + r")[^\"'\\\r\n]{1,4096}"
)
_AWS_SECRET = re.compile(
    r"(?i)\b((?:aws[_\-. ]?)?secret[_\-. ]?(?:access[_\-. ]?)?key(?:[_\-. ]?id)?)(" + _VALUE_SEP + r")"
    r"[A-Za-z0-9/+=]{16,128}"
)
_AZURE_KEY = re.compile(r"(?i)\b(AccountKey|SharedAccessKey)=[A-Za-z0-9+/=]{8,512}")
# Prefixed tokens keep their prefix (it names the kind of key, and is not secret).
# Prefixed tokens keep their prefix (it names the kind of key and is not secret); each family
# is tried only when its prefix occurs, as most strings carry none.
_TOKENS = [
    (("gh",), re.compile(r"(gh[pousr]_|github_pat_)[A-Za-z0-9_]{20,255}")),
    (("glpat-",), re.compile(r"(glpat-)[A-Za-z0-9_\-]{20,255}")),
    (("xox",), re.compile(r"(xox[abpr]-)[A-Za-z0-9\-]{10,255}")),
    (("aiza",), re.compile(r"(AIza)[A-Za-z0-9_\-]{35}")),
    (("akia", "asia", "abia", "acca"), re.compile(r"(?<![A-Z0-9])(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")),
]
_PRIVATE_KEY = re.compile(
    r"(-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)[^-]{0,16384}"
    r"(-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?"
)
_known: set[str] = set()
_lock = threading.Lock()


def register(secret: str | None) -> None:
    """Mask this exact value wherever it appears from now on (ignores short values)."""
    if secret and len(secret) >= 6:
        with _lock:
            _known.add(secret)


def _userinfo(m: re.Match[str]) -> str:
    user, colon, _ = m[2].partition(":")
    # user:password keeps a short user name; a lone user name (or a long one) is usually a token.
    keep = user if colon and len(user) < 20 else ""
    return f"{m[1]}{keep}{':' if keep else ''}{MASK}@"


def cap(value: str, limit: int = MAX_CHARS) -> str:
    if len(value) <= limit:
        return value
    return value[:limit] + f"…[{len(value) - limit} more characters cut]"


def text(value: str) -> str:
    if not value:
        return value
    out = cap(value)
    low = out.lower()  # cheap literal tests first: most strings carry none of these
    if "/" in low:
        out = _URL_USERINFO.sub(_userinfo, out)
    if "%3a%2f%2f" in low:
        out = _URL_USERINFO_ENCODED.sub(lambda m: f"{m[1]}{MASK}{m[3]}", out)
    if "authorization" in low or "cookie" in low or "x-a" in low:
        out = _HEADERS.sub(lambda m: f"{m[1]}{m[2]}{MASK}", out)
    if "secret" in low:
        out = _AWS_SECRET.sub(lambda m: f"{m[1]}{m[2]}{MASK}", out)
    if "accesskey=" in low or "accountkey=" in low:
        out = _AZURE_KEY.sub(lambda m: f"{m[1]}={MASK}", out)
    for prefixes, pattern in _TOKENS:
        if any(p in low for p in prefixes):
            out = pattern.sub(lambda m: m[1] + MASK, out)
    if "private key" in low:
        out = _PRIVATE_KEY.sub(lambda m: f"{m[1]}{MASK}{m[2] or ''}", out)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in out:
            out = out.replace(secret, MASK)
    return out


def _sensitive(key: Any, value: Any) -> bool:
    return isinstance(key, str) and isinstance(value, str) and bool(value) and bool(_SENSITIVE_KEY.search(key[:200]))


def deep(value: Any) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {(text(k) if isinstance(k, str) else k): MASK if _sensitive(k, v) else deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [deep(v) for v in value]
    return value
