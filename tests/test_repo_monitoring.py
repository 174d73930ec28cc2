"""repo.monitoring-config, repo.alert-rules, repo.dashboards, repo.custom-metrics on real fixture repositories."""

from __future__ import annotations

import json
import shutil

import pytest

from harness.model import Outcome
from tests.conftest import run_check

PROM = """\
global:
  scrape_interval: 15s
rule_files:
  - alerts.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["alertmanager:9093"]
scrape_configs:
  - job_name: app
    static_configs:
      - targets: ["app:5000"]
  - job_name: node
    static_configs:
      - targets: ["node-exporter:9100"]
"""

FLASK_WITH_METRICS = """\
from flask import Flask
from prometheus_client import Counter, Histogram, make_wsgi_app

app = Flask(__name__)
REQUESTS = Counter("http_requests_total", "Requests", ["status"])
LATENCY = Histogram("request_latency_seconds", "Latency")
TASKS = Counter("tasks_created_total", "Tasks created by users")


@app.route("/health")
def health():
    return {"status": "ok"}


@app.route("/metrics")
def metrics():
    return make_wsgi_app()
"""

FLASK_NO_METRICS = """\
from flask import Flask

app = Flask(__name__)


@app.route("/health")
def health():
    return {"status": "ok"}


@app.get("/tasks")
def tasks():
    return []
"""

COMPLETE_RULES = """\
groups:
  - name: app
    rules:
      - alert: HighCpu
        expr: rate(process_cpu_seconds_total[5m]) > 0.8
        for: 5m
        labels: {severity: warning}
      - alert: HighMemory
        expr: process_resident_memory_bytes > 500e6
        for: 5m
      - alert: HighErrorRate
        expr: sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05
        for: 2m
      - alert: AppDown
        expr: up{job="app"} == 0
        for: 1m
"""

ALERTMANAGER = """\
route:
  receiver: team
receivers:
  - name: team
    email_configs:
      - to: ops@example.org
"""


def outcomes(findings):
    return [f.outcome for f in findings]


def worst_of(findings):
    from harness.model import worst

    return worst(outcomes(findings))


def reasons(findings):
    return "\n".join(f.reason for f in findings)


def monitored_repo(make_repo, app=FLASK_WITH_METRICS, rules=COMPLETE_RULES, extra=None):
    repo = make_repo()
    repo.write("app.py", app).write("monitoring/prometheus.yml", PROM).write(
        "monitoring/alertmanager.yml", ALERTMANAGER
    )
    if rules is not None:
        repo.write("monitoring/alerts.yml", rules)
    for path, content in (extra or {}).items():
        repo.write(path, content)
    repo.commit("monitoring")
    return repo


# -- repo.monitoring-config ----------------------------------------------------------------
def test_monitoring_config_passes_when_app_serves_scraped_path(make_repo):
    repo = monitored_repo(make_repo)
    findings = run_check("repo.monitoring-config", repo.path)
    assert worst_of(findings) is Outcome.PASS, reasons(findings)
    text = reasons(findings)
    assert "node-exporter" in text and "/health" in text
    assert any(e.path == "monitoring/prometheus.yml" and e.start_line == 10 for f in findings for e in f.evidence)


def test_scrape_of_metrics_path_the_app_does_not_serve_fails(make_repo):
    repo = monitored_repo(make_repo, app=FLASK_NO_METRICS)
    findings = run_check("repo.monitoring-config", repo.path)
    [bad] = [f for f in findings if f.outcome is Outcome.FAIL]
    assert "scrape job app (monitoring/prometheus.yml:10)" in bad.reason
    assert "/metrics" in bad.reason and "/tasks" in bad.reason and "/health" in bad.reason
    assert bad.remediation


def test_custom_metrics_path_must_match(make_repo):
    prom = PROM.replace("  - job_name: app\n", "  - job_name: app\n    metrics_path: /stats\n")
    repo = monitored_repo(make_repo, extra={"monitoring/prometheus.yml": prom})
    findings = run_check("repo.monitoring-config", repo.path)
    assert any(f.outcome is Outcome.FAIL and "/stats" in f.reason for f in findings)


def test_no_monitoring_config_fails(make_repo):
    repo = make_repo()
    repo.write("app.py", FLASK_NO_METRICS).commit("app")
    [f] = run_check("repo.monitoring-config", repo.path)
    assert f.outcome is Outcome.FAIL and "no monitoring configuration" in f.reason


