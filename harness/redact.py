"""Secrets never leave the process: every string of a run document passes through here.

Passwords in URLs are masked by pattern; secret values the run learned (tokens,
DSNs read from the environment) are registered and masked wherever they appear.
"""

from __future__ import annotations

import re
import threading
from typing import Any

MASK = "***"
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@")
_TOKEN_PATTERNS = [
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"),
    re.compile(r"(?i)(authorization:\s*(?:bearer|token|basic)\s+)[^\s\"']+"),
]
_known: set[str] = set()
_lock = threading.Lock()


def register(secret: str | None) -> None:
    """Mask this exact value wherever it appears from now on (ignores short values)."""
    if secret and len(secret) >= 6:
        with _lock:
            _known.add(secret)


def text(value: str) -> str:
    if not value:
        return value
    out = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", value)
    for pattern in _TOKEN_PATTERNS:
        out = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, out)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in out:
            out = out.replace(secret, MASK)
    return out


def deep(value: Any) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {deep(k) if isinstance(k, str) else k: deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [deep(v) for v in value]
    return value
