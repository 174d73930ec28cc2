"""The monitoring model: what the monitoring probe collects, and helpers its collectors share.

Every item keeps its file and line so that findings can point at it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from harness.model import Evidence
from harness.probes import repository
from harness.probes.repository import RepoSnapshot

MAX_CONFIG_BYTES = 1_000_000  # monitoring configs are small; bigger files are not configs
MAX_CODE_BYTES = 500_000
VENDORED = ("node_modules/", "vendor/", "site-packages/", "dist/", "build/", ".venv/", "venv/", "third_party/")
CODE_SUFFIXES = {".py", ".js", ".mjs", ".cjs", ".ts", ".go", ".java", ".kt"}
IAC_SUFFIXES = {".tf", ".py", ".ts", ".js", ".go", ".cs", ".yaml", ".yml", ".json", ".hcl", ".bicep"}
DOC_SUFFIXES = {".md", ".markdown", ".rst", ".txt", ".adoc"}
YAML_SUFFIXES = {".yml", ".yaml"}


@dataclass(frozen=True)
class Loc:
    path: str
    line: int
    end_line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class ScrapeJob:
    name: str
    metrics_path: str
    targets: list[str]
    loc: Loc

    @property
    def is_infrastructure(self) -> bool:
        """Jobs scraping an exporter or the monitoring stack itself, not the application."""
        hay = " ".join([self.name, self.metrics_path, *self.targets]).lower()
        return bool(_INFRA_JOB.search(hay))


_INFRA_JOB = re.compile(
    r"exporter|cadvisor|prometheus|alertmanager|pushgateway|grafana|blackbox|/probe|kube-state|kubelet"
    r"|:9090\b|:9093\b|:9100\b|:9115\b|:9091\b|\bnode\b|loki|promtail|tempo|otel-collector"
)


@dataclass
class PromConfig:
    loc: Loc
    embedded: bool  # inside another file (compose, ConfigMap, IaC string)
    jobs: list[ScrapeJob] = field(default_factory=list)
    rule_files: list[str] = field(default_factory=list)
    alertmanagers: list[str] = field(default_factory=list)  # targets from alerting.alertmanagers


@dataclass
class AlertRule:
    name: str
    expr: str
    for_: str | None
    group: str
    loc: Loc
    severity: str | None = None


@dataclass
class RuleFile:
    loc: Loc
    text: str  # the rule-file YAML as promtool should see it (extracted for CRDs)
    embedded: bool
    alerts: list[AlertRule] = field(default_factory=list)
    records: int = 0
    error: str | None = None  # YAML that cannot be read as rule groups


@dataclass
class CloudAlarm:
    provider: str  # aws, azure, gcp, digitalocean
    kind: str
    name: str
    metric: str | None
    threshold: str | None
    duration: str | None
    has_actions: bool  # notifies someone (an SNS topic, action group, e-mail...): without, it only changes state
    loc: Loc


@dataclass
class Exporter:
    kind: str  # node-exporter, cadvisor, ...
    loc: Loc


@dataclass
class Route:
    path: str  # URL path; "*" when a metrics server answers on every path
    loc: Loc
    how: str  # e.g. "Flask route", "prometheus_client.start_http_server"


@dataclass
class Panel:
    title: str
    queries: list[str]


@dataclass
class Dashboard:
    kind: str  # grafana, console, cloudwatch, azure, gcp, grafana-iac
    title: str
    loc: Loc
    panels: list[Panel] = field(default_factory=list)


@dataclass
class MetricDef:
    name: str
    type: str  # counter, gauge, histogram, summary, info, ...
    library: str
    loc: Loc

    @property
    def standard(self) -> bool:
        return bool(_STANDARD_METRIC.search(self.name))


# Names that default instrumentation already gives: HTTP request counts/latencies,
# process/runtime metrics. Anything else the application chose to measure itself.
_STANDARD_METRIC = re.compile(
    r"(?i)^(?:process|python|nodejs|node|go|jvm|gc|runtime|system|up)_|http|request|response|inprogress|in_progress"
    r"|^(?:flask|django|express|fastapi|starlette|uvicorn|gunicorn)_"
)


@dataclass
class DocMention:
    loc: Loc
    text: str


@dataclass
class Monitoring:
    head: str | None
    prom_configs: list[PromConfig] = field(default_factory=list)
    rule_files: list[RuleFile] = field(default_factory=list)
    missing_rule_files: list[tuple[str, Loc]] = field(default_factory=list)
    unreadable_rule_files: list[tuple[str, Loc]] = field(default_factory=list)  # binary or too large
    alertmanager_configs: list[Loc] = field(default_factory=list)
    grafana_alerting: list[Loc] = field(default_factory=list)  # provisioned Grafana alert rules/contact points
    exporters: list[Exporter] = field(default_factory=list)
    cloud_alarms: list[CloudAlarm] = field(default_factory=list)
    dashboards: list[Dashboard] = field(default_factory=list)
    grafana_provisioning: list[Loc] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    metrics: list[MetricDef] = field(default_factory=list)
    app_code_files: list[str] = field(default_factory=list)
    monitoring_claims: list[DocMention] = field(default_factory=list)
    alerting_claims: list[DocMention] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, what is wrong)
    functions: list[tuple[str, Loc]] = field(default_factory=list)  # serverless functions: (platform, where)
    platform_metrics: list[tuple[str, Loc]] = field(default_factory=list)  # Lambda Insights, Application Insights

    @property
    def health_routes(self) -> list[Route]:
        return [r for r in self.routes if is_health_path(r.path)]

    @property
    def metrics_routes(self) -> list[Route]:
        return [r for r in self.routes if r.path == "*" or is_metrics_path(r.path)]

    def serves(self, path: str) -> list[Route]:
        want = normalise_path(path)
        return [r for r in self.routes if r.path == "*" or normalise_path(r.path) == want]


def normalise_path(path: str) -> str:
    path = path.strip() or "/"
    if not path.startswith("/"):
        path = "/" + path
    return path.rstrip("/") or "/"


_HEALTH_SEGMENT = re.compile(
    r"^_?(health|healthz|healthcheck|health-check|health_check|livez|readyz|liveness|readiness|ping|ready|live|alive|status)$",
    re.I,
)


def is_health_path(path: str) -> bool:
    last = normalise_path(path).rsplit("/", 1)[-1]
    return bool(_HEALTH_SEGMENT.match(last))


def is_metrics_path(path: str) -> bool:
    last = normalise_path(path).rsplit("/", 1)[-1]
    return last in ("metrics", "prometheus")


# -- helpers -------------------------------------------------------------------
def line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def find_line(text: str, pattern: str, start_line: int = 1) -> int | None:
    """First line (1-based) at or after start_line matching the regex."""
    rx = re.compile(pattern)
    for i, line in enumerate(text.splitlines()[start_line - 1 :], start=start_line):
        if rx.search(line):
            return i
    return None


def is_vendored_path(path: str) -> bool:
    if repository.is_vendored(path):
        return True
    return any(part in path for part in VENDORED) or path.startswith(tuple(v for v in VENDORED))


def is_test_path(path: str) -> bool:
    low = path.lower()
    name = posixpath.basename(low)
    return (
        "/tests/" in f"/{low}"
        or "/test/" in f"/{low}"
        or "__tests__/" in low
        or name.startswith("test_")
        or name.endswith(("_test.py", "_test.go", ".test.js", ".test.ts", ".spec.js", ".spec.ts", "test.java"))
    )


def evidence(loc: Loc, summary: str, head: str | None, excerpt: str | None = None) -> Evidence:
    """File evidence pointing at one place at the commit under test."""
    return Evidence(
        kind="file",
        summary=summary,
        path=loc.path,
        start_line=loc.line,
        end_line=loc.end_line or loc.line,
        commit=head,
        excerpt=excerpt,
    )


def unreadable(repo: RepoSnapshot) -> str | None:
    """Why the commit under test cannot be judged, or None."""
    if not repo.is_git:
        return "not a git repository: there is no commit under test to read"
    if repo.head is None:
        return "the repository has no commits yet"
    return None


def listing(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
