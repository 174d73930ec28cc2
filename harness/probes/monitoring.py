"""Collect the monitoring set-up committed at HEAD: a model, no judgement.

Prometheus configs (stand-alone or embedded in compose/Kubernetes/IaC text),
rule files, Alertmanager configs, exporters, Grafana dashboards and provisioning,
Prometheus console templates, cloud alarms and dashboards in IaC, the routes the
application serves, and the metric families it defines. Checks judge the model.
Every item keeps its file and line so that findings can point at it.
"""

from __future__ import annotations

import fnmatch
import json
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass, field
from typing import Any

import yaml

from harness import textscan
from harness.context import Context
from harness.model import Evidence
from harness.probes import repository
from harness.probes.repository import RepoFile, RepoSnapshot

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
    provider: str  # aws, azure, gcp
    kind: str
    name: str
    metric: str | None
    threshold: str | None
    duration: str | None
    has_actions: bool
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


def get(ctx: Context) -> Monitoring:
    repo = repository.get(ctx)
    return ctx.memo("monitoring", lambda: collect(repo))


# -- helpers -------------------------------------------------------------------
def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _find_line(text: str, pattern: str, start_line: int = 1) -> int | None:
    """First line (1-based) at or after start_line matching the regex."""
    rx = re.compile(pattern)
    for i, line in enumerate(text.splitlines()[start_line - 1 :], start=start_line):
        if rx.search(line):
            return i
    return None


def _vendored(path: str) -> bool:
    if repository.is_vendored(path):
        return True
    return any(part in path for part in VENDORED) or path.startswith(tuple(v for v in VENDORED))


def _is_test_path(path: str) -> bool:
    low = path.lower()
    name = posixpath.basename(low)
    return (
        "/tests/" in f"/{low}"
        or "/test/" in f"/{low}"
        or "__tests__/" in low
        or name.startswith("test_")
        or name.endswith(("_test.py", "_test.go", ".test.js", ".test.ts", ".spec.js", ".spec.ts", "test.java"))
    )


def _safe_yaml_docs(text: str) -> tuple[list[Any], str | None]:
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None], None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return [], f"invalid YAML{where}: {getattr(exc, 'problem', None) or exc}"


def _strings(node: Any, depth: int = 0) -> list[str]:
    """Every string value inside a parsed YAML/JSON document (bounded depth)."""
    if depth > 12:
        return []
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v, depth + 1)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v, depth + 1)]
    return []


_STRING_END = re.compile(r'^\s*(?:"""|\'\'\'|`|EOT\b|EOF\b|END\b|[A-Z_]{2,}$)')


def _embedded_block(text: str, anchor: int) -> tuple[str, int] | None:
    """The YAML block around line `anchor` (0-based) inside a string literal of another file.

    The block is the run of lines at the anchor's indentation or deeper, extended
    upwards over sibling keys, and stopped at a string terminator (\"\"\", `, EOT).
    """
    lines = text.splitlines()
    indent = len(lines[anchor]) - len(lines[anchor].lstrip())
    start = anchor
    while start > 0:
        prev = lines[start - 1]
        if not prev.strip() or _STRING_END.match(prev) or '"""' in prev or "'''" in prev or "`" in prev:
            break
        if len(prev) - len(prev.lstrip()) < indent or "<<" in prev or "=" in prev.split(":")[0]:
            break
        start -= 1
    end = anchor + 1
    while end < len(lines):
        line = lines[end]
        if _STRING_END.match(line) or '"""' in line or "'''" in line or "`" in line:
            break
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        end += 1
    return textwrap.dedent("\n".join(lines[start:end])), start + 1


# -- Prometheus ----------------------------------------------------------------
def _prom_from_dict(doc: dict[str, Any], loc: Loc, text: str, embedded: bool, line_offset: int = 0) -> PromConfig:
    cfg = PromConfig(loc=loc, embedded=embedded)
    for job in doc.get("scrape_configs") or []:
        if not isinstance(job, dict):
            continue
        name = str(job.get("job_name", "?"))
        targets: list[str] = []
        for sc in job.get("static_configs") or []:
            if isinstance(sc, dict):
                targets += [str(t) for t in sc.get("targets") or []]
        line = _find_line(text, rf"job_name['\"]?\s*:\s*['\"]?{re.escape(name)}['\"]?", line_offset + 1) or loc.line
        cfg.jobs.append(ScrapeJob(name, str(job.get("metrics_path") or "/metrics"), targets, Loc(loc.path, line)))
    cfg.rule_files = [str(r) for r in doc.get("rule_files") or [] if isinstance(r, str)]
    alerting = doc.get("alerting")
    if isinstance(alerting, dict):
        for am in alerting.get("alertmanagers") or []:
            if not isinstance(am, dict):
                continue
            found = [
                str(t) for sc in am.get("static_configs") or [] if isinstance(sc, dict) for t in sc.get("targets") or []
            ]
            if not found and any(k.endswith("_sd_configs") for k in am):
                found = ["(service discovery)"]
            cfg.alertmanagers += found
    return cfg


