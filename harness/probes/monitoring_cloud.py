"""Cloud alarms and dashboards declared in infrastructure code (Terraform, CloudFormation/SAM, CDK in Python and
TypeScript, Pulumi, Bicep), with whether each alarm notifies anyone."""

from __future__ import annotations

import re

from harness import textscan
from harness.probes.inventory_files import strip_line_comments
from harness.probes.monitoring_model import CloudAlarm, Dashboard, Loc, Monitoring, Panel, line_at
from harness.probes.repository import RepoFile

_TF = r'resource\s+"{}"\s+"([\w-]+)"'
_BICEP = r"resource\s+(\w+)\s+'{}@"
_CFN = r"(?m)^\s*['\"]?([\w-]+)['\"]?\s*:\s*\{{?\s*\n?\s*['\"]?Type['\"]?\s*:\s*['\"]?{}\b"
# (provider, kind, start of the declaration; group 1 is its name)
_ALARM_START: list[tuple[str, str, re.Pattern[str]]] = [
    ("aws", "aws_cloudwatch_metric_alarm", re.compile(_TF.format("aws_cloudwatch_metric_alarm"))),
    ("aws", "AWS::CloudWatch::Alarm", re.compile(_CFN.format("AWS::CloudWatch::Alarm"))),
    ("aws", "cloudwatch.MetricAlarm", re.compile(r"cloudwatch\.MetricAlarm\(\s*['\"]([\w-]+)['\"]")),
    (
        "aws",
        "cloudwatch.Alarm",
        re.compile(r"new\s+(?:\w+\.)?(?:cloudwatch\.)?Alarm\(\s*this\s*,\s*['\"`]([\w-]+)['\"`]"),
    ),
    ("aws", "cloudwatch.Alarm", re.compile(r"\b(?:cloudwatch\.)?Alarm\(\s*self\s*,\s*['\"]([\w-]+)['\"]")),
    (
        "aws",
        "createAlarm",
        re.compile(r"\.(?:createAlarm|create_alarm)\(\s*(?:this|self|scope|stack)\s*,\s*['\"`]([\w-]+)"),
    ),
    ("azure", "azurerm_monitor_metric_alert", re.compile(_TF.format("azurerm_monitor_metric_alert"))),
    (
        "azure",
        "azurerm_monitor_scheduled_query_rules_alert",
        re.compile(_TF.format(r"azurerm_monitor_scheduled_query_rules_alert(?:_v2)?")),
    ),
    ("azure", "azurerm_monitor_activity_log_alert", re.compile(_TF.format("azurerm_monitor_activity_log_alert"))),
    ("azure", "Microsoft.Insights/metricAlerts", re.compile(_BICEP.format("Microsoft.Insights/metricAlerts"), re.I)),
    (
        "azure",
        "Microsoft.Insights/scheduledQueryRules",
        re.compile(_BICEP.format("Microsoft.Insights/scheduledQueryRules"), re.I),
    ),
    ("azure", "insights.MetricAlert", re.compile(r"insights\.MetricAlert\(\s*['\"]([\w-]+)['\"]")),
    ("gcp", "google_monitoring_alert_policy", re.compile(_TF.format("google_monitoring_alert_policy"))),
    ("gcp", "monitoring.AlertPolicy", re.compile(r"monitoring\.AlertPolicy\(\s*['\"]([\w-]+)['\"]")),
    ("digitalocean", "digitalocean_monitor_alert", re.compile(_TF.format("digitalocean_monitor_alert"))),
    ("digitalocean", "digitalocean_uptime_alert", re.compile(_TF.format("digitalocean_uptime_alert"))),
]
_ALARM_METRIC = re.compile(
    r"(?i)\b(?:metric_name|metricName|MetricName|metric_type|filter)\b['\"]?\s*[:=]\s*['\"]?([^'\"\n,}]+)"
)
_CDK_METRIC = re.compile(r"\bmetric\s*[:=]\s*([^,\n}]+)")  # CDK: metric: fn.metricErrors()
_METRIC_BEFORE = re.compile(r"([\w.]+\([^()\n]*\))\s*$")  # fn.metric_errors().create_alarm(...)
_ALARM_THRESHOLD = re.compile(r"(?i)\b(?:threshold|threshold_value|thresholdValue)\b['\"]?\s*[:=]\s*['\"]?([\d.]+)")
_ALARM_DURATION = re.compile(
    r"(?i)\b(?:evaluation_periods|evaluationPeriods|EvaluationPeriods|duration|window_size|windowSize|time_window"
    r"|evaluation_frequency|evaluationFrequency)\b['\"]?\s*[:=]\s*['\"]?([\w.]+)"
)
# An action key with something in it (not `[]`), an HCL action block with a target, or a CDK action call.
_ALARM_ACTIONS = re.compile(
    r"(?i)\b(?:alarm_actions|alarmActions|AlarmActions|notification_channels|notificationChannels|actionGroups)\b"
    r"['\"]?\s*[:=]\s*(?!\[\s*\])[\[\w!$'\"-]"
    r"|\baction\s*\{[^}]*\baction_groups?(?:_id)?\s*=\s*(?!\[\s*\])\S"
    r"|\bactions\s*:\s*\[\s*\{[^\]]*actionGroupId|\bactions\s*\{[^}]*action_groups\s*=\s*\[\s*\S"
    r"|\bactionGroupId\b['\"]?\s*:\s*\S|\baddAlarmAction\(|\badd_alarm_action\("
)
_DO_TARGETS = re.compile(r"\b(?:email\s*=\s*\[\s*[^\]\s]|slack\s*\{)")
_DO_METRIC = re.compile(r'\btype\s*=\s*"([^"]+)"')
_DO_VALUE = re.compile(r"\b(?:value|threshold)\s*=\s*\"?([\d.]+)")
_DO_WINDOW = re.compile(r'\b(?:window|period)\s*=\s*"([^"]+)"')
_ASSIGNED = re.compile(r"(?:this\.|self\.)?(\w+)\s*(?::\s*[\w.<>]+\s*)?=\s*(?:new\s+)?[\w.()\s]*$")

