"""Serverless and cloud-native evidence: the routes API Gateway, Lambda and Azure Functions serve, the functions
themselves, and the platform metrics (Lambda Insights, Application Insights) that watch their CPU and memory.

Routes are read wherever they are declared: handler code (the event's path or rawPath compared with a path,
Azure Functions `route=` decorators and `app.http` registrations), templates (serverless.yml `http` events, SAM
`Events` with a `Path`, CloudFormation API Gateway resources), Azure `function.json` bindings, CDK (`addResource` /
`add_resource`, `addRoutes`) and Terraform (`aws_api_gateway_resource` path_part, `aws_apigatewayv2_route`).
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from harness import textscan
from harness.probes.inventory_files import strip_line_comments
from harness.probes.monitoring_cloud import family, file_family
from harness.probes.monitoring_model import (
    CloudAlarm,
    Loc,
    MetricDef,
    Monitoring,
    Route,
    find_line,
    line_at,
    normalise_path,
)
from harness.probes.repository import RepoFile

SHOWN = 5  # functions and platform-metric features kept as evidence

# Route declarations in code and HCL; group 1 is the path (a method before it is dropped).
_CODE_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    (
        "Lambda handler path test",
        re.compile(
            r"""\b(?:event|evt)(?:\[\s*['"](?:path|rawPath|resource|routeKey)['"]\s*\]"""
            r"""|\.get\(\s*['"](?:path|rawPath|resource|routeKey)['"]\s*\)|\.(?:path|rawPath|resource|routeKey))"""
            r"""\s*(?:===?|\bin\b)\s*[\[(]?\s*['"`](?:[A-Z]+\s+)?(/[^'"`]*)['"`]"""
        ),
    ),
    ("Azure Functions route", re.compile(r"@\w+(?:\.\w+)*\.route\([^)]*?\broute\s*=\s*['\"]([^'\"]*)['\"]")),
    ("API Gateway resource (CDK)", re.compile(r"\.(?:addResource|add_resource)\(\s*['\"`]([^'\"`]+)['\"`]")),
    ("API Gateway path (CDK)", re.compile(r"\.(?:resourceForPath|resource_for_path)\(\s*['\"`]([^'\"`]+)['\"`]")),
    (
        "HTTP API route (CDK)",
        re.compile(r"\.(?:addRoutes|add_routes)\([^)]{0,300}?\bpath\s*[:=]\s*['\"`]([^'\"`]+)['\"`]", re.S),
    ),
    (
        "aws_api_gateway_resource",
        re.compile(r'resource\s+"aws_api_gateway_resource"\s+"[\w-]+"\s*\{[^}]*?\bpath_part\s*=\s*"([^"]+)"', re.S),
    ),
    (
        "aws_apigatewayv2_route",
        re.compile(
            r'resource\s+"aws_apigatewayv2_route"\s+"[\w-]+"\s*\{[^}]*?\broute_key\s*=\s*"(?:[A-Z]+\s+)?([^"]+)"', re.S
        ),
    ),
]
_AZURE_HTTP_JS = re.compile(r"\bapp\.http\(\s*['\"`]([\w-]+)['\"`]\s*,\s*\{([^}]{0,400})", re.S)
_JS_ROUTE_KEY = re.compile(r"\broute\s*:\s*['\"`]([^'\"`]+)['\"`]")