def _is_prom_config(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("scrape_configs"), list)


def _is_rule_groups(doc: Any) -> bool:
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        return False
    return any(
        isinstance(g, dict)
        and isinstance(g.get("rules"), list)
        and any(isinstance(r, dict) and ("alert" in r or "record" in r) for r in g["rules"])
        for g in doc["groups"]
    )


def _is_grafana_alerting(doc: Any) -> bool:
    if not isinstance(doc, dict) or "apiVersion" not in doc:
        return False
    if doc.get("contactPoints") or doc.get("policies"):
        return True
    groups = doc.get("groups")
    return isinstance(groups, list) and any(
        isinstance(g, dict) and any(isinstance(r, dict) and "data" in r for r in g.get("rules") or []) for g in groups
    )


def _rule_file(doc: dict[str, Any], loc: Loc, text: str, rule_text: str, embedded: bool) -> RuleFile:
    rf = RuleFile(loc=loc, text=rule_text, embedded=embedded)
    for group in doc.get("groups") or []:
        if not isinstance(group, dict):
            continue
        for rule in group.get("rules") or []:
            if not isinstance(rule, dict):
                continue
            if "record" in rule:
                rf.records += 1
                continue
            if "alert" not in rule:
                continue
            name = str(rule["alert"])
            line = _find_line(text, rf"alert['\"]?\s*:\s*['\"]?{re.escape(name)}\b", loc.line) or loc.line
            raw_labels = rule.get("labels")
            labels = raw_labels if isinstance(raw_labels, dict) else {}
            for_ = rule.get("for")
            rf.alerts.append(
                AlertRule(
                    name=name,
                    expr=str(rule.get("expr", "")),
                    for_=str(for_) if for_ is not None else None,
                    group=str(group.get("name", "?")),
                    loc=Loc(loc.path, line),
                    severity=str(labels.get("severity")) if labels.get("severity") is not None else None,
                )
            )
    return rf


def _collect_yaml(model: Monitoring, f: RepoFile, text: str) -> None:
    docs, error = _safe_yaml_docs(text)
    if error:
        if re.search(r"(?m)^\s*(scrape_configs|groups|receivers|route)\s*:", text):
            # Looks like monitoring config but Prometheus/promtool would reject it too.
            model.problems.append((f.path, error))
            if re.search(r"(?m)^\s*groups\s*:", text) and re.search(r"(?m)^\s*-?\s*alert\s*:", text):
                model.rule_files.append(RuleFile(Loc(f.path, 1), text, embedded=False, error=error))
            elif "scrape_configs" in text:
                model.prom_configs.append(PromConfig(Loc(f.path, 1), embedded=False))
        return
    for doc in docs:
        if _is_prom_config(doc):
            model.prom_configs.append(_prom_from_dict(doc, Loc(f.path, 1), text, embedded=False))
        elif _is_rule_groups(doc):
            model.rule_files.append(_rule_file(doc, Loc(f.path, 1), text, text, embedded=False))
        elif isinstance(doc, dict) and doc.get("kind") == "PrometheusRule" and isinstance(doc.get("spec"), dict):
            spec = doc["spec"]
            line = _find_line(text, r"kind:\s*PrometheusRule") or 1
            model.rule_files.append(_rule_file(spec, Loc(f.path, line), text, yaml.safe_dump(spec), embedded=True))
        elif isinstance(doc, dict) and "receivers" in doc and "route" in doc:
            model.alertmanager_configs.append(Loc(f.path, _find_line(text, r"^\s*route\s*:") or 1))
        elif _is_grafana_alerting(doc):
            model.grafana_alerting.append(Loc(f.path, 1))
        elif isinstance(doc, dict) and "apiVersion" in doc and isinstance(doc.get("providers"), list):
            model.grafana_provisioning.append(Loc(f.path, _find_line(text, r"^\s*providers\s*:") or 1))
        elif isinstance(doc, dict) and "apiVersion" in doc and isinstance(doc.get("datasources"), list):
            model.grafana_provisioning.append(Loc(f.path, _find_line(text, r"^\s*datasources\s*:") or 1))
        else:
            # Embedded in compose `configs.content`, a ConfigMap's data, a Helm values file...
            for s in _strings(doc):
                _collect_embedded_string(model, f, text, s)