_DASHBOARD_IAC: list[tuple[str, re.Pattern[str]]] = [
    ("cloudwatch", re.compile(_TF.format("aws_cloudwatch_dashboard"))),
    ("cloudwatch", re.compile(r"cloudwatch\.Dashboard\(\s*(?:this\s*,\s*|self\s*,\s*)?['\"`]([\w-]+)['\"`]")),
    ("cloudwatch", re.compile(_CFN.format("AWS::CloudWatch::Dashboard"))),
    ("azure", re.compile(_TF.format(r"azurerm_(?:portal_)?dashboard"))),
    ("azure", re.compile(_TF.format("azurerm_application_insights_workbook"))),
    ("azure", re.compile(_BICEP.format("Microsoft.Portal/dashboards"), re.I)),
    ("azure", re.compile(_BICEP.format("Microsoft.Insights/workbooks"), re.I)),
    ("azure", re.compile(r"portal\.Dashboard\(\s*['\"]([\w-]+)['\"]")),
    ("gcp", re.compile(_TF.format("google_monitoring_dashboard"))),
    ("grafana-iac", re.compile(_TF.format("grafana_dashboard"))),
]
_QUERY = re.compile(r'(?i)"?(?:metrics|expression|query|filter|metricName)"?\s*[:=]\s*([^\n]{1,160})')
_CDK_WIDGET = re.compile(
    r"\b(GraphWidget|SingleValueWidget|GaugeWidget|AlarmWidget|AlarmStatusWidget|LogQueryWidget|TableWidget)\("
)
_WIDGET_QUERY = re.compile(r"\b(?:left|right|metrics|alarm|query_string|queryString)\s*[:=]\s*([^\n]{1,160})")
_WIDGETS_ADDED = re.compile(r"\.(?:addWidgets|add_widgets)\(|\bwidgets\s*[:=]\s*\[")


_SUFFIX_FAMILY = {".tf": "tf", ".hcl": "tf", ".bicep": "bicep", ".yaml": "cfn", ".yml": "cfn", ".json": "cfn"}


def family(rx: re.Pattern[str]) -> str:
    """Which files a declaration pattern can match in: tf, bicep, cfn (YAML/JSON templates) or code."""
    if rx.pattern.startswith('resource\\s+"'):
        return "tf"
    if rx.pattern.startswith("resource\\s+(\\w+)"):
        return "bicep"
    return "cfn" if "Type['\\\"]?" in rx.pattern else "code"


# Each family's patterns, and one literal prefilter over them all: most files declare no alarm or dashboard.
_ALARMS_IN = {k: [a for a in _ALARM_START if family(a[2]) == k] for k in ("tf", "bicep", "cfn", "code")}
_DASHBOARDS_IN = {k: [d for d in _DASHBOARD_IAC if family(d[1]) == k] for k in ("tf", "bicep", "cfn", "code")}
_GROUP_IN = {
    k: textscan.Group.of([a[2] for a in _ALARMS_IN[k]] + [d[1] for d in _DASHBOARDS_IN[k]]) for k in _ALARMS_IN
}


def file_family(f: RepoFile) -> str:
    return _SUFFIX_FAMILY.get(f.suffix, "code")


def block_after(text: str, pos: int, max_lines: int = 60) -> str:
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