# Serverless functions, and the platform features that collect their CPU and memory.
_FUNCTIONS: list[tuple[str, re.Pattern[str]]] = [
    ("AWS Lambda", re.compile(r"AWS::(?:Serverless|Lambda)::Function\b|resource\s+\"aws_lambda_function\"")),
    (
        "AWS Lambda",
        re.compile(
            r"\b(?:_?lambda|aws_lambda|lambda_nodejs|lambda_python|lambdaNodejs)\.(?:Function|NodejsFunction|PythonFunction)\("
            r"|new\s+(?:NodejsFunction|PythonFunction)\("
        ),
    ),
    (
        "Azure Functions",
        re.compile(r"resource\s+\"azurerm_(?:linux_|windows_)?function_app\"|\bfunc\.FunctionApp\(|@azure/functions"),
    ),
    ("Azure Functions", re.compile(r"kind\s*:\s*'functionapp")),
]
_PLATFORM_METRICS: list[tuple[str, re.Pattern[str]]] = [
    ("Lambda Insights", re.compile(r"LambdaInsights|lambdaInsights|lambda_insights|insightsVersion|insights_version")),
    (
        "Application Insights",
        re.compile(
            r"resource\s+\"azurerm_application_insights\"|Microsoft\.Insights/components@"
            r"|APPLICATIONINSIGHTS_CONNECTION_STRING|APPINSIGHTS_INSTRUMENTATIONKEY"
        ),
    ),
]
_TEMPLATE_HINT = re.compile(r"AWS::Serverless|AWS::ApiGateway|^functions\s*:", re.M)


_CODE_GROUP = textscan.Group.of(
    [rx for _, rx in _CODE_ROUTES] + [rx for _, rx in _FUNCTIONS] + [rx for _, rx in _PLATFORM_METRICS]
)


def collect_code(model: Monitoring, f: RepoFile, text: str) -> None:
    """Routes, functions and platform metrics declared in code or HCL (handlers, CDK, Terraform, Bicep)."""
    if not _CODE_GROUP.may_match_any(text) and "app.http(" not in text:
        return  # one pass over every pattern's literals: most code declares none of these
    code: str | None = None
    kind_of_file = file_family(f)
    for how, rx in _CODE_ROUTES:
        if family(rx) != kind_of_file or not textscan.may_match(rx, text) or not rx.search(text):
            continue
        code = strip_line_comments(text) if code is None else code  # a route in a comment serves nothing
        for m in rx.finditer(code):
            model.routes.append(Route(normalise_path(m.group(1)), Loc(f.path, line_at(code, m.start())), how))
    if "app.http(" in text:
        for m in _AZURE_HTTP_JS.finditer(text):
            route = _JS_ROUTE_KEY.search(m.group(2))
            path = route.group(1) if route else m.group(1)  # the route defaults to the function's name
            model.routes.append(
                Route(normalise_path(path), Loc(f.path, line_at(text, m.start())), "Azure Functions app.http")
            )
    for platform, rx in _FUNCTIONS if len(model.functions) < SHOWN else ():  # a few show that there are some
        if textscan.may_match(rx, text) and rx.search(text):
            code = strip_line_comments(text) if code is None else code
            if found := rx.search(code):
                model.functions.append((platform, Loc(f.path, line_at(code, found.start()))))
    for feature, rx in _PLATFORM_METRICS if len(model.platform_metrics) < SHOWN else ():
        if textscan.may_match(rx, text) and rx.search(text):
            code = strip_line_comments(text) if code is None else code  # Lambda Insights in a comment is off
            if found := rx.search(code):
                model.platform_metrics.append((feature, Loc(f.path, line_at(code, found.start()))))


def collect_template(model: Monitoring, f: RepoFile, text: str, yaml_docs: list[Any]) -> None:
    """Routes from serverless.yml, SAM and CloudFormation templates (YAML, already parsed, or JSON) and Azure
    function.json."""
    if f.name == "function.json":
        _function_json(model, f, text)
        return
    if not _TEMPLATE_HINT.search(text):
        return
    docs = yaml_docs
    if f.suffix == ".json":
        try:
            docs = [json.loads(text)]
        except (ValueError, RecursionError):  # a template that cannot be read adds no routes
            return
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        functions = doc.get("functions")
        if isinstance(functions, dict) and "provider" in doc:
            for name, fn in functions.items():
                model.functions.append(
                    ("Serverless Framework", Loc(f.path, find_line(text, rf"^\s*{re.escape(str(name))}\s*:") or 1))
                )
                for event in (fn.get("events") or []) if isinstance(fn, dict) else []:
                    _serverless_event(model, f, text, event)
            _serverless_alerts(model, f, text, doc, functions)
        for res in [
            doc.get("Resources"),
            (doc.get("resources") or {}).get("Resources") if isinstance(doc.get("resources"), dict) else None,
        ]:
            if isinstance(res, dict):
                for body in res.values():
                    if isinstance(body, dict):
                        _cfn_resource(model, f, text, body)