def _collect_embedded_string(model: Monitoring, f: RepoFile, text: str, s: str) -> None:
    if "scrape_configs" not in s and "groups" not in s:
        return
    docs, error = _safe_yaml_docs(s)
    first = s.strip().splitlines()[0] if s.strip() else ""
    line = _find_line(text, re.escape(first.strip())) if first.strip() else None
    loc = Loc(f.path, line or 1)
    if error:
        model.problems.append((f.path, f"embedded monitoring config near line {loc.line}: {error}"))
        return
    for doc in docs:
        if _is_prom_config(doc):
            model.prom_configs.append(_prom_from_dict(doc, loc, text, embedded=True, line_offset=loc.line - 1))
        elif _is_rule_groups(doc):
            model.rule_files.append(_rule_file(doc, loc, text, s, embedded=True))


def _collect_code_embedded(model: Monitoring, f: RepoFile, text: str) -> None:
    """Prometheus configs or rule groups written as YAML inside a string in IaC code (Pulumi, Terraform)."""
    lines = text.splitlines()
    seen: set[int] = set()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not (stripped.startswith("scrape_configs:") or stripped.startswith("groups:")):
            continue
        block = _embedded_block(text, i)
        if block is None or block[1] in seen:
            continue
        body, start = block
        seen.add(start)
        docs, error = _safe_yaml_docs(body)
        if error:
            model.problems.append((f.path, f"embedded monitoring config at line {start}: {error}"))
            continue
        for doc in docs:
            loc = Loc(f.path, start)
            if _is_prom_config(doc):
                model.prom_configs.append(_prom_from_dict(doc, loc, text, embedded=True, line_offset=start - 1))
            elif _is_rule_groups(doc):
                model.rule_files.append(_rule_file(doc, loc, text, body, embedded=True))


def _resolve_rule_files(model: Monitoring, repo: RepoSnapshot) -> None:
    """rule_files entries are relative to the config; a referenced file missing at HEAD is recorded."""
    known = {rf.loc.path for rf in model.rule_files}
    all_paths = [f.path for f in repo.files]
    for cfg in model.prom_configs:
        base = posixpath.dirname(cfg.loc.path)
        for ref in cfg.rule_files:
            candidates = _rule_file_matches(base, ref, all_paths)
            if candidates:
                for p in candidates:
                    if p and p not in known:
                        text = repo.read_text(p, MAX_CONFIG_BYTES)
                        if text is None:
                            model.unreadable_rule_files.append((p, cfg.loc))
                        else:
                            # Referenced explicitly: give promtool a go even if our parse saw no alerts.
                            docs, error = _safe_yaml_docs(text)
                            rf = RuleFile(Loc(p, 1), text, embedded=False, error=error)
                            if not error and docs and isinstance(docs[0], dict):
                                rf = _rule_file(docs[0], Loc(p, 1), text, text, embedded=False)
                            model.rule_files.append(rf)
                            known.add(p)
            else:
                line = _find_line(repo.read_text(cfg.loc.path, MAX_CONFIG_BYTES) or "", re.escape(ref)) or cfg.loc.line
                model.missing_rule_files.append((ref, Loc(cfg.loc.path, line)))


def _rule_file_matches(base: str, ref: str, all_paths: list[str]) -> list[str]:
    """Files a rule_files entry names, relative to the config's folder.

    An absolute entry (/etc/prometheus/rules/*.yml, the path inside the container)
    is tried by its trailing parts, so it finds the folder copied into the image.
    """
    parts = [p for p in ref.split("/") if p]
    tails = ["/".join(parts[k:]) for k in range(len(parts))] if ref.startswith("/") else [ref]
    for tail in tails:
        pattern = posixpath.normpath(posixpath.join(base, tail))
        found = [
            p
            for p in all_paths
            if fnmatch.fnmatchcase(p, pattern) and "/" not in p[len(posixpath.dirname(pattern)) + 1 :]
        ]
        if found:
            return found
    return []


