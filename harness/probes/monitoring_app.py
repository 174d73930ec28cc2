"""What the application's own code and files show: routes, metric definitions, Grafana and console dashboards,
and monitoring claims in documentation."""

from __future__ import annotations

import json
import re
from typing import Any

from harness import textscan
from harness.probes.monitoring_model import (
    Dashboard,
    DocMention,
    Loc,
    MetricDef,
    Monitoring,
    Panel,
    Route,
    find_line,
    line_at,
    normalise_path,
)
from harness.probes.repository import RepoFile


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


def collect_json(model: Monitoring, f: RepoFile, text: str) -> None:
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


def collect_console(model: Monitoring, f: RepoFile, text: str) -> None:
    if not _CONSOLE.search(text):
        return
    panels = []
    for m in re.finditer(r'prom_query_drilldown"?\s+\(?(?:args\s+)?"([^"]+)"|expr:\s*"([^"]+)"', text):
        panels.append(Panel(f"line {line_at(text, m.start())}", [m.group(1) or m.group(2)]))
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
# One literal prefilter over every route pattern: most files declare no route.
_ROUTE_GROUP = textscan.Group.of([rx for _, rx in _ROUTES] + [i[1] for i in _IMPLICIT_METRICS] + [_ANY_PATH_METRICS])


def collect_routes(model: Monitoring, f: RepoFile, text: str) -> None:
    spring = f.name.startswith("application") and f.suffix in (".yml", ".yaml", ".properties")
    if not spring and not _ROUTE_GROUP.may_match_any(text):
        return
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
            model.routes.append(Route(normalise_path(raw), Loc(f.path, line_at(text, m.start())), how))
    for lib, rx, path_rx in _IMPLICIT_METRICS:
        if not textscan.may_match(rx, text):
            continue
        for m in rx.finditer(text):
            window = text[m.start() : m.start() + 300]
            custom = path_rx.search(window) if path_rx else None
            path = custom.group(1) if custom else "/metrics"
            model.routes.append(Route(normalise_path(path), Loc(f.path, line_at(text, m.start())), lib))
    for m in _ANY_PATH_METRICS.finditer(text):
        model.routes.append(Route("*", Loc(f.path, line_at(text, m.start())), "prometheus_client metrics server"))
    if spring and re.search(r"(?i)exposure[.\s:]*include[^\n]*prometheus", text):
        model.routes.append(
            Route("/actuator/prometheus", Loc(f.path, find_line(text, "prometheus") or 1), "Spring Actuator")
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


_METRIC_GROUP = textscan.Group.of([rx for _, rx, _ in _METRIC_DEFS])


def collect_metrics(model: Monitoring, f: RepoFile, text: str) -> None:
    if not _METRIC_GROUP.may_match_any(text):
        return  # no definition can match: the gates need not be searched either
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
            model.metrics.append(MetricDef(name, mtype, lib, Loc(f.path, line_at(text, m.start()))))


# -- claims in docs ----------------------------------------------------------------
_MONITORING_CLAIM = re.compile(r"(?i)\b(prometheus|grafana|monitoring|monitored|cloudwatch|metrics)\b")
_ALERTING_CLAIM = re.compile(r"(?i)\b(alerts?|alerting|alertmanager|alarms?|paged?|on-call)\b")


def collect_claims(model: Monitoring, f: RepoFile, text: str) -> None:
    for i, line in enumerate(text.splitlines(), start=1):
        if _MONITORING_CLAIM.search(line) and len(model.monitoring_claims) < 20:
            model.monitoring_claims.append(DocMention(Loc(f.path, i), line.strip()[:200]))
        if _ALERTING_CLAIM.search(line) and len(model.alerting_claims) < 20:
            model.alerting_claims.append(DocMention(Loc(f.path, i), line.strip()[:200]))
