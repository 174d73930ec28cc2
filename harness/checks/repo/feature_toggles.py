"""repo.feature-toggles: the code at HEAD uses feature toggles (S20).

Looks for flag libraries (LaunchDarkly, Unleash, Flagsmith, django-waffle,
OpenFeature, GrowthBook, ConfigCat, Split), environment-variable flags such as
FEATURE_* read by the code, and a committed flags/features configuration file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from harness import textscan
from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import repository
from harness.probes.repository import RepoFile

ID = "repo.feature-toggles"
MAX_HITS = 20
MAX_SCAN_BYTES = 500_000  # per file: toggles live in source and config, not in huge data files
CODE_SUFFIXES = {
    ".py", ".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".go", ".java", ".kt", ".cs", ".rb", ".php", ".rs",
    ".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".env", ".tf", ".properties", ".sh",
}  # fmt: skip
MANIFESTS = {"requirements.txt", "pyproject.toml", "package.json", "Pipfile", "go.mod", "pom.xml", "build.gradle"}
LOCKFILES = {"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Pipfile.lock", "uv.lock"}

LIBRARIES = re.compile(
    r"(?i)\b(launchdarkly|ldclient|unleash(?:client)?|flagsmith|django[-_]waffle|waffle\.(?:flag|switch|sample)_is_active"
    r"|openfeature|growthbook|configcat|splitio|split[-_]?io|flipper|featureflags?\.(?:is_?enabled|enabled))\b"
)
# FEATURE_X, FF_X, TOGGLE_X are flags wherever they appear; ENABLE_X, X_ENABLED, X_FLAG only when read from
# the environment or settings on the same line (they are too common as plain constants).
STRONG_FLAG = re.compile(r"\b(?:FEATURE|FF|TOGGLE)_[A-Z0-9_]{2,}\b")
WEAK_FLAG = re.compile(r"\b(?:(?:ENABLE|DISABLE|FLAG)_[A-Z0-9_]{2,}|[A-Z0-9_]+_(?:ENABLED|FEATURE|FLAG|TOGGLE))\b")
ENV_READ = re.compile(r"getenv|environ|process\.env|ENV\[|System\.getenv|env::var|os\.LookupEnv|config\(|settings\.")
FLAG_FILE = re.compile(
    r"(?i)^(feature[-_]?flags?|features?|flags|toggles|feature[-_]?toggles)\.(ya?ml|json|toml|ini|env)$"
)


_ANY_FLAG = textscan.Group.of([LIBRARIES, STRONG_FLAG, WEAK_FLAG])  # one literal pass rules most files out


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    kind: str  # library | env-flag | flag-file
    text: str


def scan(repo: repository.RepoSnapshot, files: list[RepoFile], limit: int = MAX_HITS) -> list[Hit]:
    hits: list[Hit] = []
    for f in files:
        if FLAG_FILE.match(f.name):
            hits.append(Hit(f.path, 1, "flag-file", f"flags configuration file {f.name}"))
    for f, text in repo.texts(files):
        # Whole-text searches first (none of these patterns is anchored): most files mention no flag at all.
        if not _ANY_FLAG.may_match_any(text) or not (
            textscan.search(LIBRARIES, text) or STRONG_FLAG.search(text) or WEAK_FLAG.search(text)
        ):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if len(hits) >= limit:
                return hits
            if len(line) > 2000:
                continue
            if LIBRARIES.search(line):
                hits.append(Hit(f.path, n, "library", line.strip()[:200]))
            elif STRONG_FLAG.search(line) or (WEAK_FLAG.search(line) and ENV_READ.search(line)):
                hits.append(Hit(f.path, n, "env-flag", line.strip()[:200]))
    return hits


def candidates(repo: repository.RepoSnapshot) -> list[RepoFile]:
    def wanted(f: RepoFile) -> bool:
        # The project's own code: not installed packages, build output or a committed Jenkins home.
        if repo.vendored(f.path) or f.name in LOCKFILES or f.size > MAX_SCAN_BYTES:
            return False
        return f.suffix in CODE_SUFFIXES or f.name in MANIFESTS or f.name.startswith(".env") or f.name == "Dockerfile"

    return repo.where(wanted)


@check(
    ID,
    title="Feature toggles are used in the code",
    failure_title="No feature toggles found in the code",
    proves="Unfinished work can be merged early and switched on later, keeping branches short (CQ-1, S20).",
    remediation=(
        "Put new behaviour behind a feature toggle (an environment variable such as FEATURE_X read by the code, "
        "or a flag library such as OpenFeature or Unleash) so that it can be merged before it is switched on."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    if not repo.is_git:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "not a git repository: no committed code to read")
        return
    if repo.head is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "the repository has no commits yet")
        return
    hits = scan(repo, candidates(repo))
    evidence = [
        Evidence(
            kind="file",
            summary=f"{h.kind}: {h.path}:{h.line}",
            path=h.path,
            start_line=h.line,
            end_line=h.line,
            commit=repo.head,
            excerpt=h.text,
        )
        for h in hits
    ]
    if not hits:
        yield finding(
            ID,
            Outcome.WARN,
            "no feature toggle found at HEAD (no flag library, FEATURE_* variable or flags file); "
            "S20 is one of many KSBs, so this is a warning",
            [
                Evidence(
                    kind="note", summary=f"searched {len(candidates(repo))} source and config files", commit=repo.head
                )
            ],
        )
        return
    kinds = sorted({h.kind for h in hits})
    files = sorted({h.path for h in hits})
    yield finding(
        ID,
        Outcome.PASS,
        f"{len(hits)} feature toggle reference(s) ({', '.join(kinds)}) in {len(files)} file(s), e.g. "
        f"{hits[0].path}:{hits[0].line}",
        evidence,
    )
