"""Renders a diff document (harness.diff.compare) as plain text, Markdown or JSON; renders only."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from harness import redact
from harness.reports import view

SHOWN = 20  # per list in text and Markdown; the JSON carries every entry


def _lines(diff: dict[str, Any], item: Callable[[str], str], head: Callable[[str], str]) -> list[str]:
    old, new, crit, fnd = diff["old"], diff["new"], diff["criteria"], diff["findings"]
    out = [
        head("harness diff"),
        item(f"old: {old.get('target')} {old.get('started')} grade {old.get('grade')}"),
        item(f"new: {new.get('target')} {new.get('started')} grade {new.get('grade')}"),
    ]
    if old.get("target") != new.get("target"):
        out.append(item("note: the two runs are of differently named projects"))
    verdict = "REGRESSED" if diff["regressed"] else "no regression"
    if diff["no_longer_met"]:
        verdict += ": no longer met: " + ", ".join(diff["no_longer_met"])
    out.append(item(verdict))

    def section(title: str, entries: list[str]) -> None:
        out.append(head(f"{title} ({len(entries)})"))
        out.extend(item(e) for e in entries[:SHOWN])
        if len(entries) > SHOWN:
            out.append(item(f"… {len(entries) - SHOWN} more (in --format json)"))

    def moved(e: dict[str, Any]) -> str:
        return f"{e['id']}: {view.status_label(e['old'])} -> {view.status_label(e['new'])}"

    section("criteria newly met", [moved(e) for e in crit["newly_met"]])
    section("criteria newly not met", [moved(e) for e in crit["newly_not_met"]])
    section("criteria otherwise changed", [moved(e) for e in crit["changed"]])
    out.append(head(f"criteria unchanged ({len(crit['unchanged'])})"))

    def finding(f: dict[str, Any], outcome: str) -> str:
        where = f" at {', '.join(f['locations'][:2])}" if f.get("locations") else ""
        return f"{f['check_id']} ({view.outcome_label(str(outcome))}): {view.first_line(f.get('reason'))}{where}"

    section("findings new", [finding(f, f["outcome"]) for f in fnd["new"]])
    section("findings resolved", [finding(f, f["outcome"]) for f in fnd["resolved"]])
    section(
        "findings changed",
        [
            f"{c['check_id']}: {view.outcome_label(str(c['old_outcome']))} -> "
            f"{view.outcome_label(str(c['new_outcome']))}: {view.first_line(c.get('new_reason'))}"
            for c in fnd["changed"]
        ],
    )
    return out


def text(diff: dict[str, Any]) -> str:
    diff = view.deep_printable(redact.deep(diff))
    return "\n".join(_lines(diff, lambda s: "  " + s, lambda s: s.upper())) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|!])")


def _md(s: str) -> str:
    """Data shown literally: no markup, links or HTML from a finding's text."""
    return _MD_SPECIAL.sub(r"\\\1", s)


def markdown(diff: dict[str, Any]) -> str:
    diff = view.deep_printable(redact.deep(diff))
    return "\n".join(_lines(diff, lambda s: "- " + _md(s), lambda s: "\n## " + _md(s))).lstrip() + "\n"


def as_json(diff: dict[str, Any]) -> str:
    return json.dumps(redact.deep(diff), indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {"terminal": text, "markdown": markdown, "json": as_json}
