"""Cloud alarms and dashboards declared in infrastructure code (Terraform, CloudFormation, CDK, Pulumi, Bicep)."""

from __future__ import annotations

import re

from harness.probes.monitoring_model import CloudAlarm, Dashboard, Loc, Monitoring, Panel, line_at
from harness.probes.repository import RepoFile

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


def collect_iac(model: Monitoring, f: RepoFile, text: str) -> None:
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
            start = line_at(text, m.start())
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
            start = line_at(text, m.start())
            panels = [Panel(title=f"widget {i + 1}", queries=[q.strip()]) for i, q in enumerate(queries[:30])]
            model.dashboards.append(Dashboard(kind, m.group(1), Loc(f.path, start, start + block.count("\n")), panels))
