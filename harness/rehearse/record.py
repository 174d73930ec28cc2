"""The rehearsal file: the run document (so `harness diff` compares two rehearsals) plus a `rehearsal`
section: each step's timing and outcome, the delivery figures measured, the 16 questions and the answers noted.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from harness import fsutil, redact

SCHEMA = "harness-rehearsal/1"
PREFIX = "rehearsal-"
# The figures the practical is about, in the order they are shown; any other measured figure follows.
KEY_FIGURES = ("live_lead_time", "detect_time", "restore_time")


def figures(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every delivery figure the run measured (evidence with a `metric` key), the practical's own first."""
    out = []
    for check in doc.get("checks", []):
        for f in check.get("findings", []):
            for ev in f.get("evidence", []):
                data = ev.get("data") or {}
                if data.get("metric") and "seconds" in data:
                    out.append(
                        {
                            "metric": data["metric"],
                            "check_id": check.get("id"),
                            "seconds": data["seconds"],
                            "band": data.get("band", ""),
                            "definition": data.get("definition", ""),
                            "shown": _shown(ev.get("summary", "")),
                        }
                    )
    rank = {k: i for i, k in enumerate(KEY_FIGURES)}
    return sorted(out, key=lambda m: rank.get(m["metric"], len(rank)))


def _shown(summary: str) -> str:
    """'value [band]' without the definition that follows it."""
    cut = summary.find("] (")
    return summary[: cut + 1] if cut >= 0 else summary


def attach(
    doc: dict[str, Any], steps: list[dict[str, Any]], answers: list[dict[str, Any]], started: str, finished: str
) -> dict[str, Any]:
    """The run document with its `rehearsal` section (masked again: answers are typed by a person)."""
    found = {m["metric"] for m in figures(doc)}
    doc["rehearsal"] = {
        "schema": SCHEMA,
        "started": started,
        "finished": finished,
        "steps": steps,
        "figures": figures(doc),
        "not_measured": [k for k in KEY_FIGURES if k not in found],
        "questions": answers,
    }
    return dict(redact.deep(doc))


def file_name(started: str) -> str:
    stamp = dt.datetime.fromisoformat(started).strftime("%Y%m%dT%H%M%SZ")
    return f"{PREFIX}{stamp}.json"


def latest(out: Path) -> Path | None:
    """The newest rehearsal file in `out`, if any."""
    found = sorted(out.glob(f"{PREFIX}*.json"), key=lambda p: (p.stat().st_mtime, p.name)) if out.is_dir() else []
    return found[-1] if found else None


def write(out: Path, doc: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / file_name(doc["rehearsal"]["started"])
    n = 1
    while path.exists():  # two rehearsals started in one second keep both files
        n += 1
        path = out / file_name(doc["rehearsal"]["started"]).replace(".json", f"-{n}.json")
    fsutil.write_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return path
