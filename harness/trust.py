"""The trust boundary: which settings the operator gives and which the verified project may give.

The operator is whoever runs harness: flags, `--config FILE` and their own file
(`config.user_config_path()`). The project is what is verified: its harness.toml.
The project describes itself (URLs, paths inside it, names, request shapes); a
setting that runs something, pushes somewhere, sends a credential, weakens the
verdict or its limits, or changes which folder is verified is the operator's,
unless the operator passes --trust-project (an apprentice on their own project).
`KEY_CLASSES` is the one table that decides; a Config field missing from it
fails a test. A project key that is not taken is listed in the report, not an error.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import CONFIG_NAME, Config, ConfigError, check_types, read_table, validate

DESCRIBES = "describes"  # the project may set it
CLAIM = "claim"  # the project's waivers: listed, applied only when the operator accepts them
REASONS = {
    "runs": "runs a command",
    "pushes": "pushes somewhere",
    "credential": "sends a credential",
    "weakens": "weakens the verdict or its limits",
    "folder": "changes which folder is verified",
    "output": "chooses where and how the operator's reports are written",
    "machine": "reaches the verifier's own Docker engine",
    "decision": "records the assessor's decision or the candidate's identity",
}
_REQUEST = {"method": DESCRIBES, "path": DESCRIBES, "json": DESCRIBES, "headers": DESCRIBES, "expect_status": "weakens"}

KEY_CLASSES: dict[str, str] = {
    "project.repo": "folder",
    "project.name": DESCRIBES,
    **{f"run.{k}": "weakens" for k in ("scope", "concurrency", "gate", "skip", "only", "timeouts", "waivers_file")},
    "run.formats": "output",
    "run.out": "output",
    "run.am2": "decision",
    "run.candidate": "decision",
    "repository.upstream_remote": DESCRIBES,
    **{f"repository.{k}": "weakens" for k in ("advisory_file", "online_audit", "max_file_bytes", "max_files")},
    **{f"repository.ci_history.{k}": DESCRIBES for k in ("provider", "project", "branch")},
    "repository.ci_history.token_env": "credential",
    "repository.ci_history.api_url": "credential",  # the URL that would receive the token
    **{f"repository.ci_history.{k}": "weakens" for k in ("max_pages", "max_bytes", "timeout_s")},
    **{
        f"live.{k}": DESCRIBES
        for k in (
            "urls",
            "http_urls",
            "ca_bundle",
            "health_path",
            "readiness_path",
            "version_path",
            "metrics_url",
            "prometheus_url",
            "alertmanager_url",
            "docker_label",
            "pulumi_state",
            "database_app_users",
        )
    },
    "live.expect_status": "weakens",  # a status counted as success (e.g. a redirect) for availability and load
    "live.docker_host": "machine",
    "live.database_dsn_env": "credential",
    **{
        f"live.{k}": "weakens"
        for k in (
            "connect_timeout_s",
            "read_timeout_s",
            "max_body_bytes",
            "max_redirects",
            "cert_expiry_warn_days",
            "hsts_min_age_s",
        )
    },
    **{f"live.availability.{k}": "weakens" for k in ("window_s", "rate_per_s", "min_success_ratio", "p95_ms")},
    **{f"live.load.{k}": "weakens" for k in ("concurrency", "requests", "p95_ms", "p99_ms", "max_errors")},
    "live.redeploy.command": "runs",
    "live.redeploy.timeout_s": "weakens",
    "live.redeploy.sample_rate_per_s": "weakens",
    "live.fault.command": "runs",
    "live.fault.restore_command": "runs",
    "live.fault.alert": DESCRIBES,
    "live.fault.timeout_s": "weakens",
    **{f"live.persistence.write.{k}": c for k, c in _REQUEST.items()},
    **{f"live.persistence.read.{k}": c for k, c in _REQUEST.items()},
    "live.persistence.expect": "weakens",  # "" would match any response
    **{f"live.source_to_user.{k}": "pushes" for k in ("remote", "branch", "allow_protected")},
    "live.source_to_user.timeout_s": "weakens",
    "live.source_to_user.poll_interval_s": "weakens",
    "live.source_to_user.github_repo": DESCRIBES,
    "live.source_to_user.github_token_env": "credential",
    "live.source_to_user.github_api_url": "credential",  # the URL that would receive the token
    "waivers": CLAIM,
}
# Paths, resolved against the folder of the file that names them (flags are already absolute).
PATH_KEYS = {
    "project.repo",
    "run.out",
    "run.waivers_file",
    "repository.advisory_file",
    "live.ca_bundle",
    "live.pulumi_state",
}
INSIDE_PROJECT = {"live.ca_bundle", "live.pulumi_state"}  # a project may name only its own files
EXTENDS = {"run.skip"}  # a later source adds to the list rather than replacing it


def _section_type(tp: Any) -> type | None:
    """The dataclass a field holds (also through `X | None`), else None for a leaf."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    return tp if dataclasses.is_dataclass(tp) else None  # type: ignore[return-value]