# -- exporters -----------------------------------------------------------------
_EXPORTERS = [
    ("node-exporter", re.compile(r"(?i)node[-_]exporter|prometheus-node-exporter")),
    ("cadvisor", re.compile(r"(?i)\bcadvisor\b")),
    ("windows-exporter", re.compile(r"(?i)windows[-_]exporter")),
    ("process-exporter", re.compile(r"(?i)process[-_]exporter")),
    ("kube-state-metrics", re.compile(r"(?i)kube-state-metrics")),
    ("blackbox-exporter", re.compile(r"(?i)blackbox[-_]exporter")),
]


def _collect_exporters(model: Monitoring, f: RepoFile, text: str) -> None:
    for kind, rx in _EXPORTERS:
        for i, line in enumerate(text.splitlines(), start=1):
            if line.lstrip().startswith("#"):
                continue
            if rx.search(line):
                model.exporters.append(Exporter(kind, Loc(f.path, i)))
                break


# -- cloud alarms and dashboards in IaC ------------------------------------------------
_ALARM_START = [
    ("aws", "aws_cloudwatch_metric_alarm", re.compile(r'resource\s+"aws_cloudwatch_metric_alarm"\s+"([\w-]+)"')),
    (
        "aws",
        "AWS::CloudWatch::Alarm",
        re.compile(r"(?m)^\s*([\w-]+)\s*:\s*\n\s*Type\s*:\s*['\"]?AWS::CloudWatch::Alarm"),
    ),
    ("aws", "cloudwatch.MetricAlarm", re.compile(r"cloudwatch\.MetricAlarm\(\s*['\"]([\w-]+)['\"]")),
    (
        "aws",
        "cloudwatch.Alarm",
        re.compile(r"new\s+(?:\w+\.)?(?:cloudwatch\.)?Alarm\(\s*this\s*,\s*['\"]([\w-]+)['\"]"),
    ),
    ("aws", "cloudwatch.Alarm", re.compile(r"cloudwatch\.Alarm\(\s*self\s*,\s*['\"]([\w-]+)['\"]")),
    ("azure", "azurerm_monitor_metric_alert", re.compile(r'resource\s+"azurerm_monitor_metric_alert"\s+"([\w-]+)"')),
    ("azure", "insights.MetricAlert", re.compile(r"insights\.MetricAlert\(\s*['\"]([\w-]+)['\"]")),
    ("gcp", "google_monitoring_alert_policy", re.compile(r'resource\s+"google_monitoring_alert_policy"\s+"([\w-]+)"')),
    ("gcp", "monitoring.AlertPolicy", re.compile(r"monitoring\.AlertPolicy\(\s*['\"]([\w-]+)['\"]")),
]
_ALARM_METRIC = re.compile(
    r"(?i)\b(?:metric_name|metricName|MetricName|metric_type|filter)\b['\"]?\s*[:=]\s*['\"]?([^'\"\n,}]+)"
)
_ALARM_THRESHOLD = re.compile(r"(?i)\b(?:threshold|threshold_value|thresholdValue)\b['\"]?\s*[:=]\s*['\"]?([\d.]+)")
_ALARM_DURATION = re.compile(
    r"(?i)\b(?:evaluation_periods|evaluationPeriods|EvaluationPeriods|duration|window_size|windowSize)\b['\"]?\s*[:=]\s*['\"]?([\w.]+)"
)
_ALARM_ACTIONS = re.compile(
    r"(?i)alarm_actions|alarmActions|AlarmActions|addAlarmAction|action_group|actions\s*=|notification_channels"
)

_DASHBOARD_IAC = [
    ("cloudwatch", re.compile(r'resource\s+"aws_cloudwatch_dashboard"\s+"([\w-]+)"')),
    ("cloudwatch", re.compile(r"cloudwatch\.Dashboard\(\s*(?:this\s*,\s*|self\s*,\s*)?['\"]([\w-]+)['\"]")),
    ("cloudwatch", re.compile(r"(?m)^\s*([\w-]+)\s*:\s*\n\s*Type\s*:\s*['\"]?AWS::CloudWatch::Dashboard")),
    ("azure", re.compile(r'resource\s+"azurerm_(?:portal_)?dashboard"\s+"([\w-]+)"')),
    ("azure", re.compile(r"portal\.Dashboard\(\s*['\"]([\w-]+)['\"]")),
    ("gcp", re.compile(r'resource\s+"google_monitoring_dashboard"\s+"([\w-]+)"')),
    ("grafana-iac", re.compile(r'resource\s+"grafana_dashboard"\s+"([\w-]+)"')),
]


