"""What the assessor's evidence pack adds to a run document: the verified commit, the submission
requirements (prerequisites of the grade), whether each KSB the analysis names is backed by a
finding, and the 16 questions (two per AM1 theme, chosen from the catalogue and written against
this run's findings). Deterministic for the same run: no clock, no randomness.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness import redact
from harness.probes import gitcmd

AM1_THEMES = ("CQ", "UN", "CI", "RP", "OP", "DP", "AU", "DS")
PER_THEME = 2
KEY_EVIDENCE_CHARS = 170  # one printed line or two: the full evidence is in the HTML report
# Gaps first, then what only the assessor can decide, then what could not be checked, then the rest.
PRIORITY = {"not_met": 0, "assessor": 1, "undetermined": 2, "out_of_scope": 3, "met": 4}
_USERINFO = re.compile(r"(://)[^/@\s]*@")


def git_target(repo: Path) -> dict[str, str]:
    """Commit, branch and remote of the verified folder ('' when unknown); a remote's credentials are dropped."""

    def git(*args: str) -> str:
        try:
            return gitcmd.run(repo, list(args), timeout=10, check=True).decode("utf-8", "replace").strip()
        except (gitcmd.GitError, OSError):
            return ""

    top = gitcmd.toplevel(repo)
    if top is None or top.resolve() != repo.resolve():  # as the repository probe: a plain folder has no commit
        return {"commit": "", "branch": "", "remote": ""}
    remote = git("config", "--get", "remote.origin.url")
    return {
        "commit": git("rev-parse", "--verify", "-q", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "remote": _USERINFO.sub(r"\1", remote),
    }


def _findings(doc: dict[str, Any], check_id: str) -> list[dict[str, Any]]:
    return [f for c in doc.get("checks", []) if c.get("id") == check_id for f in c.get("findings", [])]


def prerequisites(doc: dict[str, Any]) -> dict[str, Any]:
    """The submission requirements' statuses; the submission is incomplete when one is not met."""
    rows = [c for c in doc.get("criteria", []) if c.get("level") == "prerequisite"]
    missing = [c["id"] for c in rows if c.get("status") not in ("met", "out_of_scope")]
    return {
        "complete": not missing,
        "missing": missing,
        "summary": "submission complete" if not missing else f"Submission incomplete: {', '.join(missing)} not met",
    }


def ksb_backing(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """For each KSB the analysis names: the criteria naming it that a passing finding backs."""
    named: list[str] = []
    for f in _findings(doc, "repo.technical-analysis"):
        for e in f.get("evidence", [])[:1]:
            named = list(e.get("data", {}).get("ksbs", []))
    passing = {c.get("id") for c in doc.get("checks", []) if any(f["outcome"] == "pass" for f in c.get("findings", []))}
    out = []
    for ksb in named:
        crits = [c for c in doc.get("criteria", []) if ksb in c.get("ksbs", [])]
        backed = [c["id"] for c in crits if c.get("status") == "met" or set(c.get("checks", [])) & passing]
        out.append({"ksb": ksb, "backed_by": backed, "criteria": [c["id"] for c in crits]})
    return out


def _key_evidence(doc: dict[str, Any], crit: dict[str, Any]) -> str:
    """The one line an assessor reads first: what holds it back, else the first mapped finding's reason."""
    held = crit.get("held_back_by") or []
    if held:
        h = held[0]
        return f"{h['check_id']}: {h['reason']}"
    for cid in crit.get("checks", []):
        for f in _findings(doc, cid):
            return f"{cid}: {f['reason']}"
    return crit.get("look_at", "")


def key_evidence(doc: dict[str, Any], crit: dict[str, Any]) -> str:
    return one_line(redact.text(_key_evidence(doc, crit)), KEY_EVIDENCE_CHARS)


def one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def questions(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Two per AM1 theme: the catalogue's questions of the theme's criteria, gaps and the assessor's
    criteria first, each citing the evidence it is about."""
    out: list[dict[str, Any]] = []
    by_theme: dict[str, list[dict[str, Any]]] = {}
    for crit in doc.get("criteria", []):
        by_theme.setdefault(crit.get("theme", ""), []).append(crit)
    for theme in AM1_THEMES:
        crits = sorted(by_theme.get(theme, []), key=lambda c: (PRIORITY.get(c.get("status", ""), 9), c["id"]))
        pool = [(c, q) for c in crits for q in c.get("questions", [])]
        # One question from each of the first criteria before a second from any of them.
        firsts = [(c, qs[0]) for c in crits if (qs := c.get("questions", []))]
        ordered = firsts + [p for p in pool if p not in firsts]
        for crit, text in ordered[:PER_THEME]:
            status = crit.get("status", "")
            out.append(
                {
                    "theme": theme,
                    "criterion": crit["id"],
                    "status": status,
                    "question": text,
                    "about": key_evidence(doc, crit),
                }
            )
    return out


def build(doc: dict[str, Any], repo: Path) -> dict[str, Any]:
    return {"target": git_target(repo)} | from_doc(doc)


def from_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """Everything but the git target, from the run document alone (a run saved before the evidence pack)."""
    return {"prerequisites": prerequisites(doc), "ksbs": ksb_backing(doc), "questions": questions(doc)}