def _cdk_action_elsewhere(text: str, start: int, end: int) -> bool:
    """A CDK alarm whose action is added after it: chained, or through the variable it was assigned to."""
    if re.match(r"\s*\.\s*(?:addAlarmAction|add_alarm_action)\(", text[end : end + 200]):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    assigned = _ASSIGNED.search(text[line_start:start])
    if not assigned:
        return False
    call = rf"\b{re.escape(assigned.group(1))}\s*\.\s*(?:addAlarmAction|add_alarm_action)\("
    return bool(re.search(call, text))  # text: comments already blanked


def _alarm(provider: str, kind: str, name: str, text: str, span: tuple[int, int], block: str, loc: Loc) -> CloudAlarm:
    start, end = span
    if provider == "digitalocean":
        alerts = block_after(block, block.find("alerts {")) if "alerts {" in block else ""
        notif = block_after(block, block.find("notifications {")) if "notifications {" in block else ""
        metric = _DO_METRIC.search(block)
        value = _DO_VALUE.search(block)
        window = _DO_WINDOW.search(block)
        uptime = kind == "digitalocean_uptime_alert"
        return CloudAlarm(
            provider=provider,
            kind=kind,
            name=name,
            metric=("uptime " if uptime else "") + (metric.group(1) if metric else ""),
            threshold=value.group(1) if value else ("down" if uptime and metric else None),
            duration=window.group(1) if window else None,
            has_actions=bool(_DO_TARGETS.search(alerts + notif)),
            loc=loc,
        )
    metric = _ALARM_METRIC.search(block) or _CDK_METRIC.search(block)
    if metric is None and kind == "createAlarm":
        metric = _METRIC_BEFORE.search(text[text.rfind("\n", 0, start) + 1 : start])
    threshold = _ALARM_THRESHOLD.search(block)
    duration = _ALARM_DURATION.search(block)
    has_actions = bool(_ALARM_ACTIONS.search(block))
    if not has_actions and kind in ("cloudwatch.Alarm", "createAlarm"):
        has_actions = _cdk_action_elsewhere(text, start, end)
    default_window = "PT5M (default)" if kind == "azurerm_monitor_metric_alert" else None  # Azure's default window
    return CloudAlarm(
        provider=provider,
        kind=kind,
        name=name,
        metric=metric.group(1).strip() if metric else None,
        threshold=threshold.group(1) if threshold else None,
        duration=duration.group(1) if duration else default_window,
        has_actions=has_actions,
        loc=loc,
    )


def collect_iac(model: Monitoring, f: RepoFile, text: str) -> None:
    code: str | None = None  # the text with comments blanked: an alarm, action or widget in a comment does nothing
    kind_of_file = file_family(f)  # each pattern is tried only on the kind of file it can occur in
    if not _GROUP_IN[kind_of_file].may_match_any(text):
        return
    for provider, kind, rx in _ALARMS_IN[kind_of_file]:
        if not textscan.may_match(rx, text):
            continue  # cheap literal test first: these patterns are tried on every code and config file
        code = strip_line_comments(text) if code is None else code
        for m in rx.finditer(code):
            cfn = kind.startswith("AWS::")
            block = "\n".join(code[m.start() :].splitlines()[:40]) if cfn else block_after(code, m.start())
            start = line_at(code, m.start())
            loc = Loc(f.path, start, start + block.count("\n"))
            model.cloud_alarms.append(
                _alarm(provider, kind, m.group(1), code, (m.start(), m.start() + len(block)), block, loc)
            )
    for kind, rx in _DASHBOARDS_IN[kind_of_file]:
        if not textscan.may_match(rx, text):
            continue
        code = strip_line_comments(text) if code is None else code
        for m in rx.finditer(code):
            block = block_after(code, m.start())
            start = line_at(code, m.start())
            panels = [Panel(title=f"widget {i + 1}", queries=[q.strip()]) for i, q in enumerate(_QUERY.findall(block))]
            if "Dashboard(" in m.group(0) and _WIDGETS_ADDED.search(code):
                # CDK adds widgets after construction: dashboard.addWidgets(new GraphWidget({...}))
                for w in list(_CDK_WIDGET.finditer(code))[:30]:
                    body = block_after(code, w.start())
                    title = re.search(r"\btitle\s*[:=]\s*['\"`]([^'\"`]+)", body)
                    queries = [q.strip() for q in _WIDGET_QUERY.findall(body)]
                    panels.append(Panel(title.group(1) if title else w.group(1), queries or [w.group(1)]))
            model.dashboards.append(
                Dashboard(kind, m.group(1), Loc(f.path, start, start + block.count("\n")), panels[:30])
            )
