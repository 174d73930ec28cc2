"""harness.toml: typed configuration, validated with one-line errors naming the key.

Every section is a dataclass; the loader walks the TOML table against the
dataclass fields, so adding a setting is adding a field with a default.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import fsutil
from harness.epa_grade import AM2_GRADES

CONFIG_NAME = "harness.toml"
MAX_CONFIG_BYTES = 1_000_000
MAX_SECONDS = 86_400.0  # no deadline or window in a verification run needs more than a day


class ConfigError(Exception):
    """A configuration or usage problem: printed as one line, exit code 2."""


@dataclass
class ProjectConfig:
    repo: str = "."
    name: str = ""


@dataclass
class RunConfig:
    scope: str = "all"  # all | repository | live
    concurrency: int = 8
    gate: str = "pass"  # none | pass | distinction
    formats: list[str] = field(default_factory=lambda: ["terminal"])
    out: str = "harness-report"
    skip: list[str] = field(default_factory=list)  # check ids not to run
    only: list[str] = field(default_factory=list)  # if set, only these check ids
    timeouts: dict[str, float] = field(default_factory=dict)  # per-check deadline overrides
    waivers_file: str = ""  # default: harness-waivers.toml in the project, if present
    am2: str = ""  # the AM2 (professional discussion) grade the assessor entered: fail | pass | distinction
    candidate: str = ""  # the candidate's name, for the sign-off sheet


@dataclass
class CiHistoryConfig:
    """The CI's run history (GitHub Actions or GitLab pipelines), read only when the token variable is set."""

    provider: str = ""  # github | gitlab; empty: not read
    project: str = ""  # owner/name (GitHub) or the project's path or numeric id (GitLab)
    branch: str = "main"
    token_env: str = ""  # the variable holding the token (never the token itself)
    api_url: str = ""  # default: https://api.github.com or https://gitlab.com/api/v4; tests use loopback
    max_pages: int = 5  # of 100 runs each
    max_bytes: int = 5_000_000  # per page
    timeout_s: float = 30.0  # for every request together


@dataclass
class RepositoryConfig:
    upstream_remote: str = "upstream"  # the remote a fork was made from
    advisory_file: str = ""  # offline vulnerability advisories for the dependency audit
    online_audit: bool = False  # opt-in: run pip-audit against its online vulnerability service
    max_file_bytes: int = 2_000_000  # larger files are listed but not read
    max_files: int = 50_000
    ci_history: CiHistoryConfig = field(default_factory=CiHistoryConfig)


@dataclass
class HttpRequestConfig:
    method: str = "GET"
    path: str = "/"
    json: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    expect_status: list[int] = field(default_factory=lambda: [200, 201])


@dataclass
class AvailabilityConfig:
    window_s: float = 30.0
    rate_per_s: float = 5.0
    min_success_ratio: float = 0.99
    p95_ms: float = 1000.0


@dataclass
class LoadConfig:
    concurrency: int = 10
    requests: int = 200
    p95_ms: float = 500.0
    p99_ms: float = 1000.0
    max_errors: int = 0


@dataclass
class RedeployConfig:
    command: list[str] = field(default_factory=list)
    timeout_s: float = 300.0
    sample_rate_per_s: float = 10.0


@dataclass
class FaultConfig:
    command: list[str] = field(default_factory=list)
    restore_command: list[str] = field(default_factory=list)
    alert: str = ""  # the alert expected to fire; default: any newly firing alert
    timeout_s: float = 300.0


@dataclass
class PersistenceConfig:
    write: HttpRequestConfig | None = None
    read: HttpRequestConfig | None = None
    # A string the read response must contain; "{token}" in write/read bodies and
    # paths is replaced by a fresh random token for each probe.
    expect: str = "{token}"


@dataclass
class SourceToUserConfig:
    remote: str = ""  # git URL or path of the remote that deploys on push
    branch: str = "main"
    allow_protected: bool = False
    timeout_s: float = 300.0
    poll_interval_s: float = 2.0
    github_repo: str = ""  # owner/name, to follow the Actions run
    github_token_env: str = "GITHUB_TOKEN"  # the token is read from this variable, never printed
    github_api_url: str = "https://api.github.com"  # tests point this at a fake server on loopback