def test_monitoring_only_in_readme_is_claimed_not_configured(make_repo):
    repo = make_repo()
    repo.write("app.py", FLASK_NO_METRICS).write("README.md", "# App\n\nMonitored with Prometheus and Grafana.\n")
    repo.commit("app")
    [f] = run_check("repo.monitoring-config", repo.path)
    assert f.outcome is Outcome.FAIL and "claimed, not configured" in f.reason
    assert f.evidence[0].path == "README.md" and f.evidence[0].start_line == 3


def test_prometheus_config_embedded_in_compose(make_repo):
    compose = (
        "services:\n  app:\n    build: .\n  cadvisor:\n    image: gcr.io/cadvisor/cadvisor:v0.47.0\n"
        "configs:\n  prom:\n    content: |\n      scrape_configs:\n        - job_name: web\n"
        "          static_configs:\n            - targets: ['app:5000']\n"
    )
    repo = make_repo()
    repo.write("app.py", FLASK_WITH_METRICS).write("compose.yaml", compose).commit("compose")
    findings = run_check("repo.monitoring-config", repo.path)
    assert worst_of(findings) is Outcome.PASS, reasons(findings)
    assert "cadvisor" in reasons(findings) and "(embedded)" in reasons(findings)


def test_malformed_prometheus_config_fails_naming_file(make_repo):
    repo = make_repo()
    repo.write("app.py", FLASK_WITH_METRICS).write("prometheus.yml", "scrape_configs:\n  - job_name: [app\n")
    repo.commit("bad")
    findings = run_check("repo.monitoring-config", repo.path)
    assert any(f.outcome is Outcome.FAIL and "prometheus.yml" in f.reason and "YAML" in f.reason for f in findings)


def test_uncommitted_monitoring_does_not_count(make_repo):
    repo = make_repo()
    repo.write("app.py", FLASK_WITH_METRICS).commit("app")
    (repo.path / "prometheus.yml").write_text(PROM)
    findings = run_check("repo.monitoring-config", repo.path)
    assert worst_of(findings) is Outcome.FAIL


# -- repo.alert-rules --------------------------------------------------------------------
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")


@needs_promtool
def test_complete_rule_set_passes(make_repo):
    repo = monitored_repo(make_repo)
    findings = run_check("repo.alert-rules", repo.path)
    assert worst_of(findings) is Outcome.PASS, reasons(findings)
    text = reasons(findings)
    assert "promtool accepts 4 alert(s)" in text
    assert "CPU: HighCpu" in text and "memory: HighMemory" in text and "availability: AppDown" in text
    assert any(
        e.kind == "command" and e.command[:3] == ["promtool", "check", "rules"] for f in findings for e in f.evidence
    )


@needs_promtool
def test_rule_file_with_promql_syntax_error_fails_with_promtool_output(make_repo):
    broken = COMPLETE_RULES.replace(
        "rate(process_cpu_seconds_total[5m]) > 0.8", "rate(process_cpu_seconds_total[5m] > 0.8"
    )
    repo = monitored_repo(make_repo, rules=broken)
    findings = run_check("repo.alert-rules", repo.path)
    [bad] = [f for f in findings if f.outcome is Outcome.FAIL]
    assert "promtool rejects" in bad.reason and "monitoring/alerts.yml" in bad.reason
    cmd = next(e for e in bad.evidence if e.kind == "command")
    assert "monitoring/alerts.yml" in cmd.excerpt and "harness-promtool" not in cmd.excerpt


@needs_promtool
def test_rule_file_with_yaml_error_fails(make_repo):
    repo = monitored_repo(make_repo, rules="groups:\n  - name: app\n    rules:\n      - alert: [Oops\n")
    findings = run_check("repo.alert-rules", repo.path)
    assert any(f.outcome is Outcome.FAIL and "monitoring/alerts.yml" in f.reason for f in findings)


def test_rule_without_for_fails_naming_it(make_repo):
    rules = COMPLETE_RULES.replace(
        "        expr: process_resident_memory_bytes > 500e6\n        for: 5m\n",
        "        expr: process_resident_memory_bytes > 500e6\n",
    )
    repo = monitored_repo(make_repo, rules=rules)
    findings = run_check("repo.alert-rules", repo.path)
    fails = [f for f in findings if f.outcome is Outcome.FAIL]
    assert any("HighMemory (monitoring/alerts.yml:8)" in f.reason and "`for`" in f.reason for f in fails)
    # the rule without `for` does not count for memory coverage either
    assert any("covers memory" in f.reason for f in fails)


