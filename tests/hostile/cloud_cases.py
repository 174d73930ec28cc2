"""Cloud and serverless projects whose author puts the evidence where it does nothing: in comments."""

from __future__ import annotations

from typing import Any

from tests.hostile import Env, HostileCase, commit_all, findings, no_pass

SILENT_ALARMS_TF = """\
resource "aws_sns_topic" "ops" { name = "ops" }

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "errors"
  metric_name         = "Errors"
  threshold           = 1
  evaluation_periods  = 1
  # alarm_actions     = [aws_sns_topic.ops.arn]
}
"""
SILENT_ALARMS_CDK = """\
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';

const cpu = new cloudwatch.Alarm(this, 'Cpu', { metric: cpuMetric, threshold: 80, evaluationPeriods: 3 });
// cpu.addAlarmAction(new actions.SnsAction(topic));
"""


def _silent_alarms(env: Env) -> list[str]:
    (env.project / "infra").mkdir()
    (env.project / "infra" / "main.tf").write_text(SILENT_ALARMS_TF)
    (env.project / "infra" / "stack.ts").write_text(SILENT_ALARMS_CDK)
    commit_all(env.project)
    return ["--scope", "repository"]


def _no_notifying_alarm(report: dict[str, Any] | None) -> str | None:
    got = findings(report, "repo.alert-rules")
    if not any(f["outcome"] == "fail" and "notify no one" in f["reason"] for f in got):
        return "alarms whose actions are commented out were not failed as notifying no one"
    credited = [f["reason"] for f in got if f["outcome"] == "pass" and "notify someone" in f["reason"]]
    return f"false pass: {credited[0]}" if credited else None


HTTPS_IN_COMMENTS_TF = """\
resource "azurerm_linux_web_app" "app" {
  name = "app"
  # https_only = true
}

resource "aws_cloudfront_distribution" "site" {
  default_cache_behavior {
    // viewer_protocol_policy = "redirect-to-https"
    target_origin_id = "app"
  }
}

# resource "aws_api_gateway_rest_api" "api" { name = "api" }
"""
HEALTH_IN_COMMENTS_PY = """\
def handler(event, context):
    # if event["path"] == "/health":
    #     return {"statusCode": 200}
    return {"statusCode": 404}
"""


def _https_in_comments(env: Env) -> list[str]:
    (env.project / "main.tf").write_text(HTTPS_IN_COMMENTS_TF)
    (env.project / "handler.py").write_text(HEALTH_IN_COMMENTS_PY)
    commit_all(env.project)
    return ["--scope", "repository"]


def _no_https_no_health(report: dict[str, Any] | None) -> str | None:
    problem = no_pass("repo.https-config")(report)
    if problem:
        return problem
    health = [f["reason"] for f in findings(report, "repo.monitoring-config") if "health check at" in f["reason"]]
    return f"false pass: {health[0]}" if health else None


CASES = [
    HostileCase("cloud-alarm-actions-in-comments", "false-pass", _silent_alarms, _no_notifying_alarm, deadline_s=120),
    HostileCase(
        "cloud-https-and-health-in-comments", "false-pass", _https_in_comments, _no_https_no_health, deadline_s=120
    ),
]