@dataclass
class LiveConfig:
    urls: list[str] = field(default_factory=list)
    # Plain-HTTP URLs expected to redirect to HTTPS; default: each https URL's host on port 80.
    http_urls: list[str] = field(default_factory=list)
    ca_bundle: str = ""
    health_path: str = "/healthz"
    readiness_path: str = "/readyz"
    version_path: str = "/version"
    metrics_url: str = ""
    prometheus_url: str = ""
    alertmanager_url: str = ""
    docker_host: str = ""  # e.g. unix:///var/run/docker.sock; empty: no Docker checks
    docker_label: str = ""  # label selecting the app containers, e.g. com.example.role=app
    pulumi_state: str = ""  # a file backend folder or a `pulumi stack export` JSON file
    database_dsn_env: str = ""  # name of the variable holding the DSN (never the DSN itself)
    database_app_users: list[str] = field(default_factory=list)  # the app's DB users; empty: every other client
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    max_body_bytes: int = 5_000_000
    max_redirects: int = 5
    # Statuses that count as success for availability, load and drill sampling; empty: any 2xx.
    expect_status: list[int] = field(default_factory=list)
    cert_expiry_warn_days: int = 30
    hsts_min_age_s: int = 15_552_000  # 180 days
    availability: AvailabilityConfig = field(default_factory=AvailabilityConfig)
    load: LoadConfig = field(default_factory=LoadConfig)
    redeploy: RedeployConfig = field(default_factory=RedeployConfig)
    fault: FaultConfig = field(default_factory=FaultConfig)
    persistence: PersistenceConfig = field(default_factory=PersistenceConfig)
    source_to_user: SourceToUserConfig = field(default_factory=SourceToUserConfig)


@dataclass
class WaiverEntry:
    check: str
    justification: str = ""
    approver: str = ""
    expires: str = ""


