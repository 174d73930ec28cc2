"""Literal prefilters for regular expressions scanned over many files.

Python's `re` tries every alternative of a pattern at every position, so a
pattern with forty alternatives costs about half a second per 2 MB of text.
Most files contain none of the pattern's literal words, and a substring test
for those is a hundred times cheaper. `may_match` answers "could this pattern
match anywhere in this text?" and never answers no when `pattern.search` would
find a match: the literals are derived from the pattern itself (as RE2 and
Hyperscan do), and anything the derivation does not understand disables the
prefilter for that pattern instead of guessing.
"""

from __future__ import annotations

import functools
import importlib
import re
from typing import Any

C: Any
P: Any
try:  # the parser's private home since Python 3.11; without it there is simply no prefilter
    C = importlib.import_module("re._constants")
    P = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover
    C = P = None

MIN_LITERAL = 2  # shorter required literals filter too little to be worth a pass over the text


class _Unsupported(Exception):
    pass


@functools.lru_cache(maxsize=1024)
def required_literals(pattern: re.Pattern[str]) -> tuple[frozenset[str], bool] | None:
    """Strings one of which every match contains, and whether they are case-folded; None if unknown."""
    if P is None or not isinstance(pattern.pattern, str):
        return None
    fold = bool(pattern.flags & re.IGNORECASE)
    if pattern.flags & re.LOCALE:
        return None
    try:
        req = _sequence(P.parse(pattern.pattern, pattern.flags).data, fold)
    except (_Unsupported, re.error, AttributeError, TypeError, ValueError, RecursionError):
        return None
    if req is None or min(map(len, req)) < MIN_LITERAL:
        return None
    return req, fold


def may_match(pattern: re.Pattern[str], text: str) -> bool:
    """False only when `pattern.search(text)` certainly finds nothing."""
    found = required_literals(pattern)
    if found is None:
        return True
    literals, fold = found
    if fold:
        if not text.isascii():
            return True  # re's case-insensitive matching has non-ASCII equivalences casefold() lacks
        text = text.lower()
    return any(lit in text for lit in literals)


def search(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """`pattern.search(text)`, skipping texts the prefilter rules out."""
    return pattern.search(text) if may_match(pattern, text) else None


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The more selective requirement: long literals first, then fewer alternatives."""
    if a is None or b is None:
        return a if b is None else b

    def score(req: frozenset[str]) -> tuple[bool, int, int]:
        shortest = min(map(len, req))
        return (shortest >= 3, -len(req), shortest)

    return a if score(a) >= score(b) else b


def _sequence(items: list[tuple[Any, Any]], fold: bool) -> frozenset[str] | None:
    """Requirement of a concatenation: the best of its literal runs and its parts' requirements."""
    best: frozenset[str] | None = None
    run: list[str] = []

    def flush() -> None:
        nonlocal best
        if run:
            best = _better(best, frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is C.LITERAL:
            ch = chr(av)
            if fold and not ch.isascii():
                raise _Unsupported  # folding rules beyond ASCII: do not guess
            run.append(ch.lower() if fold else ch)
            continue
        flush()
        if op is C.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if (add_flags | del_flags) & (re.IGNORECASE | re.LOCALE):
                raise _Unsupported  # a local case flag changes how literals compare
            best = _better(best, _sequence(sub.data, fold))
        elif op is C.BRANCH:
            alternatives = [_sequence(alt.data, fold) for alt in av[1]]
            if all(a is not None for a in alternatives):
                best = _better(best, frozenset().union(*alternatives))  # type: ignore[arg-type]
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = av
            if low >= 1:
                best = _better(best, _sequence(sub.data, fold))
        elif op is getattr(C, "ATOMIC_GROUP", None):
            best = _better(best, _sequence(av.data, fold))
        elif op is C.GROUPREF_EXISTS:
            raise _Unsupported
        # Anything else (classes, any, anchors, lookarounds, back references) requires no literal
        # and ends the run, which only ever makes the requirement weaker, never wrong.
    flush()
    return best
