"""repo.workflow-lint: GitHub workflows match GitHub's schema and zizmor finds no serious flaw."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness import sandbox
from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import pipelines, repository
from harness.probes.repository import RepoSnapshot

if TYPE_CHECKING:
    import jsonschema

ID = "repo.workflow-lint"
ZIZMOR_TIMEOUT_S = 120.0
# Workflow hardening, not a vulnerability: a warning with advice whatever zizmor's severity (CQ-2 fails on
# real vulnerabilities). Pinning to a tag rather than a digest, broad permissions, persisted credentials ...
HARDENING = {
    "unpinned-uses",
    "unpinned-images",
    "excessive-permissions",
    "undocumented-permissions",
    "artipacked",
    "concurrency-limits",
    "anonymous-definition",
    "stale-action-refs",
    "ref-version-mismatch",
    "secrets-inherit",
    "forbidden-uses",
    "archived-uses",
    "dependabot-cooldown",
    "use-trusted-publishing",
    "superfluous-actions",
    "misfeature",
}


@check(
    ID,
    title="GitHub workflows are valid and zizmor finds no serious flaw in them",
    failure_title="GitHub workflows are invalid or have a high-severity, high-confidence security flaw",
    proves=(
        "Every workflow is one GitHub will run (it matches the official workflow schema) and has no template "
        "injection or similar flaw that zizmor rates high severity and high confidence (CQ-2); hardening advice "
        "(actions pinned to a tag rather than a digest, broad permissions) is a warning."
    ),
    remediation="Fix each reported line; run `zizmor .github/workflows` and `check-jsonschema --builtin-schema "
    "vendor.github-workflows .github/workflows/*.yml` locally before pushing.",
    source="repository",
    timeout=180,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    if repo.is_git and repo.head is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "the repository has no commits yet")
        return
    files = [f for f in pipelines.collect_paths(repo) if f[1] == "github"]
    if not files:
        others = sorted({pipelines.SYSTEM_NAMES[s] for _, s in pipelines.collect_paths(repo)})
        also = f" (other CI found: {', '.join(others)}, not linted)" if others else ""
        yield finding(ID, Outcome.NOT_APPLICABLE, f"no GitHub Actions workflows under .github/workflows{also}")
        return
    valid: dict[str, bytes] = {}
    schema_ok = True
    try:
        validator = _validator()
    except (OSError, ValueError, ModuleNotFoundError) as exc:
        validator = None
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"the GitHub workflow schema is not available: {exc}",
            remediation="Install check-jsonschema (`pip install check-jsonschema`), which ships it.",
        )
    for path, _ in files:
        data = repo.read_bytes(path, pipelines.MAX_PIPELINE_BYTES)
        if data is None or b"\x00" in data[:8000]:
            yield finding(ID, Outcome.FAIL, f"{path} is binary, too large or unreadable", subject=path)
            schema_ok = False
            continue
        text = data.decode("utf-8", "replace")
        try:
            doc = pipelines.load_yaml(text)
        except (yaml.YAMLError, RecursionError) as exc:  # nesting too deep is as unreadable as bad syntax
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            yield finding(
                ID,
                Outcome.FAIL,
                f"{path}:{line} is not valid YAML: {getattr(exc, 'problem', None) or exc}",
                [pipelines.evidence_at(repo, path, line, f"{path}:{line}: YAML error")],
                subject=path,
            )
            schema_ok = False
            continue
        if validator is not None:
            errors = list(_schema_errors(validator, doc))
            for message, line in errors[:10]:
                yield finding(
                    ID,
                    Outcome.FAIL,
                    f"{path}:{line} does not match the GitHub workflow schema: {message}",
                    [pipelines.evidence_at(repo, path, line, f"{path}:{line}: schema violation")],
                    subject=f"{path}:{line}",
                )
            if errors:
                schema_ok = False
                continue
        valid[path] = data
    if valid and validator is not None and schema_ok:
        yield finding(
            ID,
            Outcome.PASS,
            f"{len(valid)} workflow(s) match the GitHub workflow schema: {', '.join(valid)}",
            [Evidence(kind="note", summary="schema: check-jsonschema vendor.github-workflows", commit=repo.head)],
        )
    if valid:
        yield from _zizmor(ctx, repo, valid)


def _zizmor(ctx: Context, repo: RepoSnapshot, files: dict[str, bytes]) -> Iterator[Finding]:
    # The binary beside this interpreter first: pyenv-style shims need their own environment.
    local = Path(sys.executable).parent / "zizmor"
    exe = str(local) if local.is_file() else shutil.which("zizmor")
    if exe is None:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            "zizmor is not installed, so workflows were not audited",
            remediation="Install zizmor (`pip install zizmor`).",
        )
        return
    shown = ["zizmor", "--offline", "--format", "json", *files]
    with tempfile.TemporaryDirectory(prefix="harness-zizmor-") as tmp:
        for path, data in files.items():
            target = Path(tmp) / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        try:
            proc = sandbox.run(
                [exe, "--offline", "--format", "json", "--no-progress", *files],
                cwd=tmp,
                timeout=ctx.bounded(ZIZMOR_TIMEOUT_S),
                env=_env(tmp),
            )
        except subprocess.TimeoutExpired:
            yield finding(ID, Outcome.COULD_NOT_CHECK, "zizmor did not finish within its time limit")
            return
        except OSError as exc:
            yield finding(ID, Outcome.COULD_NOT_CHECK, f"cannot run zizmor: {exc}")
            return
    try:
        results = json.loads(proc.stdout.decode("utf-8", "replace"))
        if not isinstance(results, list):
            raise ValueError("not a list")
    except ValueError:
        err = proc.stderr.decode("utf-8", "replace").strip()[-800:]
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"zizmor crashed or printed no report (exit {proc.returncode})",
            [Evidence(kind="command", summary="zizmor run", command=shown, excerpt=err)],
        )
        return
    counts: dict[str, int] = {}
    for r in results:
        det = r.get("determinations") if isinstance(r, dict) else None
        sev = str(det.get("severity", "")) if isinstance(det, dict) else ""
        counts[sev] = counts.get(sev, 0) + 1
        if sev not in ("High", "Medium"):
            continue
        path, line = _location(r)
        where = f"{path}:{line}" if path else "a workflow"
        conf = det.get("confidence") if isinstance(det, dict) else "?"
        # Only a high-severity, high-confidence flaw that is more than hardening fails the build's security.
        serious = sev == "High" and conf == "High" and r.get("ident") not in HARDENING
        outcome = Outcome.FAIL if serious else Outcome.WARN
        ev = [pipelines.evidence_at(repo, path, line, f"{where}: zizmor {r.get('ident')}")] if path else []
        ev.append(
            Evidence(
                kind="command",
                summary=f"zizmor {r.get('ident')} ({sev})",
                command=shown,
                url=str(r.get("url", "")) or None,
            )
        )
        yield finding(
            ID,
            outcome,
            f"{where}: zizmor {r.get('ident')}: {r.get('desc')} (severity {sev}, confidence {conf})",
            ev,
            remediation=f"See {r.get('url')} for how to fix {r.get('ident')}.",
            subject=where,
        )
    if not counts.get("High") and not counts.get("Medium"):
        summary = ", ".join(f"{n} {s.lower()}" for s, n in counts.items()) or "no findings"
        yield finding(
            ID,
            Outcome.PASS,
            f"zizmor found no high or medium severity issue in {len(files)} workflow(s) ({summary})",
            [Evidence(kind="command", summary="zizmor audit", command=shown, excerpt=summary)],
        )


def _env(home: str) -> dict[str, str]:
    # No GitHub token reaches zizmor: it runs offline and must never call out.
    env = {k: v for k, v in sandbox.clean_env().items() if "TOKEN" not in k.upper()}
    env.update(NO_COLOR="1", HOME=home)
    return env


def _location(r: dict[str, Any]) -> tuple[str, int]:
    for loc in r.get("locations") or []:
        sym, conc = loc.get("symbolic") or {}, loc.get("concrete") or {}
        if sym.get("kind") != "Primary":
            continue
        key = (sym.get("key") or {}).get("Local") or {}
        path = str(key.get("given_path") or key.get("verbatim_path") or "")
        row = ((conc.get("location") or {}).get("start_point") or {}).get("row", 0)
        return path, int(row) + 1
    return "", 1


@cache
def _schema() -> dict[str, Any]:
    ref = resources.files("check_jsonschema").joinpath("builtin_schemas/vendor/github-workflows.json")
    data: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    return data


def _validator() -> Any:
    import jsonschema  # loaded only when there is a workflow to validate

    schema = _schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _schema_errors(validator: Any, doc: Any) -> Iterator[tuple[str, int]]:
    if isinstance(doc, dict) and True in doc and "on" not in doc:  # YAML 1.1 reads `on` as true
        fixed = pipelines.LDict({("on" if k is True else k): v for k, v in doc.items()})
        fixed.key_lines = {("on" if k is True else k): v for k, v in getattr(doc, "key_lines", {}).items()}
        fixed.line = getattr(doc, "line", 1)
        doc = fixed
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        yield _short(err), _line_for(doc, list(err.absolute_path))


def _short(err: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
    msg = err.message if len(err.message) < 200 else err.message[:200] + "…"
    return f"at {where}: {msg}"


def _line_for(doc: Any, path: list[Any]) -> int:
    line, node = getattr(doc, "line", 1), doc
    for part in path:
        if isinstance(node, dict) and part in node:
            line = getattr(node, "key_lines", {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            items = getattr(node, "item_lines", [])
            line = items[part] if part < len(items) else line
            node = node[part]
        else:
            break
    return line