def _block_after(text: str, pos: int, max_lines: int = 60) -> str:
    """The text from pos to the end of its brace/paren block, or max_lines lines."""
    depth = 0
    opened = False
    for i in range(pos, min(len(text), pos + 20_000)):
        ch = text[i]
        if ch in "{(":
            depth += 1
            opened = True
        elif ch in "})":
            depth -= 1
            if opened and depth <= 0:
                return text[pos : i + 1]
    return "\n".join(text[pos:].splitlines()[:max_lines])


def _collect_iac(model: Monitoring, f: RepoFile, text: str) -> None:
    for provider, kind, rx in _ALARM_START:
        for m in rx.finditer(text):
            block = (
                _block_after(text, m.start())
                if provider != "aws" or "Type" not in m.group(0)
                else ("\n".join(text[m.start() :].splitlines()[:40]))
            )
            metric = _ALARM_METRIC.search(block)
            threshold = _ALARM_THRESHOLD.search(block)
            duration = _ALARM_DURATION.search(block)
            start = _line_of(text, m.start())
            model.cloud_alarms.append(
                CloudAlarm(
                    provider=provider,
                    kind=kind,
                    name=m.group(1),
                    metric=metric.group(1).strip() if metric else None,
                    threshold=threshold.group(1) if threshold else None,
                    duration=duration.group(1) if duration else None,
                    has_actions=bool(_ALARM_ACTIONS.search(block)),
                    loc=Loc(f.path, start, start + block.count("\n")),
                )
            )
    for kind, rx in _DASHBOARD_IAC:
        for m in rx.finditer(text):
            block = _block_after(text, m.start())
            queries = re.findall(r'(?i)"?(?:metrics|expression|query|filter)"?\s*[:=]\s*([^\n]{1,160})', block)
            start = _line_of(text, m.start())
            panels = [Panel(title=f"widget {i + 1}", queries=[q.strip()]) for i, q in enumerate(queries[:30])]
            model.dashboards.append(Dashboard(kind, m.group(1), Loc(f.path, start, start + block.count("\n")), panels))


# -- Grafana dashboards and Prometheus consoles ---------------------------------------
def _grafana_panels(doc: dict[str, Any]) -> list[Panel] | None:
    nested = doc.get("dashboard")
    board = nested if isinstance(nested, dict) else doc
    raw: list[Any] = []
    if isinstance(board.get("panels"), list):
        raw += board["panels"]
    for row in board.get("rows") or []:  # Grafana < 5 layout
        if isinstance(row, dict):
            raw += row.get("panels") or []
    if not raw and not ("panels" in board and ("title" in board or "uid" in board or "schemaVersion" in board)):
        return None
    panels: list[Panel] = []
    stack = list(raw)
    while stack:
        p = stack.pop(0)
        if not isinstance(p, dict):
            continue
        if p.get("type") == "row":
            stack = [q for q in p.get("panels") or []] + stack
            continue
        queries = []
        for t in p.get("targets") or []:
            if isinstance(t, dict):
                q = t.get("expr") or t.get("rawSql") or t.get("query") or t.get("expression")
                if q:
                    queries.append(str(q))
        panels.append(Panel(str(p.get("title") or p.get("type") or "untitled"), queries))
    return panels


def _collect_json(model: Monitoring, f: RepoFile, text: str) -> None:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        if re.search(r"(?i)grafana|dashboard", f.path):
            model.problems.append((f.path, f"invalid JSON: {exc}"))
        return
    if not isinstance(doc, dict):
        return
    panels = _grafana_panels(doc)
    if panels is None:
        return
    nested = doc.get("dashboard")
    board = nested if isinstance(nested, dict) else doc
    model.dashboards.append(Dashboard("grafana", str(board.get("title") or f.name), Loc(f.path, 1), panels))


_CONSOLE = re.compile(r"prom_query_drilldown|PromConsole\.Graph|template\s+\"prom_|\{\{\s*template\s+\"head\"")


