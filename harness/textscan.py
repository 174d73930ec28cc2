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
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

C: Any
P: Any
_AC: Any
try:  # one pass over a text for many keywords (Aho-Corasick, in Rust); without it, one str.find pass per keyword
    _AC = importlib.import_module("ahocorasick_rs")
except ImportError:  # pragma: no cover - a declared dependency; the passes below find the same lines
    _AC = None
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
        req = _sequence(P.parse(pattern.pattern, pattern.flags).data, fold, fold)
    except (_Unsupported, re.error, AttributeError, TypeError, ValueError, RecursionError):
        return None
    if req is None or min(map(len, req)) < MIN_LITERAL:
        return None
    return req, fold


_lowered: tuple[str, str] = ("", "")  # the last text lower-cased, and its lower case: patterns come in runs
# required_literals by the pattern's identity: lru_cache hashes a Pattern, which hashes its whole compiled
# code (2 us for a large one), and may_match runs some 40 times per file. The entry holds the pattern, so
# its id is not reused while the entry lives.
_BY_ID: dict[int, tuple[re.Pattern[str], tuple[frozenset[str], bool] | None]] = {}
_BY_ID_MAX = 2048


def _literals_of(pattern: re.Pattern[str]) -> tuple[frozenset[str], bool] | None:
    entry = _BY_ID.get(id(pattern))
    if entry is not None and entry[0] is pattern:
        return entry[1]
    found = required_literals(pattern)
    if len(_BY_ID) >= _BY_ID_MAX:
        _BY_ID.clear()  # patterns compiled on the fly: start again rather than grow
    _BY_ID[id(pattern)] = (pattern, found)
    return found


def may_match(pattern: re.Pattern[str], text: str) -> bool:
    """False only when `pattern.search(text)` certainly finds nothing."""
    global _lowered
    found = _literals_of(pattern)
    if found is None:
        return True
    literals, fold = found
    if fold:
        if not text.isascii():
            return True  # re's case-insensitive matching has non-ASCII equivalences casefold() lacks
        last = _lowered  # one read: another thread may replace it meanwhile
        if last[0] is not text:
            last = _lowered = (text, text.lower())
        text = last[1]
    for lit in literals:  # noqa: SIM110 - a plain loop (no generator): this runs for dozens of patterns per file
        if lit in text:
            return True
    return False


@dataclass(frozen=True)
class Group:
    """Patterns tried one after another on the same texts (a collector's list): `may_match_any` rules the
    whole list out with one pass over their literals, instead of a call per pattern."""

    exact: frozenset[str]
    folded: frozenset[str]
    always: bool  # some pattern has no literal prefilter: every text may match

    @classmethod
    def of(cls, patterns: list[re.Pattern[str]]) -> Group:
        exact: set[str] = set()
        folded: set[str] = set()
        for rx in patterns:
            found = required_literals(rx)
            if found is None:
                return cls(frozenset(), frozenset(), True)
            (folded if found[1] else exact).update(found[0])
        return cls(frozenset(exact), frozenset(folded), False)

    def may_match_any(self, text: str) -> bool:
        """False only when no pattern of the group can match anywhere in `text`."""
        if self.always or (self.folded and not text.isascii()):
            return True
        for lit in self.exact:
            if lit in text:
                return True
        if self.folded:
            last = _lowered  # one read: another thread may replace it meanwhile
            low = last[1] if last[0] is text else text.lower()
            for lit in self.folded:
                if lit in low:
                    return True
        return False