def test_missing_memory_coverage_fails(make_repo):
    rules = COMPLETE_RULES.replace(
        "      - alert: HighMemory\n        expr: process_resident_memory_bytes > 500e6\n        for: 5m\n", ""
    )
    repo = monitored_repo(make_repo, rules=rules)
    findings = run_check("repo.alert-rules", repo.path)
    [gap] = [f for f in findings if "covers" in f.reason]
    assert gap.outcome is Outcome.FAIL and "covers memory" in gap.reason and "CPU" not in gap.reason.split("(")[0]


def test_alerting_promised_in_readme_without_rules_fails(make_repo):
    repo = make_repo()
    repo.write("app.py", FLASK_WITH_METRICS).write("README.md", "# App\n\nAlerts page the team on Slack.\n")
    repo.commit("app")
    [f] = run_check("repo.alert-rules", repo.path)
    assert f.outcome is Outcome.FAIL
    assert "claimed in the documentation (README.md:3)" in f.reason and "no alert rule" in f.reason


def test_no_alertmanager_wiring_fails(make_repo):
    repo = monitored_repo(make_repo, extra={"monitoring/prometheus.yml": PROM.replace("alerting:", "unused:")})
    (repo.path / "monitoring/alertmanager.yml").unlink()
    repo.commit("drop alertmanager")
    findings = run_check("repo.alert-rules", repo.path)
    [f] = [f for f in findings if "notify no one" in f.reason]
    assert f.outcome is Outcome.FAIL and "no Alertmanager config" in f.reason


def test_referenced_rule_file_missing_fails(make_repo):
    repo = monitored_repo(make_repo, rules=None)
    findings = run_check("repo.alert-rules", repo.path)
    assert any(f.outcome is Outcome.FAIL and "lists alerts.yml" in f.reason for f in findings)


def test_promtool_absent_is_could_not_check(make_repo, monkeypatch):
    from harness.probes import monitoring

    monkeypatch.setattr(monitoring, "promtool_path", lambda: None)
    repo = monitored_repo(make_repo)
    findings = run_check("repo.alert-rules", repo.path)
    [f] = [f for f in findings if "promtool" in f.reason]
    assert f.outcome is Outcome.COULD_NOT_CHECK and f.remediation


TF_ALARMS = """\
resource "aws_sns_topic" "ops" { name = "ops" }

resource "aws_cloudwatch_metric_alarm" "cpu_high" {
  alarm_name          = "cpu-high"
  metric_name         = "CPUUtilization"
  namespace           = "AWS/EC2"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 80
  evaluation_periods  = 2
  period              = 60
  statistic           = "Average"
  alarm_actions       = [aws_sns_topic.ops.arn]
}

resource "aws_cloudwatch_metric_alarm" "mem_high" {
  metric_name         = "MemoryUtilization"
  threshold           = 85
  evaluation_periods  = 3
  alarm_actions       = [aws_sns_topic.ops.arn]
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  metric_name         = "HTTPCode_Target_5XX_Count"
  threshold           = 10
  evaluation_periods  = 1
  alarm_actions       = [aws_sns_topic.ops.arn]
}

resource "aws_cloudwatch_metric_alarm" "unhealthy" {
  metric_name         = "UnHealthyHostCount"
  threshold           = 0
  evaluation_periods  = 2
}
"""


def test_cloudwatch_alarms_in_terraform_count_as_rules(make_repo):
    repo = make_repo()
    repo.write("app.py", FLASK_WITH_METRICS).write("infra/alarms.tf", TF_ALARMS).commit("alarms")
    findings = run_check("repo.alert-rules", repo.path)
    [cov] = [f for f in findings if "cover" in f.reason]
    assert cov.outcome is Outcome.PASS, reasons(findings)
    assert "CPU: cpu_high" in cov.reason and "memory: mem_high" in cov.reason
    [warn] = [f for f in findings if f.outcome is Outcome.WARN]
    assert "unhealthy (infra/alarms.tf:29)" in warn.reason
    # the same alarms also count as host CPU/RAM monitoring
    mon = run_check("repo.monitoring-config", repo.path)
    assert any(f.outcome is Outcome.PASS and "cloud alarms" in f.reason for f in mon)