def _collect_console(model: Monitoring, f: RepoFile, text: str) -> None:
    if not _CONSOLE.search(text):
        return
    panels = []
    for m in re.finditer(r'prom_query_drilldown"?\s+\(?(?:args\s+)?"([^"]+)"|expr:\s*"([^"]+)"', text):
        panels.append(Panel(f"line {_line_of(text, m.start())}", [m.group(1) or m.group(2)]))
    title = re.search(r"<h\d[^>]*>([^<]+)</h\d>", text)
    model.dashboards.append(Dashboard("console", title.group(1) if title else f.name, Loc(f.path, 1), panels))


# -- application routes ---------------------------------------------------------
_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("decorator route", re.compile(r"@\w+(?:\.\w+)*\.(?:route|get|api_route|head)\(\s*['\"]([^'\"]*)['\"]")),
    ("add_url_rule", re.compile(r"\.add_url_rule\(\s*['\"]([^'\"]*)['\"]")),
    ("mounted app", re.compile(r"\.(?:mount|add_route)\(\s*['\"]([^'\"]*)['\"]")),
    ("Django path", re.compile(r"\b(?:re_)?path\(\s*r?['\"]\^?([^'\"$]*)\$?['\"]")),
    ("Express route", re.compile(r"\b(?:app|router|server|fastify)\.(?:get|all|use|route)\(\s*['\"`]([^'\"`]*)['\"`]")),
    ("Go handler", re.compile(r"\.(?:HandleFunc|Handle|GET|Get|Any)\(\s*\"([^\"]*)\"")),
    ("Spring mapping", re.compile(r"@(?:Get|Request)Mapping\(\s*(?:value\s*=\s*|path\s*=\s*)?\"([^\"]*)\"")),
]
# Libraries that serve /metrics (or a configured path) without a route in the code.
_IMPLICIT_METRICS: list[tuple[str, re.Pattern[str], re.Pattern[str] | None]] = [
    (
        "prometheus_flask_exporter",
        re.compile(r"\b(?:PrometheusMetrics|GunicornPrometheusMetrics)(?:\.for_app_factory)?\("),
        re.compile(r"path\s*=\s*['\"]([^'\"]+)"),
    ),
    (
        "prometheus_fastapi_instrumentator",
        re.compile(r"\.expose\(\s*\w+"),
        re.compile(r"endpoint\s*=\s*['\"]([^'\"]+)"),
    ),
    ("starlette_exporter", re.compile(r"handle_metrics"), None),
    ("django_prometheus", re.compile(r"django_prometheus\.urls"), None),
    ("express-prom-bundle", re.compile(r"promBundle\("), re.compile(r"metricsPath\s*:\s*['\"]([^'\"]+)")),
]
_ANY_PATH_METRICS = re.compile(r"\bstart_http_server\(|\bstart_wsgi_server\(")


def _collect_routes(model: Monitoring, f: RepoFile, text: str) -> None:
    for how, rx in _ROUTES:
        if how == "Django path" and f.suffix != ".py":
            continue
        if how == "Go handler" and f.suffix not in (".go",):
            continue
        if not textscan.may_match(rx, text):
            continue  # cheap literal test first: these patterns are tried on every code file
        for m in rx.finditer(text):
            raw = m.group(1)
            if how == "Django path" and "urlpatterns" not in text:
                continue
            if how == "Express route" and not raw.startswith("/"):
                continue
            model.routes.append(Route(normalise_path(raw), Loc(f.path, _line_of(text, m.start())), how))
    for lib, rx, path_rx in _IMPLICIT_METRICS:
        if not textscan.may_match(rx, text):
            continue
        for m in rx.finditer(text):
            window = text[m.start() : m.start() + 300]
            custom = path_rx.search(window) if path_rx else None
            path = custom.group(1) if custom else "/metrics"
            model.routes.append(Route(normalise_path(path), Loc(f.path, _line_of(text, m.start())), lib))
    for m in _ANY_PATH_METRICS.finditer(text):
        model.routes.append(Route("*", Loc(f.path, _line_of(text, m.start())), "prometheus_client metrics server"))
    spring = f.name.startswith("application") and f.suffix in (".yml", ".yaml", ".properties")
    if spring and re.search(r"(?i)exposure[.\s:]*include[^\n]*prometheus", text):
        model.routes.append(
            Route("/actuator/prometheus", Loc(f.path, _find_line(text, "prometheus") or 1), "Spring Actuator")
        )