def _add(model: Monitoring, f: RepoFile, text: str, path: Any, how: str) -> None:
    if not isinstance(path, str) or not path.strip() or path.strip() == "*":
        return
    path = path.strip().split()[-1]  # "GET /health" -> "/health"
    line = find_line(text, re.escape(path.lstrip("/")) or re.escape(path)) or 1
    model.routes.append(Route(normalise_path(path), Loc(f.path, line), how))


def _serverless_event(model: Monitoring, f: RepoFile, text: str, event: Any) -> None:
    if not isinstance(event, dict):
        return
    for key in ("http", "httpApi"):
        spec = event.get(key)
        path = spec.get("path") if isinstance(spec, dict) else spec
        _add(model, f, text, path, f"serverless.yml {key} event")


# The Serverless Framework's alerts (v4, or serverless-plugin-aws-alerts): built-in definitions with their metric.
_BUILTIN_ALARMS = {
    "functionErrors": "Errors",
    "functionThrottles": "Throttles",
    "functionInvocations": "Invocations",
    "functionDuration": "Duration",
}


def _serverless_alerts(
    model: Monitoring, f: RepoFile, text: str, doc: dict[str, Any], functions: dict[str, Any]
) -> None:
    """`custom.alerts` alarms: they notify someone only through an `alarm` topic."""
    custom = doc.get("custom")
    alerts = custom.get("alerts") if isinstance(custom, dict) else None
    if not isinstance(alerts, dict):
        return
    topics = alerts.get("topics")
    notifies = isinstance(topics, dict) and bool(topics.get("alarm"))
    raw_defs = alerts.get("definitions")
    definitions: dict[str, Any] = raw_defs if isinstance(raw_defs, dict) else {}
    entries: list[Any] = []
    for key in ("alarms", "global", "function"):
        if isinstance(alerts.get(key), list):
            entries += alerts[key]
    for fn in functions.values():
        if isinstance(fn, dict) and isinstance(fn.get("alarms"), list):
            entries += fn["alarms"]
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else entry
        if not isinstance(name, str):
            continue
        spec = {**(definitions.get(name) or {}), **(entry if isinstance(entry, dict) else {})}
        builtin = name in _BUILTIN_ALARMS
        threshold = spec.get("threshold", "default" if builtin else None)
        duration = spec.get("evaluationPeriods", spec.get("period", "default" if builtin else None))
        line = find_line(text, rf"\b{re.escape(name)}\b") or 1
        model.cloud_alarms.append(
            CloudAlarm(
                provider="aws",
                kind="serverless alerts",
                name=name,
                metric=str(spec.get("metric") or _BUILTIN_ALARMS.get(name) or name),
                threshold=None if threshold is None else str(threshold),
                duration=None if duration is None else str(duration),
                has_actions=notifies and spec.get("actionsEnabled") is not False,
                loc=Loc(f.path, line),
            )
        )


def _cfn_resource(model: Monitoring, f: RepoFile, text: str, body: dict[str, Any]) -> None:
    kind = str(body.get("Type", ""))
    raw = body.get("Properties")
    props: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if kind == "AWS::Serverless::Function" and isinstance(props.get("Events"), dict):
        for event in props["Events"].values():
            if isinstance(event, dict) and event.get("Type") in ("Api", "HttpApi"):
                ev_props = event.get("Properties")
                if isinstance(ev_props, dict):
                    _add(model, f, text, ev_props.get("Path"), f"SAM {event['Type']} event")
    elif kind == "AWS::ApiGateway::Resource":
        _add(model, f, text, props.get("PathPart"), "AWS::ApiGateway::Resource")
    elif kind == "AWS::ApiGatewayV2::Route":
        _add(model, f, text, props.get("RouteKey"), "AWS::ApiGatewayV2::Route")


