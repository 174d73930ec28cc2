"""Whether a job or step condition lets it run on a given trigger (push, pull_request, schedule...).

Conditions are evaluated in three values: only comparisons of the event name (`github.event_name`,
GitLab's `$CI_PIPELINE_SOURCE`, Azure's `variables['Build.Reason']`) are known; anything else (branch,
actor, success()) is unknown, and an unknown condition may run. So `if: github.event_name != 'schedule'`
keeps a job out of scheduled runs, while `if: github.ref == 'refs/heads/main'` keeps it in.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Names the event is known by in each syntax, and the value each trigger has there.
EVENT_VARS = re.compile(
    r"^(github|gitea|forgejo)\.event_name$|^\$?CI_PIPELINE_SOURCE$|^\$?\{?CI_PIPELINE_SOURCE\}?$"
    r"|^pipeline\.trigger_source$|^\$?TRAVIS_EVENT_TYPE$|^env\.GITHUB_EVENT_NAME$|^variables\[['\"]Build\.Reason['\"]\]$|^variables\.Build\.Reason$|^Build\.Reason$",
    re.I,
)
VALUES = {
    "merge_request": {"merge_request_event", "merge_request"},
    "pull_request": {"pull_request", "pullrequest", "merge_request_event"},
    "push": {"push", "individualci", "batchedci", "webhook"},
    "schedule": {"schedule", "schedules", "cron", "scheduled_pipeline"},
}
TOKEN = re.compile(
    r"\s*(variables\[['\"][^'\"]+['\"]\]|\$\{\{|\}\}|&&|\|\||==|!=|!|\(|\)|,|'[^']*'|\"[^\"]*\"|[^\s()!,=&|'\"]+)"
)

Tri = bool | None  # True, False or unknown


def _is(value: str, event: str) -> bool:
    value = value.lower()
    return value == event.lower() or value in VALUES.get(event, set())


@lru_cache(maxsize=4096)
def may_run(condition: str, event: str) -> bool:
    """False only when the condition surely keeps the job (or step) from running on `event`."""
    if not condition.strip():
        return True
    try:
        tokens = [t for t in TOKEN.findall(condition) if t not in ("${{", "}}")]
        value, _ = _expr(tokens, 0, event)
    except (IndexError, ValueError, RecursionError):
        return True
    return value is not False


def _expr(tokens: list[str], i: int, event: str) -> tuple[Tri, int]:
    left, i = _and(tokens, i, event)
    while i < len(tokens) and tokens[i] == "||":
        right, i = _and(tokens, i + 1, event)
        left = True if True in (left, right) else (None if None in (left, right) else False)
    return left, i


def _and(tokens: list[str], i: int, event: str) -> tuple[Tri, int]:
    left, i = _unary(tokens, i, event)
    while i < len(tokens) and tokens[i] == "&&":
        right, i = _unary(tokens, i + 1, event)
        left = False if False in (left, right) else (None if None in (left, right) else True)
    return left, i


def _unary(tokens: list[str], i: int, event: str) -> tuple[Tri, int]:
    if tokens[i] == "!":
        value, i = _unary(tokens, i + 1, event)
        return (None if value is None else not value), i
    return _comparison(tokens, i, event)


def _comparison(tokens: list[str], i: int, event: str) -> tuple[Tri, int]:
    left, i, lval = _atom(tokens, i, event)
    if i < len(tokens) and tokens[i] in ("==", "!="):
        op = tokens[i]
        _, i, rval = _atom(tokens, i + 1, event)
        known = _known(lval, rval, event)
        return (None if known is None else known if op == "==" else not known), i
    return left, i


def _known(a: str, b: str, event: str) -> Tri:
    """`event-variable == 'literal'` (either order), else unknown."""
    for var, lit in ((a, b), (b, a)):
        if EVENT_VARS.match(var) and lit[:1] in ("'", '"'):
            return _is(lit[1:-1], event)
    return None


def _atom(tokens: list[str], i: int, event: str) -> tuple[Tri, int, str]:
    tok = tokens[i]
    if tok == "(":
        value, i = _expr(tokens, i + 1, event)
        return value, i + 1, ""
    if i + 1 < len(tokens) and tokens[i + 1] == "(":  # a function call: Azure's eq/ne/and/or/not, or unknown
        return _call(tok.lower(), tokens, i + 2, event)
    if tok.lower() in ("true", "false"):
        return tok.lower() == "true", i + 1, tok
    return None, i + 1, tok


def _call(name: str, tokens: list[str], i: int, event: str) -> tuple[Tri, int, str]:
    args: list[tuple[Tri, str]] = []
    while tokens[i] != ")":
        value, i, raw = _atom_or_expr(tokens, i, event)
        args.append((value, raw))
        if tokens[i] == ",":
            i += 1
    i += 1
    values = [v for v, _ in args]
    if name in ("eq", "ne") and len(args) == 2:
        known = _known(args[0][1], args[1][1], event)
        return (None if known is None else known if name == "eq" else not known), i, ""
    if name == "in" and len(args) >= 2:
        hits = [_known(args[0][1], raw, event) for _, raw in args[1:]]
        return (True if True in hits else None if None in hits else False), i, ""
    if name == "and":
        return (False if False in values else None if None in values else True), i, ""
    if name == "or":
        return (True if True in values else None if None in values else False), i, ""
    if name == "not" and len(values) == 1:
        return (None if values[0] is None else not values[0]), i, ""
    return None, i, ""


def _atom_or_expr(tokens: list[str], i: int, event: str) -> tuple[Tri, int, str]:
    start = i
    value, i = _expr(tokens, i, event)
    return value, i, tokens[start] if i == start + 1 else ""