# -- metric definitions -----------------------------------------------------------
_METRIC_DEFS: list[tuple[str, re.Pattern[str], re.Pattern[str] | None]] = [
    (
        "prometheus_client",
        re.compile(r"\b(Counter|Gauge|Histogram|Summary|Info|Enum)\(\s*(?:name\s*=\s*)?['\"]([a-zA-Z_:][\w:]*)['\"]"),
        re.compile(r"prometheus_client"),
    ),
    (
        "prometheus_flask_exporter",
        re.compile(r"\bmetrics\.(counter|gauge|histogram|summary|info)\(\s*['\"]([a-zA-Z_:][\w:]*)['\"]"),
        re.compile(r"prometheus_flask_exporter"),
    ),
    (
        "OpenTelemetry",
        re.compile(
            r"\.(create_counter|create_up_down_counter|create_histogram|create_gauge|create_observable_gauge"
            r"|create_observable_counter|createCounter|createUpDownCounter|createHistogram|createGauge"
            r"|createObservableGauge|createObservableCounter|Int64Counter|Float64Counter|Int64Histogram"
            r"|Float64Histogram|Int64UpDownCounter|Float64Gauge|Int64Gauge|counterBuilder|histogramBuilder"
            r"|gaugeBuilder)\(\s*(?:name\s*=\s*)?['\"`]([\w.:/-]+)['\"`]"
        ),
        None,
    ),
    (
        "prom-client",
        re.compile(
            r"new\s+(?:\w+\.)?(Counter|Gauge|Histogram|Summary)\s*\(\s*\{[^}]{0,400}?\bname\s*:\s*['\"`]([\w:]+)['\"`]",
            re.S,
        ),
        re.compile(r"prom-client"),
    ),
    (
        "client_golang",
        re.compile(
            r"\bNew(Counter|Gauge|Histogram|Summary)(?:Vec|Func)?\(\s*prometheus\.\w+Opts\s*\{([^}]{0,600})\}", re.S
        ),
        re.compile(r"prometheus/client_golang"),
    ),
    (
        "micrometer",
        re.compile(
            r"\b(Counter|Gauge|Timer|DistributionSummary|LongTaskTimer)\.builder\(\s*\"([\w.]+)\"|"
            r"\b(?:registry|meterRegistry|Metrics)\.(counter|gauge|timer|summary)\(\s*\"([\w.]+)\"",
            re.I,
        ),
        re.compile(r"micrometer|MeterRegistry"),
    ),
]


def _collect_metrics(model: Monitoring, f: RepoFile, text: str) -> None:
    for lib, rx, gate in _METRIC_DEFS:
        if gate is not None and not gate.search(text):
            continue
        for m in rx.finditer(text):
            if lib == "client_golang":
                opts = m.group(2)
                parts = [re.search(rf'\b{k}\s*:\s*"([\w:]*)"', opts) for k in ("Namespace", "Subsystem", "Name")]
                name = "_".join(p.group(1) for p in parts if p and p.group(1))
                mtype = m.group(1)
            elif lib == "micrometer":
                mtype = m.group(1) or m.group(3)
                name = m.group(2) or m.group(4)
            else:
                mtype, name = m.group(1), m.group(2)
            if not name:
                continue
            mtype = re.sub(r"^(create_?|Int64|Float64)", "", mtype).replace("Builder", "").lower() or mtype.lower()
            model.metrics.append(MetricDef(name, mtype, lib, Loc(f.path, _line_of(text, m.start()))))


# -- claims in docs ----------------------------------------------------------------
_MONITORING_CLAIM = re.compile(r"(?i)\b(prometheus|grafana|monitoring|monitored|cloudwatch|metrics)\b")
_ALERTING_CLAIM = re.compile(r"(?i)\b(alerts?|alerting|alertmanager|alarms?|paged?|on-call)\b")


def _collect_claims(model: Monitoring, f: RepoFile, text: str) -> None:
    for i, line in enumerate(text.splitlines(), start=1):
        if _MONITORING_CLAIM.search(line) and len(model.monitoring_claims) < 20:
            model.monitoring_claims.append(DocMention(Loc(f.path, i), line.strip()[:200]))
        if _ALERTING_CLAIM.search(line) and len(model.alerting_claims) < 20:
            model.alerting_claims.append(DocMention(Loc(f.path, i), line.strip()[:200]))