def leaf_keys(cls: type = Config, prefix: str = "") -> list[str]:
    """Every settable key of the configuration, dotted (internal fields are not keys)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        section = _section_type(hints[f.name])
        out += leaf_keys(section, f"{prefix}{f.name}.") if section else [prefix + f.name]
    return out


def flatten(table: dict[str, Any], cls: type = Config, prefix: str = "") -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for key, value in table.items():
        section = _section_type(hints[key])
        if section and isinstance(value, dict):
            out.update(flatten(value, section, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def unflatten(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in values.items():
        *parents, last = dotted.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


@dataclass
class Layer:
    """One source of settings: dotted keys with path values already absolute."""

    label: str  # e.g. "flag", "--config /x/my.toml", "project /p/harness.toml"
    origin: str  # operator | project
    values: dict[str, Any] = field(default_factory=dict)


def _resolve(key: str, value: Any, base: Path) -> Any:
    if key in PATH_KEYS and isinstance(value, str) and value:
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())
    if key == "live.source_to_user.remote" and isinstance(value, str) and value and (base / value).exists():
        return str((base / value).resolve())  # a relative path to a local remote; URLs stay as written
    return value


def file_layer(path: Path, label: str, origin: str) -> Layer:
    """A configuration file's settings, type-checked; errors name the file and the key."""
    table = read_table(path)
    try:
        check_types(table)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    base = path.parent.resolve()
    return Layer(label, origin, {k: _resolve(k, v, base) for k, v in flatten(table).items()})


def _inside(path: str, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(root.resolve())


def layered(repo: Path, operator: list[Layer], trust_project: bool, accept_waivers: bool = False) -> Config:
    """Defaults, then what the project may give, then the operator's files and flags in order.

    An operator's mistake is an error (exit 2). The untrusted project's is listed as ignored, so a
    broken or hostile harness.toml cannot stop the operator's run.
    """
    ignored: list[dict[str, str]] = []
    project = _project_layer(repo, trust_project, ignored)
    merged: dict[str, Any] = {}
    provenance: dict[str, str] = {"project.repo": "default (the current folder)"}
    waivers: dict[str, list[dict[str, Any]]] = {"project": [], "operator": []}
    waiver_labels: list[str] = []
    for layer in ([project] if project else []) + operator:
        for key, value in layer.values.items():
            cls = KEY_CLASSES[key]
            if cls == CLAIM:
                waivers[layer.origin] += value
                waiver_labels += [layer.label] if layer.origin == "operator" else []
                continue
            if layer.origin == "project" and not trust_project:
                if cls != DESCRIBES:
                    ignored.append({"key": key, "reason": f"needs --trust-project: {REASONS[cls]}"})
                    continue
                if key in INSIDE_PROJECT and value and not _inside(value, repo):
                    ignored.append({"key": key, "reason": "a path outside the project (needs --trust-project)"})
                    continue
            if key in EXTENDS and key in merged:
                value = merged[key] + [v for v in value if v not in merged[key]]
            merged[key], provenance[key] = value, layer.label
    merged.setdefault("project.repo", str(repo))
    if waiver_labels:
        provenance["waivers"] = " + ".join(dict.fromkeys(waiver_labels))
    for _ in range(len(merged) + 1):
        config = check_types(unflatten(merged))
        config.base_dir = Path.cwd()
        config.waivers, config.project_waivers = waivers["operator"], waivers["project"]
        config.provenance, config.ignored = provenance, ignored
        config.trust_project, config.accept_waivers = trust_project, accept_waivers
        try:
            validate(config)
            return config
        except ConfigError as exc:
            key = str(exc).split(":", 1)[0].split("[", 1)[0]
            source = provenance.get(key, "")
            if not (source.startswith("project") and not trust_project):
                raise ConfigError(f"{exc} (from {source})" if source else str(exc)) from None
            del merged[key], provenance[key]  # the project described itself wrongly: say so, run without it
            ignored.append({"key": key, "reason": f"invalid: {exc}"})
    raise ConfigError("configuration did not settle")  # unreachable: each round drops one key


def _project_layer(repo: Path, trust_project: bool, ignored: list[dict[str, str]]) -> Layer | None:
    path = repo / CONFIG_NAME
    if not path.is_file():
        return None
    try:
        return file_layer(path, f"project {path}", "project")
    except ConfigError as exc:
        if trust_project:
            raise
        ignored.append({"key": CONFIG_NAME, "reason": f"not read: {exc}"})
        return None