def search(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """`pattern.search(text)`, skipping texts the prefilter rules out."""
    return pattern.search(text) if may_match(pattern, text) else None


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The more selective requirement: long literals first, then fewer alternatives."""
    if a is None or b is None:
        return a if b is None else b

    def score(req: frozenset[str]) -> tuple[bool, bool, int, int]:
        shortest = min(map(len, req))  # one too short to filter on loses to any that is not (a lone "_" to FEATURE|FF)
        return (shortest >= 3, shortest >= MIN_LITERAL, -len(req), shortest)

    return a if score(a) >= score(b) else b


def _sequence(items: list[tuple[Any, Any]], fold: bool, ci: bool) -> frozenset[str] | None:
    """Requirement of a concatenation: the best of its literal runs and its parts' requirements.

    `fold`: the literals are compared with the lower-cased text (the whole pattern is case-insensitive);
    `ci`: this part matches case-insensitively (a local `(?i:...)` or `(?-i:...)` group may change it).
    A case-sensitive part's literals, lower-cased, are still in the lower-cased text; a case-insensitive
    part of a case-sensitive pattern has no exact literal and requires nothing.
    """
    best: frozenset[str] | None = None
    run: list[str] = []

    def flush() -> None:
        nonlocal best
        if run:
            best = _better(best, frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is C.LITERAL and (fold or not ci):
            ch = chr(av)
            if fold and not ch.isascii():
                raise _Unsupported  # folding rules beyond ASCII: do not guess
            run.append(ch.lower() if fold else ch)
            continue
        flush()
        if op is C.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if (add_flags | del_flags) & re.LOCALE:
                raise _Unsupported
            inner = bool((ci or add_flags & re.IGNORECASE) and not del_flags & re.IGNORECASE)
            best = _better(best, _sequence(sub.data, fold, inner))
        elif op is C.BRANCH:
            alternatives = [_sequence(alt.data, fold, ci) for alt in av[1]]
            if all(a is not None for a in alternatives):
                best = _better(best, frozenset().union(*alternatives))  # type: ignore[arg-type]
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = av
            if low >= 1:
                best = _better(best, _sequence(sub.data, fold, ci))
        elif op is getattr(C, "ATOMIC_GROUP", None):
            best = _better(best, _sequence(av.data, fold, ci))
        elif op is C.GROUPREF_EXISTS:
            raise _Unsupported
        # Anything else (classes, any, anchors, lookarounds, back references) requires no literal
        # and ends the run, which only ever makes the requirement weaker, never wrong.
    flush()
    return best


# Non-ASCII letters that re's IGNORECASE matches to ASCII ones (ſ ~ s, K ~ k, ı and İ ~ i): a line holding
# one may match a case-insensitive keyword pattern although its lower-cased text contains no keyword.
_FOLDS_TO_ASCII = ("\u017f", "\u212a", "\u0131", "\u0130")


@dataclass(frozen=True)
class Lines:
    """Some lines of a text joined into `text`, remembering where each came from."""

    text: str
    starts: list[int]  # offset in `text` of each kept line
    numbers: list[int]  # its 1-based line number in the original
    origins: list[int]  # its offset in the original

    def index(self, pos: int) -> int:
        """Which kept line holds offset `pos` of `text`."""
        return bisect_right(self.starts, pos) - 1

    def line(self, i: int) -> str:
        end = self.starts[i + 1] - 1 if i + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[i] : end]

    def origin(self, pos: int) -> int:
        """The original offset of offset `pos` of `text`."""
        i = self.index(pos)
        return self.origins[i] + pos - self.starts[i]


def keyword_lines(text: str, keywords: tuple[str, ...], max_line: int) -> Lines:
    """The lines of `text` at most `max_line` long that contain a lower-case keyword (case-insensitively).

    Scanning many patterns over a text costs per character, and in most texts only a few lines hold a
    keyword: scanning those alone is far cheaper and finds the same one-line matches. When lower-casing
    changes the text's length the offsets cannot be trusted, and every line is kept.
    """
    spans: dict[int, int] = {}  # start -> end of each kept line
    if not text.isascii() and any(c in text for c in _LENGTHENS):
        pos = 0
        for line in text.split("\n"):
            if len(line) <= max_line:
                spans[pos] = pos + len(line)
            pos += len(line) + 1
    else:
        # The keywords are ASCII: a keyword in text.lower() is a keyword in the UTF-8 bytes with A-Z lowered
        # (no other letter lowers to ASCII but K and İ, which the non-ASCII words below and _LENGTHENS
        # cover), and lowering bytes is cheaper than lowering a text that is not ASCII.
        ascii_ = text.isascii()
        raw = text.encode("utf-8", "surrogatepass").lower()
        found = _keyword_spans(raw, _encoded(keywords if ascii_ else keywords + _FOLDS_TO_ASCII))
        for start, end in found if ascii_ else _char_spans(raw, found):
            if end - start <= max_line:
                spans[start] = end
    starts, numbers, origins, parts = [], [], [], []
    number, prev, offset = 1, 0, 0
    for start in sorted(spans):
        number += text.count("\n", prev, start)
        prev = start
        starts.append(offset)
        numbers.append(number)
        origins.append(start)
        parts.append(text[start : spans[start]])
        offset += spans[start] - start + 1
    return Lines("\n".join(parts), starts, numbers, origins)


# Letters whose lower case is longer (İ -> i + combining dot): a text holding one keeps every line.
_LENGTHENS = ("\u0130",)
AC_CHUNK = 1 << 16  # bytes per search: bounds the matches listed at once (a text of "://" repeated)


@functools.lru_cache(maxsize=16)
def _encoded(words: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(w.encode("utf-8") for w in words)


@functools.lru_cache(maxsize=16)
def _automaton(words: tuple[bytes, ...]) -> tuple[Any, int]:
    """The words' automaton, and how far a chunk reads on so that no match is cut at its end."""
    return _AC.BytesAhoCorasick(list(words)), max(map(len, words)) - 1


def _keyword_spans(raw: bytes, words: tuple[bytes, ...]) -> list[tuple[int, int]]:
    """(start, end) of each line of `raw` holding one of `words`, in order (offsets in bytes)."""
    n = len(raw)
    if _AC is None:
        spans: dict[int, int] = {}
        for word in words:
            pos = raw.find(word)
            while pos >= 0:
                end = raw.find(b"\n", pos)
                end = n if end < 0 else end
                spans[raw.rfind(b"\n", 0, pos) + 1] = end
                pos = raw.find(word, end)
        return sorted(spans.items())
    # One pass for all the words. A match another one hides (non-overlapping search) overlaps it, so it is
    # on the same line.
    (automaton, overlap), view = _automaton(words), memoryview(raw)
    found: list[tuple[int, int]] = []
    pos = done = 0  # done: the end of the last line found; what precedes it is decided
    while pos < n:
        stop = min(n, pos + AC_CHUNK)
        for _word, at, _end in automaton.find_matches_as_indexes(view[pos : stop + overlap]):
            at += pos
            if at >= stop:
                break  # the next chunk's
            if at < done:
                continue  # on a line already found
            end = raw.find(b"\n", at)
            done = n if end < 0 else end
            found.append((raw.rfind(b"\n", 0, at) + 1, done))
        pos = max(stop, done)  # the rest of a line found holds nothing new
    return found


def holds_keyword(raw: bytes, words: tuple[bytes, ...]) -> bool:
    """Whether `raw` holds one of `words` (one pass for all of them, stopping at the first)."""
    if _AC is None:
        return any(word in raw for word in words)
    (automaton, overlap), view = _automaton(words), memoryview(raw)
    chunks = (view[pos : pos + AC_CHUNK + overlap] for pos in range(0, len(raw), AC_CHUNK))
    return any(automaton.find_matches_as_indexes(chunk) for chunk in chunks)


def _char_spans(raw: bytes, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The same lines in characters: each line's and each gap's bytes are decoded once, in order."""
    out: list[tuple[int, int]] = []
    chars = done = 0
    for start, end in spans:
        chars += len(raw[done:start].decode("utf-8", "surrogatepass"))
        length = len(raw[start:end].decode("utf-8", "surrogatepass"))
        out.append((chars, chars + length))
        chars, done = chars + length, end
    return out
