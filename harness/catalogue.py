"""The AM1 criteria catalogue: versioned data mapping criteria to checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from harness import yamlsafe

SUPPORTED_SCHEMA = 1
LEVELS = ("pass", "distinction", "prerequisite")  # prerequisite: submission requirements, not graded
ASSESSMENTS = ("automated", "mixed", "assessor")
EVIDENCE_SOURCES = ("repository", "live", "assessor")


class CatalogueError(Exception):
    pass


@dataclass(frozen=True)
class Theme:
    id: str
    name: str


@dataclass(frozen=True)
class Criterion:
    id: str
    theme: str
    level: str
    ksbs: tuple[str, ...]
    text: str
    assessment: str
    evidenced_by: tuple[str, ...]
    checks: tuple[str, ...]
    look_at: str
    questions: tuple[str, ...]
    # Checks whose findings are attached as evidence but never graded: they neither meet nor hold back.
    evidence_only: tuple[str, ...] = ()

    @property
    def decided_by_assessor(self) -> bool:
        return self.assessment == "assessor"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "theme": self.theme,
            "level": self.level,
            "ksbs": list(self.ksbs),
            "text": self.text,
            "assessment": self.assessment,
            "evidenced_by": list(self.evidenced_by),
            "checks": list(self.checks),
            "look_at": self.look_at,
            "questions": list(self.questions),
        } | ({"evidence_only": list(self.evidence_only)} if self.evidence_only else {})


@dataclass(frozen=True)
class Catalogue:
    schema_version: int
    version: str
    standard: str
    source: str
    themes: tuple[Theme, ...]
    criteria: tuple[Criterion, ...]
    _by_id: dict[str, Criterion] = field(default_factory=dict, compare=False, repr=False)

    def criterion(self, cid: str) -> Criterion:
        return self._by_id[cid]

    def theme_name(self, tid: str) -> str:
        return next((t.name for t in self.themes if t.id == tid), tid)

    def check_ids(self) -> set[str]:
        return {c for crit in self.criteria for c in crit.checks + crit.evidence_only}

    def criteria_for(self, check_id: str) -> list[Criterion]:
        return [c for c in self.criteria if check_id in c.checks + c.evidence_only]


def parse(raw: Any) -> Catalogue:
    if not isinstance(raw, dict):
        raise CatalogueError("catalogue: top level must be a mapping")
    if raw.get("schema_version") != SUPPORTED_SCHEMA:
        raise CatalogueError(f"catalogue: unsupported schema_version {raw.get('schema_version')!r}")
    themes = tuple(Theme(id=t["id"], name=t["name"]) for t in raw["themes"])
    theme_ids = {t.id for t in themes}
    criteria = []
    seen: set[str] = set()
    for entry in raw["criteria"]:
        cid = entry["id"]
        if cid in seen:
            raise CatalogueError(f"catalogue: duplicate criterion {cid}")
        seen.add(cid)
        if entry["theme"] not in theme_ids:
            raise CatalogueError(f"catalogue: {cid} has unknown theme {entry['theme']}")
        if entry["level"] not in LEVELS or entry["assessment"] not in ASSESSMENTS:
            raise CatalogueError(f"catalogue: {cid} has a bad level or assessment")
        if not set(entry["evidenced_by"]) <= set(EVIDENCE_SOURCES):
            raise CatalogueError(f"catalogue: {cid} has a bad evidenced_by")
        if entry["assessment"] != "assessor" and not entry["checks"]:
            raise CatalogueError(f"catalogue: {cid} is not an assessor item but maps no check")
        criteria.append(
            Criterion(
                id=cid,
                theme=entry["theme"],
                level=entry["level"],
                ksbs=tuple(entry["ksbs"]),
                text=" ".join(entry["text"].split()),
                assessment=entry["assessment"],
                evidenced_by=tuple(entry["evidenced_by"]),
                checks=tuple(entry["checks"]),
                look_at=" ".join(entry.get("look_at", "").split()),
                questions=tuple(entry.get("questions", [])),
                evidence_only=tuple(entry.get("evidence_only", [])),
            )
        )
    cat = Catalogue(
        schema_version=raw["schema_version"],
        version=str(raw["catalogue_version"]),
        standard=raw["standard"],
        source=raw["source"],
        themes=themes,
        criteria=tuple(criteria),
    )
    cat._by_id.update({c.id: c for c in criteria})
    return cat


_CACHE: list[Catalogue] = []


def load() -> Catalogue:
    if not _CACHE:
        text = resources.files("harness.data").joinpath("catalogue.yaml").read_text(encoding="utf-8")
        # harness's own file, read every run: libyaml where PyYAML has it (0.06 -> 0.007 s of start-up)
        _CACHE.append(parse(yamlsafe.load(text, loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))))
    return _CACHE[0]