def _function_json(model: Monitoring, f: RepoFile, text: str) -> None:
    try:
        doc = json.loads(text)
    except ValueError:
        return
    bindings = doc.get("bindings") if isinstance(doc, dict) else None
    for b in bindings if isinstance(bindings, list) else []:
        if isinstance(b, dict) and b.get("type") == "httpTrigger":
            folder = posixpath.basename(posixpath.dirname(f.path))  # the route defaults to the function's folder
            route = b.get("route") or folder
            model.functions.append(("Azure Functions", Loc(f.path, 1)))
            _add(model, f, text, route, "Azure Functions function.json httpTrigger")


# Custom metrics sent to CloudWatch or Azure Monitor; group "name" is the metric's name.
# (library, pattern, gate: a word the file must hold, or None; the type it records)
_CLOUD_METRICS: list[tuple[str, re.Pattern[str], str | None, str]] = [
    (
        "CloudWatch PutMetricData",
        re.compile(
            r"(?:put_metric_data|putMetricData|PutMetricDataCommand)\s*\(.{0,800}?\bMetricName['\"]?\s*[:=]\s*"
            r"['\"`](?P<name>[\w.:/ -]+)['\"`]",
            re.S,
        ),
        None,
        "metric",
    ),
    (
        "CloudWatch Embedded Metric Format",
        re.compile(r"\.(?:put_metric|putMetric)\(\s*(?:key\s*=\s*)?['\"`](?P<name>[\w.:/ -]+)['\"`]"),
        "embedded",
        "metric",
    ),
    (
        "CloudWatch Embedded Metric Format",
        re.compile(
            r"CloudWatchMetrics.{0,400}?Metrics['\"]?\s*:\s*\[\s*\{\s*['\"]?Name['\"]?\s*:\s*['\"](?P<name>[\w.:/ -]+)",
            re.S,
        ),
        "CloudWatchMetrics",
        "metric",
    ),
    (
        "Lambda Powertools metrics",
        re.compile(r"\.(?:add_metric|addMetric)\(\s*(?:name\s*=\s*)?['\"`](?P<name>[\w.:/ -]+)['\"`]"),
        "powertools",
        "metric",
    ),
    (
        "Application Insights",
        re.compile(
            r"\b(?:track_metric|trackMetric|TrackMetric|GetMetric)\(\s*(?:name\s*=\s*)?['\"`](?P<name>[\w.:/ -]+)"
        ),
        None,
        "metric",
    ),
    (
        "Application Insights",
        re.compile(r"\btrackMetric\(\s*\{[^}]{0,200}?\bname\s*:\s*['\"`](?P<name>[\w.:/ -]+)", re.S),
        None,
        "metric",
    ),
    (
        "OpenCensus",
        re.compile(r"\bMeasure(?:Int|Float)\(\s*(?:name\s*=\s*)?['\"](?P<name>[\w.:/ -]+)['\"]"),
        "opencensus",
        "measure",
    ),
    (
        "Application Insights custom dimensions",
        re.compile(r"['\"]custom_dimensions['\"]\s*:\s*\{\s*['\"](?P<name>[\w.-]+)['\"]"),
        "custom_dimensions",
        "custom dimension",
    ),
]


_CLOUD_METRIC_GROUP = textscan.Group.of([rx for _, rx, _, _ in _CLOUD_METRICS])


def collect_metrics(model: Monitoring, f: RepoFile, text: str) -> None:
    """Custom metrics the application sends to CloudWatch or Azure Monitor."""
    if not _CLOUD_METRIC_GROUP.may_match_any(text):
        return
    for library, rx, gate, mtype in _CLOUD_METRICS:
        if (gate is not None and gate not in text) or not textscan.may_match(rx, text):
            continue
        for m in rx.finditer(text):
            model.metrics.append(
                MetricDef(m.group("name").strip(), mtype, library, Loc(f.path, line_at(text, m.start())))
            )
