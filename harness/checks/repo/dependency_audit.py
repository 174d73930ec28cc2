"""repo.dependency-audit: pinned dependencies matched against an offline advisory file.

A vulnerability audit needs advisories. harness never calls out from a repository
check, so without `repository.advisory_file` (--advisory-file) the audit could not
be done, which is never a pass. The file format is in docs/advisory-file.md.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import repository
from harness.probes.repository import RepoSnapshot

ID = "repo.dependency-audit"
MAX_ADVISORY_BYTES = 50_000_000
REQ_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(==|===)\s*([A-Za-z0-9.+!_-]+)")
REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
ECOSYSTEMS = {"pypi": "PyPI", "npm": "npm"}


@dataclass
class Dep:
    name: str
    version: str | None  # None: not pinned
    ecosystem: str
    path: str
    line: int


@dataclass
class Advisory:
    id: str
    package: str
    ecosystem: str
    severity: str = ""
    fix: str = ""
    summary: str = ""
    specs: list[SpecifierSet] = field(default_factory=list)
    ranges: list[tuple[str | None, str | None]] = field(default_factory=list)  # OSV [introduced, fixed)
    versions: set[str] = field(default_factory=set)

    def affects(self, version: str) -> bool:
        if version in self.versions:
            return True
        try:
            v = Version(version)
        except InvalidVersion:
            return False
        if any(v in s for s in self.specs):
            return True
        for lo, hi in self.ranges:
            try:
                if (lo in (None, "0") or v >= Version(lo)) and (hi is None or v < Version(hi)):
                    return True
            except InvalidVersion:
                continue
        return False


@check(
    ID,
    title="No pinned dependency has a known vulnerability",
    failure_title="Pinned dependencies have known vulnerabilities",
    proves=(
        "Every dependency the service ships was checked against vulnerability advisories, and none of the pinned "
        "versions is affected (CQ-2)."
    ),
    remediation="Upgrade each affected dependency to a fixed version and pin it.",
    source="repository",
    timeout=120,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    if repo.is_git and repo.head is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "the repository has no commits yet")
        return
    deps, manifests = _dependencies(repo)
    if not manifests:
        yield finding(
            ID,
            Outcome.NOT_APPLICABLE,
            "no dependency manifest (requirements*.txt, pyproject.toml, poetry.lock, package-lock.json, package.json)",
        )
        return
    raw = ctx.config.repository.advisory_file
    if not raw:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"advisory service not reachable / offline: {len(deps)} dependencies in {', '.join(manifests)} "
            "were not audited; pass --advisory-file",
            remediation="Run with --advisory-file FILE (see docs/advisory-file.md), or run pip-audit/npm audit in CI.",
        )
        return
    path = ctx.config.resolve(raw)
    try:
        advisories = load_advisories(path)
    except (OSError, ValueError) as exc:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"advisory file {path} cannot be used: {exc}",
            remediation="Fix the advisory file (format: docs/advisory-file.md).",
        )
        return
    index: dict[tuple[str, str], list[Advisory]] = {}
    for adv in advisories:
        index.setdefault((adv.ecosystem, _norm(adv.package, adv.ecosystem)), []).append(adv)
    vulnerable = 0
    for dep in deps:
        if dep.version is None:
            continue
        for adv in index.get((dep.ecosystem, _norm(dep.name, dep.ecosystem)), []):
            if adv.affects(dep.version):
                vulnerable += 1
                fix = f"; fixed in {adv.fix}" if adv.fix else ""
                yield finding(
                    ID,
                    Outcome.FAIL,
                    f"{dep.path}:{dep.line}: {dep.name} {dep.version} is affected by {adv.id}"
                    f"{f' ({adv.severity})' if adv.severity else ''}{fix}",
                    [_pin(repo, dep, f"{adv.id}: {adv.summary}"[:200])],
                    remediation=f"Upgrade {dep.name} to {adv.fix or 'a fixed version'} and pin it.",
                    subject=f"{dep.path}:{dep.line}",
                )
    loose = [d for d in deps if d.version is None]
    for dep in loose[:20]:
        yield finding(
            ID,
            Outcome.WARN,
            f"{dep.path}:{dep.line}: {dep.name} is not pinned to one version, so it cannot be audited",
            [_pin(repo, dep, "unpinned dependency")],
            remediation=f"Pin {dep.name} (a lock file or `==`) so that the audited version is the one shipped.",
            subject=f"{dep.path}:{dep.line}",
        )
    pinned = len(deps) - len(loose)
    if not vulnerable:
        yield finding(
            ID,
            Outcome.PASS,
            f"{pinned} pinned dependencies in {', '.join(manifests)} match none of the {len(advisories)} advisories "
            f"in {path.name}",
            [Evidence(kind="note", summary=f"advisory file {path}", data={"advisories": len(advisories)})],
        )


def _norm(name: str, ecosystem: str) -> str:
    return canonicalize_name(name) if ecosystem == "PyPI" else name.lower()


def _pin(repo: RepoSnapshot, dep: Dep, summary: str) -> Evidence:
    text = repo.read_text(dep.path) or ""
    lines = text.splitlines()
    excerpt = lines[dep.line - 1] if 0 < dep.line <= len(lines) else None
    return Evidence(
        kind="file",
        summary=summary,
        path=dep.path,
        start_line=dep.line,
        end_line=dep.line,
        commit=repo.head,
        excerpt=excerpt,
    )


# -- manifests ----------------------------------------------------------------
def _dependencies(repo: RepoSnapshot) -> tuple[list[Dep], list[str]]:
    deps: list[Dep] = []
    manifests: list[str] = []
    skip = ("node_modules/", ".venv/", "venv/")
    for f in repo.files:
        if any(part in f"/{f.path}" for part in ("/node_modules/", "/.venv/", "/venv/")) or f.path.startswith(skip):
            continue
        name = f.name
        text = None
        if re.fullmatch(r"requirements.*\.(txt|in)", name):
            text = repo.read_text(f.path)
            if text is not None:
                deps += _requirements(f.path, text)
        elif name == "pyproject.toml":
            text = repo.read_text(f.path)
            if text is not None:
                deps += _pyproject(f.path, text)
        elif name == "poetry.lock":
            text = repo.read_text(f.path)
            if text is not None:
                deps += _poetry_lock(f.path, text)
        elif name == "package-lock.json":
            text = repo.read_text(f.path)
            if text is not None:
                deps += _package_lock(f.path, text)
        elif name == "package.json" and not repo.exists(str(Path(f.path).with_name("package-lock.json"))):
            text = repo.read_text(f.path)
            if text is not None:
                deps += _package_json(f.path, text)
        if text is not None:
            manifests.append(f.path)
    return deps, manifests


def _requirements(path: str, text: str) -> list[Dep]:
    out = []
    for no, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(("-", "git+", "http")):
            continue
        m = REQ_LINE.match(line)
        if m:
            out.append(Dep(m.group(1), m.group(4), "PyPI", path, no))
        elif (n := REQ_NAME.match(line)) is not None:
            out.append(Dep(n.group(1), None, "PyPI", path, no))
    return out


def _pyproject(path: str, text: str) -> list[Dep]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    specs = doc.get("project", {}).get("dependencies", []) if isinstance(doc.get("project"), dict) else []
    lines = text.splitlines()
    out = []
    for spec in specs if isinstance(specs, list) else []:
        if not isinstance(spec, str):
            continue
        no = next((i for i, ln in enumerate(lines, 1) if spec in ln), 1)
        m = REQ_LINE.match(spec)
        n = REQ_NAME.match(spec)
        if m:
            out.append(Dep(m.group(1), m.group(4), "PyPI", path, no))
        elif n:
            out.append(Dep(n.group(1), None, "PyPI", path, no))
    return out


def _poetry_lock(path: str, text: str) -> list[Dep]:
    out = []
    name: str | None = None
    for no, line in enumerate(text.splitlines(), 1):
        if line.startswith("[[package]]"):
            name = None
        elif line.startswith("name = "):
            name = line.split("=", 1)[1].strip().strip('"')
        elif line.startswith("version = ") and name:
            out.append(Dep(name, line.split("=", 1)[1].strip().strip('"'), "PyPI", path, no))
            name = None
    return out


def _package_lock(path: str, text: str) -> list[Dep]:
    try:
        doc = json.loads(text)
    except ValueError:
        return []
    lines = text.splitlines()
    out = []
    packages = doc.get("packages") if isinstance(doc, dict) else None
    if isinstance(packages, dict):
        for key, meta in packages.items():
            if not key or not isinstance(meta, dict) or "version" not in meta:
                continue
            no = next((i for i, ln in enumerate(lines, 1) if f'"{key}"' in ln), 1)
            out.append(Dep(key.rsplit("node_modules/", 1)[-1], str(meta["version"]), "npm", path, no))
    return out


def _package_json(path: str, text: str) -> list[Dep]:
    try:
        doc = json.loads(text)
    except ValueError:
        return []
    lines = text.splitlines()
    out = []
    for section in ("dependencies",):
        for name, spec in (doc.get(section) or {}).items() if isinstance(doc, dict) else []:
            no = next((i for i, ln in enumerate(lines, 1) if f'"{name}"' in ln), 1)
            exact = re.fullmatch(r"\d+\.\d+\.\d+\S*", str(spec))
            out.append(Dep(name, str(spec) if exact else None, "npm", path, no))
    return out


# -- advisories ---------------------------------------------------------------
def load_advisories(path: Path) -> list[Advisory]:
    if path.stat().st_size > MAX_ADVISORY_BYTES:
        raise ValueError(f"larger than {MAX_ADVISORY_BYTES} bytes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text: {exc}") from None
    if isinstance(data, dict):
        data = data.get("advisories") or data.get("vulns") or ([data] if "affected" in data else [])
    if not isinstance(data, list):
        raise ValueError('expected a list of advisories (or {"advisories": [...]})')
    out: list[Advisory] = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ValueError(f"entry {i} is not an object")
        out += _osv(entry) if "affected" in entry else [_simple(entry, i)]
    return out


def _simple(entry: dict[str, Any], i: int) -> Advisory:
    for key in ("id", "package"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ValueError(f"entry {i}: `{key}` must be a non-empty string")
    eco = ECOSYSTEMS.get(str(entry.get("ecosystem", "PyPI")).lower(), str(entry.get("ecosystem", "PyPI")))
    adv = Advisory(
        entry["id"],
        entry["package"],
        eco,
        str(entry.get("severity", "")),
        str(entry.get("fix", "")),
        str(entry.get("summary", "")),
    )
    vulnerable = entry.get("vulnerable", [])
    for spec in [vulnerable] if isinstance(vulnerable, str) else vulnerable:
        try:
            adv.specs.append(SpecifierSet(str(spec)))
        except InvalidSpecifier:
            raise ValueError(f"entry {i}: invalid version range {spec!r}") from None
    adv.versions = {str(v) for v in entry.get("versions", [])}
    if not adv.specs and not adv.versions:
        raise ValueError(f"entry {i} ({adv.id}): needs `vulnerable` ranges or `versions`")
    return adv


def _osv(entry: dict[str, Any]) -> list[Advisory]:
    out = []
    sev = ""
    db = entry.get("database_specific")
    if isinstance(db, dict):
        sev = str(db.get("severity", ""))
    for aff in entry.get("affected") or []:
        pkg = aff.get("package") or {}
        adv = Advisory(
            str(entry.get("id", "?")),
            str(pkg.get("name", "")),
            ECOSYSTEMS.get(str(pkg.get("ecosystem", "")).lower(), str(pkg.get("ecosystem", ""))),
            sev,
            summary=str(entry.get("summary", "")),
        )
        adv.versions = {str(v) for v in aff.get("versions") or []}
        for rng in aff.get("ranges") or []:
            if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            lo: str | None = None
            for ev in rng.get("events") or []:
                if "introduced" in ev:
                    lo = str(ev["introduced"])
                elif "fixed" in ev:
                    adv.ranges.append((lo, str(ev["fixed"])))
                    adv.fix = adv.fix or str(ev["fixed"])
                    lo = None
                elif "last_affected" in ev:
                    adv.versions.add(str(ev["last_affected"]))
            if lo is not None:
                adv.ranges.append((lo, None))
        out.append(adv)
    return out