@dataclass
class Config:
    project: ProjectConfig = field(default_factory=ProjectConfig)
    run: RunConfig = field(default_factory=RunConfig)
    repository: RepositoryConfig = field(default_factory=RepositoryConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    waivers: list[dict[str, Any]] = field(default_factory=list)
    # Where the config came from, to resolve relative paths; not a TOML key.
    base_dir: Path = field(default=Path("."), metadata={"internal": True})
    # Set by harness.trust when the sources are layered (not TOML keys): where each setting came from,
    # the project's keys it did not take, the project's own waivers (claims) and the operator's opt-ins.
    provenance: dict[str, str] = field(default_factory=dict, metadata={"internal": True})
    ignored: list[dict[str, str]] = field(default_factory=list, metadata={"internal": True})
    project_waivers: list[dict[str, Any]] = field(default_factory=list, metadata={"internal": True})
    trust_project: bool = field(default=False, metadata={"internal": True})
    accept_waivers: bool = field(default=False, metadata={"internal": True})

    @property
    def repo_path(self) -> Path:
        return self.resolve(self.project.repo)

    def resolve(self, raw: str) -> Path:
        path = Path(raw).expanduser()
        return path if path.is_absolute() else (self.base_dir / path).resolve()


VALID_SCOPES = ("all", "repository", "live")
VALID_GATES = ("none", "pass", "distinction")
VALID_FORMATS = ("terminal", "json", "html", "junit", "sarif", "markdown", "codequality", "signoff")


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return f"table of {_type_name(typing.get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return "table"
    if tp is Any:
        return "any value"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(tp, str(tp))


def _convert(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], key)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {type(value).__name__}")
        return _build(tp, value, key)  # type: ignore[arg-type]
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected {_type_name(tp)}, got {type(value).__name__}")
        (item,) = typing.get_args(tp)
        return [_convert(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected {_type_name(tp)}, got {type(value).__name__}")
        _, item = typing.get_args(tp)
        return {k: _convert(v, item, f"{key}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if tp in (int, float) and isinstance(value, int | float) and not isinstance(value, bool):
        # TOML reads `inf`, `nan` and 1e400 (as inf): a deadline or threshold must be a finite, non-negative number.
        if not math.isfinite(value):
            raise ConfigError(f"{key}: must be a finite number, got {value!r}")
        if value < 0:
            raise ConfigError(f"{key}: must not be negative, got {value!r}")
        if key.endswith(("timeout_s", "window_s", "interval_s")) and value > MAX_SECONDS:
            raise ConfigError(f"{key}: must be at most {MAX_SECONDS:.0f} seconds, got {value!r}")
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"{key}: expected boolean, got {type(value).__name__}")
    if tp in (int, float) and isinstance(value, bool):
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got boolean")
    if not isinstance(value, tp):
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {type(value).__name__}")
    return value


def _build(cls: type, table: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    kwargs = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in fields:
            raise ConfigError(f"{dotted}: unknown key")
        kwargs[key] = _convert(value, hints[key], dotted)
    return cls(**kwargs)


def check_types(table: dict[str, Any]) -> Config:
    """A Config from a TOML table, every key and type checked (no cross-key validation)."""
    config: Config = _build(Config, table, "")
    return config


def from_dict(table: dict[str, Any], base_dir: Path) -> Config:
    config = check_types(table)
    config.base_dir = base_dir
    validate(config)
    return config


def read_table(path: Path) -> dict[str, Any]:
    """The TOML table of a configuration file, or a one-line ConfigError naming the file."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: configuration file larger than {MAX_CONFIG_BYTES} bytes")
        return tomllib.loads(fsutil.read_text_bounded(path, MAX_CONFIG_BYTES))  # a FIFO never blocks
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {' '.join(str(exc).split())}") from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise ConfigError(f"{path}: cannot read configuration: {exc}") from None


def load_file(path: Path) -> Config:
    return from_dict(read_table(path), path.parent.resolve())


def user_config_path() -> Path | None:
    """The operator's own file: $XDG_CONFIG_HOME/harness/config.toml, else ~/.config/harness/config.toml."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    if xdg and Path(xdg).is_absolute():  # XDG: a relative value is ignored
        return Path(xdg) / "harness" / "config.toml"
    try:
        return Path.home() / ".config" / "harness" / "config.toml"
    except RuntimeError:  # no HOME and no passwd entry (a bare container): no operator file
        return None


def validate(config: Config) -> None:
    run = config.run
    if run.scope not in VALID_SCOPES:
        raise ConfigError(f"run.scope: must be one of {', '.join(VALID_SCOPES)}, got {run.scope!r}")
    if run.gate not in VALID_GATES:
        raise ConfigError(f"run.gate: must be one of {', '.join(VALID_GATES)}, got {run.gate!r}")
    for fmt in run.formats:
        if fmt not in VALID_FORMATS:
            raise ConfigError(f"run.formats: unknown format {fmt!r} (one of {', '.join(VALID_FORMATS)})")
    if run.am2 not in ("", *AM2_GRADES):
        raise ConfigError(f"run.am2: must be one of {', '.join(AM2_GRADES)}, got {run.am2!r}")
    if run.concurrency < 1:
        raise ConfigError("run.concurrency: must be at least 1")
    for name, seconds in run.timeouts.items():
        if not 0 < seconds <= MAX_SECONDS:
            raise ConfigError(f"run.timeouts.{name}: must be more than 0 and at most {MAX_SECONDS:.0f} seconds")
    ratio = config.live.availability.min_success_ratio
    if ratio > 1:
        raise ConfigError(f"live.availability.min_success_ratio: must be between 0 and 1, got {ratio!r}")
    if not config.repo_path.is_dir():
        raise ConfigError(f"project.repo: not a folder: {config.repo_path}")
    ci = config.repository.ci_history
    if ci.provider not in ("", "github", "gitlab"):
        raise ConfigError(f"repository.ci_history.provider: must be github or gitlab, got {ci.provider!r}")
    if ci.api_url and not ci.api_url.startswith(("http://", "https://")):
        raise ConfigError(f"repository.ci_history.api_url: not an http(s) URL: {ci.api_url!r}")
    for name, ok in (
        ("max_pages", 1 <= ci.max_pages <= 100),
        ("max_bytes", ci.max_bytes > 0),
        ("timeout_s", 0 < ci.timeout_s <= MAX_SECONDS),
    ):
        if not ok:
            raise ConfigError(f"repository.ci_history.{name}: out of range (pages 1-100; bytes, seconds more than 0)")
    live = config.live
    if live.ca_bundle and not config.resolve(live.ca_bundle).is_file():
        raise ConfigError(f"live.ca_bundle: file not found: {config.resolve(live.ca_bundle)}")
    for i, url in enumerate(live.urls):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"live.urls[{i}]: not an http(s) URL: {url!r}")
    for i, url in enumerate(live.http_urls):
        if not url.startswith("http://"):
            raise ConfigError(f"live.http_urls[{i}]: not an http:// URL: {url!r}")
    for name in ("metrics_url", "prometheus_url", "alertmanager_url"):
        url = getattr(live, name)
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"live.{name}: not an http(s) URL: {url!r}")
    if live.pulumi_state and not config.resolve(live.pulumi_state).exists():
        raise ConfigError(f"live.pulumi_state: path not found: {config.resolve(live.pulumi_state)}")
    for name in ("redeploy", "fault"):
        section = getattr(live, name)
        for cmd_name in ("command", "restore_command"):
            cmd = getattr(section, cmd_name, None)
            if cmd is not None and cmd and not all(isinstance(a, str) and a for a in cmd):
                raise ConfigError(f"live.{name}.{cmd_name}: must be a list of non-empty strings")
