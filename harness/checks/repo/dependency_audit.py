"""repo.dependency-audit: pinned dependencies matched against vulnerability advisories.

A vulnerability audit needs advisories. By default harness never calls out from a
repository check, so without `repository.advisory_file` (--advisory-file) the audit
could not be done, which is never a pass. `repository.online_audit` (--online-audit)
opts in to running pip-audit against its online service for the Python pins.
The file format and the online option are in docs/advisory-file.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from harness import sandbox
from harness.checks.base import check, finding
from harness.checks.repo.osv_ranges import OsvRange
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import repository
from harness.probes.repository import RepoSnapshot

ID = "repo.dependency-audit"
MAX_ADVISORY_BYTES = 50_000_000
REQ_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(==|===)\s*([A-Za-z0-9.+!_-]+)")
REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
ECOSYSTEMS = {"pypi": "PyPI", "npm": "npm"}
PIP_AUDIT_BUDGET = 120.0  # seconds for all pip-audit runs together
# Extra pip-audit arguments choosing the service; empty: its default, the PyPI JSON API. Tests point
# this at a fake OSV server on loopback.
SERVICE_ARGS: list[str] = []


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
    ranges: list[OsvRange] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)

    def affects(self, version: str) -> bool:
        if version in self.versions or any(r.affects(version) for r in self.ranges):
            return True
        try:
            v = Version(version)
        except InvalidVersion:
            return False
        return any(v in s for s in self.specs)


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
    timeout=180,  # the online audit's budget, and the rest
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    if repo.is_git and repo.head is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "the repository has no commits yet")
        return
    deps, manifests = manifest_dependencies(ctx, repo)
    if not manifests:
        yield finding(
            ID,
            Outcome.NOT_APPLICABLE,
            "no dependency manifest (requirements*.txt, pyproject.toml, poetry.lock, package-lock.json, package.json)",
        )
        return
    raw = ctx.config.repository.advisory_file
    online = ctx.config.repository.online_audit
    if not raw and not online:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"no advisory source configured (no --advisory-file, no --online-audit), so nothing was tried: "
            f"{len(deps)} dependencies in {', '.join(manifests)} were not audited",
            remediation="Give an advisory source: --advisory-file FILE (a committed snapshot, see "
            "docs/advisory-file.md) for a gate without network access, or --online-audit where the network is allowed.",
        )
        return
    if online:
        yield from _online_audit(ctx, repo, deps)
    if raw:
        yield from _file_audit(ctx, repo, deps, manifests, raw)
    for dep in [d for d in deps if d.version is None][:20]:
        yield finding(
            ID,
            Outcome.WARN,
            f"{dep.path}:{dep.line}: {dep.name} is not pinned to one version, so it cannot be audited",
            [_pin(repo, dep, "unpinned dependency")],
            remediation=f"Pin {dep.name} (a lock file or `==`) so that the audited version is the one shipped.",
            subject=f"{dep.path}:{dep.line}",
        )


def _file_audit(ctx: Context, repo: RepoSnapshot, deps: list[Dep], manifests: list[str], raw: str) -> Iterator[Finding]:
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
    pinned = len([d for d in deps if d.version is not None])
    if not vulnerable:
        yield finding(
            ID,
            Outcome.PASS,
            f"{pinned} pinned dependencies in {', '.join(manifests)} match none of the {len(advisories)} advisories "
            f"in {path.name}",
            [Evidence(kind="note", summary=f"advisory file {path}", data={"advisories": len(advisories)})],
        )


# -- online audit (pip-audit) -------------------------------------------------
def _service_name(args: list[str]) -> str:
    service = args[args.index("--vulnerability-service") + 1] if "--vulnerability-service" in args else "pypi"
    if service == "osv":
        url = args[args.index("--osv-url") + 1] if "--osv-url" in args else "https://api.osv.dev/v1/query"
        return f"OSV ({url})"
    return "PyPI JSON API (https://pypi.org/pypi)" if service == "pypi" else service


def _online_audit(ctx: Context, repo: RepoSnapshot, deps: list[Dep]) -> Iterator[Finding]:
    """pip-audit each manifest's exact Python pins (as at HEAD) against the online service.

    pip-audit reads a requirements file without resolving or installing anything only with
    `--no-deps --disable-pip`, which refuses unpinned lines, and its project-path mode always builds a
    virtualenv: so each manifest's `==` pins are written to a requirements file of the same name in a
    temporary folder, and every finding maps back to the pin's file:line.
    """
    by_file: dict[str, list[Dep]] = {}
    for d in deps:
        if d.ecosystem == "PyPI" and d.version is not None:
            by_file.setdefault(d.path, []).append(d)
    others = sorted({d.path for d in deps if d.ecosystem != "PyPI"})
    if not by_file:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            "online audit: no pinned Python dependency to give pip-audit"
            + (f" (it does not audit {', '.join(others)})" if others else ""),
        )
        return
    service = _service_name(SERVICE_ARGS)
    deadline = time.monotonic() + min(PIP_AUDIT_BUDGET, max(0.0, ctx.remaining() - 10))
    audited, vulnerable, clean_runs = 0, 0, []
    with tempfile.TemporaryDirectory(prefix="harness-pip-audit-") as tmp:
        for path, pins in by_file.items():
            rel = path if re.search(r"requirements[^/]*\.(txt|in)$", path) else f"{path}.requirements.txt"
            target = Path(tmp, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("".join(f"{d.name}=={d.version}\n" for d in pins), encoding="utf-8")
            args = ["-r", rel, "--no-deps", "--disable-pip", "--format", "json", "--progress-spinner", "off"]
            args += ["--timeout", "20", *SERVICE_ARGS]
            shown = ["python", "-m", "pip_audit", *args]
            what = f"{len(pins)} pinned dependencies of {path} (run on a copy holding only its `==` pins)"
            left = deadline - time.monotonic()
            if left < 5:
                yield _not_checked(path, f"not audited: the {PIP_AUDIT_BUDGET:.0f} s budget for pip-audit ran out")
                continue
            try:
                # -I, a private folder and no PYTHON* variables: a committed pip_audit/ is never imported.
                done = sandbox.run(
                    sandbox.python_module("pip_audit", *args), cwd=tmp, env=sandbox.clean_env(), timeout=left
                )
                proc = subprocess.CompletedProcess(
                    done.args,
                    done.returncode,
                    done.stdout.decode("utf-8", "replace"),
                    done.stderr.decode("utf-8", "replace"),
                )
            except subprocess.TimeoutExpired:
                yield _not_checked(path, f"pip-audit did not finish within {left:.0f} s", shown)
                continue
            except OSError as exc:
                yield _not_checked(path, f"pip-audit could not start: {exc}", shown)
                continue
            try:
                report = json.loads(proc.stdout)
                results = report["dependencies"]
                if not isinstance(results, list):
                    raise TypeError("`dependencies` is not a list")
            except (ValueError, KeyError, TypeError):
                # pip-audit prints no JSON when it fails (service unreachable, bad input): say why.
                errors = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
                why = errors[-1].strip() if errors else f"exit status {proc.returncode}, no JSON report"
                yield _not_checked(path, f"pip-audit failed against {service}: {why[:300]}", shown, proc.stderr)
                continue
            excerpt = proc.stdout[:2000]
            run_ev = Evidence(kind="command", summary=f"pip-audit of {what}", command=shown, excerpt=excerpt)
            pinned = {canonicalize_name(d.name): d for d in pins}
            skipped = [r for r in results if isinstance(r, dict) and r.get("skip_reason")]
            checked = [r for r in results if isinstance(r, dict) and not r.get("skip_reason")]
            if skipped and not checked:
                reason = str(skipped[0].get("skip_reason"))
                yield _not_checked(
                    path,
                    f"{service} answered for none of the {len(skipped)} dependencies: {reason[:200]}",
                    shown,
                    proc.stdout,
                )
                continue
            for r in skipped:
                dep = pinned.get(canonicalize_name(str(r.get("name", ""))))
                where = f"{dep.path}:{dep.line}" if dep else path
                yield finding(
                    ID,
                    Outcome.WARN,
                    f"{where}: {r.get('name')} was not audited: {str(r.get('skip_reason'))[:200]}",
                    [_pin(repo, dep, "not audited") if dep else run_ev],
                    remediation="Check that the package is on PyPI under this name, or audit it another way.",
                    subject=where,
                )
            audited += len(checked)
            file_vulns = 0
            for r in checked:
                dep = pinned.get(canonicalize_name(str(r.get("name", ""))))
                if dep is None:
                    continue
                for vuln in r.get("vulns") or []:
                    file_vulns += 1
                    aliases = [a for a in vuln.get("aliases") or [] if a != vuln.get("id")]
                    fixes = [str(v) for v in vuln.get("fix_versions") or []]
                    also = f" ({', '.join(aliases[:3])})" if aliases else ""
                    fix = f"fixed in {', '.join(fixes)}" if fixes else "no fixed version yet"
                    yield finding(
                        ID,
                        Outcome.FAIL,
                        f"{dep.path}:{dep.line}: {dep.name} {dep.version} is affected by {vuln.get('id')}{also}; "
                        f"{fix} (pip-audit, {service})",
                        [_pin(repo, dep, f"{vuln.get('id')}: {vuln.get('description', '')!s}"[:200]), run_ev],
                        remediation=f"Upgrade {dep.name} to {fixes[0] if fixes else 'a fixed version'} and pin it.",
                        subject=f"{dep.path}:{dep.line}",
                    )
            vulnerable += file_vulns
            if not file_vulns:
                clean_runs.append((path, len(checked), run_ev))
    if clean_runs and len(clean_runs) == len(by_file) and not vulnerable:
        yield finding(
            ID,
            Outcome.PASS,
            f"pip-audit found no known vulnerability in {audited} pinned Python dependencies of "
            f"{', '.join(p for p, _, _ in clean_runs)} (service: {service})",
            [ev for _, _, ev in clean_runs[:5]],
        )


def _not_checked(path: str, why: str, shown: list[str] | None = None, output: str = "") -> Finding:
    ev = [Evidence(kind="command", summary=f"pip-audit of {path}", command=shown, excerpt=output[-2000:] or None)]
    return finding(
        ID,
        Outcome.COULD_NOT_CHECK,
        f"online audit of {path}: {why}",
        ev if shown else [],
        remediation="Make the vulnerability service reachable (proxy settings) and run again, or use --advisory-file.",
        subject=path,
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
def manifest_dependencies(ctx: Context, repo: RepoSnapshot) -> tuple[list[Dep], list[str]]:
    """The manifests' dependencies, read once per run (repo.persistence reads them too)."""
    return ctx.memo("dependency_audit.dependencies", lambda: _dependencies(repo))


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
    # Where each package's key first appears, found in one pass (a search per package is quadratic).
    at: dict[str, int] = {}
    for i, ln in enumerate(text.splitlines(), 1):
        for key in re.findall(r'"([^"]+)"\s*:\s*\{', ln):
            at.setdefault(key, i)
    out = []
    packages = doc.get("packages") if isinstance(doc, dict) else None
    if isinstance(packages, dict):
        for key, meta in packages.items():
            if not key or not isinstance(meta, dict) or "version" not in meta:
                continue
            no = at.get(key, 1)
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
            parsed = OsvRange.parse(rng, adv.ecosystem) if isinstance(rng, dict) else None
            if parsed is not None:
                adv.ranges.append(parsed)
                adv.fix = adv.fix or next(iter(parsed.fixes()), "")
        out.append(adv)
    return out