_IAC_CODE = re.compile(r"^\s*import pulumi|@pulumi/|aws-cdk-lib|from aws_cdk|github\.com/pulumi/", re.M)


# -- the whole collection ------------------------------------------------------------
def collect(repo: RepoSnapshot) -> Monitoring:
    model = Monitoring(head=repo.head)
    for f in repo.files:
        if not f.is_regular or _vendored(f.path):
            continue
        suffix = f.suffix
        limit = MAX_CODE_BYTES if suffix in CODE_SUFFIXES else MAX_CONFIG_BYTES
        relevant = (
            suffix in YAML_SUFFIXES
            or suffix in IAC_SUFFIXES
            or suffix in CODE_SUFFIXES
            or suffix in DOC_SUFFIXES
            or suffix in (".html", ".properties")
            or f.name.lower() in ("dockerfile",)
        )
        if not relevant:
            continue
        if f.size > limit:
            if suffix in YAML_SUFFIXES or suffix == ".json":
                model.problems.append((f.path, f"larger than {limit} bytes: not read"))
            continue
        text = repo.read_text(f.path, limit)
        if text is None:
            continue
        if ("/tests/" in f"/{f.path}" or _is_test_path(f.name)) and suffix not in DOC_SUFFIXES:
            continue  # fixtures and test strings are not the deployed configuration
        if suffix in DOC_SUFFIXES:
            if suffix != ".txt" or "readme" in f.name.lower():
                _collect_claims(model, f, text)
            continue
        if suffix in YAML_SUFFIXES:
            _collect_yaml(model, f, text)
        elif suffix == ".json":
            _collect_json(model, f, text)
        elif suffix == ".html":
            _collect_console(model, f, text)
        elif suffix in IAC_SUFFIXES and ("scrape_configs:" in text or re.search(r"(?m)^\s*groups:\s*$", text)):
            _collect_code_embedded(model, f, text)
        if suffix in IAC_SUFFIXES:
            _collect_iac(model, f, text)
        if (
            suffix in YAML_SUFFIXES
            or suffix == ".tf"
            or f.name.lower() == "dockerfile"
            or (suffix in CODE_SUFFIXES and _IAC_CODE.search(text))  # Pulumi/CDK programs, not application code
        ):
            _collect_exporters(model, f, text)
        if suffix in CODE_SUFFIXES and not _is_test_path(f.path) and not _IAC_CODE.search(text):
            model.app_code_files.append(f.path)
            _collect_routes(model, f, text)
            _collect_metrics(model, f, text)
        elif f.name.startswith("application") and suffix in (".yml", ".yaml", ".properties"):
            _collect_routes(model, f, text)
    for cfg in model.prom_configs:
        for job in cfg.jobs:
            for t in job.targets:
                for kind, rx in _EXPORTERS:
                    if rx.search(t) or rx.search(job.name) or (kind == "node-exporter" and t.endswith(":9100")):
                        model.exporters.append(Exporter(kind, job.loc))
    _resolve_rule_files(model, repo)
    return model


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


@dataclass
class PromtoolResult:
    command: list[str]
    ok: bool | None  # None: promtool could not run
    output: str


PROMTOOL_TIMEOUT_S = 30.0


def promtool_path() -> str | None:
    return shutil.which("promtool") or ("/usr/bin/promtool" if os.access("/usr/bin/promtool", os.X_OK) else None)


def promtool_check_rules(rule: RuleFile, timeout: float = PROMTOOL_TIMEOUT_S) -> PromtoolResult:
    """`promtool check rules` on the rule text taken from HEAD, written to a private temp dir."""
    exe = promtool_path()
    shown = ["promtool", "check", "rules", rule.loc.path]
    if exe is None:
        return PromtoolResult(shown, None, "promtool is not installed (Debian package: prometheus)")
    with tempfile.TemporaryDirectory(prefix="harness-promtool-") as tmp:
        target = os.path.join(tmp, posixpath.basename(rule.loc.path) or "rules.yml")
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(rule.text)
        try:
            proc = subprocess.run(
                [exe, "check", "rules", target],
                capture_output=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            return PromtoolResult(shown, None, f"promtool did not finish within {timeout:g} s")
        except OSError as exc:
            return PromtoolResult(shown, None, f"cannot run promtool: {exc}")
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace").replace(target, rule.loc.path)
        return PromtoolResult(shown, proc.returncode == 0, out.strip()[:4000])
