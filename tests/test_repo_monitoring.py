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
    findings = run_check("repo.monitoring-config", repo.path)
    [f] = [f for f in findings if f.outcome is Outcome.FAIL]
    assert "no monitoring configuration" in f.reason
    # The health route is still read from the code: availability evidence does not need a Prometheus config.
    assert [f.reason for f in findings if f.outcome is Outcome.PASS] == [
        "the application serves a health check at /health (app.py:6)"
    ]


def test_monitoring_only_in_readme_is_claimed_not_configured(make_repo):
    repo = make_repo()
    repo.write("app.py", FLASK_NO_METRICS).write("README.md", "# App\n\nMonitored with Prometheus and Grafana.\n")
    repo.commit("app")
    [f] = [f for f in run_check("repo.monitoring-config", repo.path) if f.outcome is Outcome.FAIL]
    assert "claimed, not configured" in f.reason
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
    from harness.probes import promtool

    monkeypatch.setattr(promtool, "promtool_path", lambda: None)
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


# -- repo.dashboards ------------------------------------------------------------------------
GRAFANA = {
    "title": "Service overview",
    "schemaVersion": 39,
    "panels": [
        {"type": "row", "title": "App", "panels": []},
        {"type": "timeseries", "title": "Error rate", "targets": [{"expr": "rate(http_requests_total[5m])"}]},
        {"type": "stat", "title": "CPU", "targets": [{"expr": "rate(process_cpu_seconds_total[1m])"}]},
    ],
}
PROVIDER = "apiVersion: 1\nproviders:\n  - name: default\n    options:\n      path: /var/lib/grafana/dashboards\n"


def test_grafana_dashboard_with_provisioning_passes(make_repo):
    repo = make_repo()
    repo.write("grafana/dashboards/overview.json", json.dumps(GRAFANA, indent=2))
    repo.write("grafana/provisioning/dashboards/default.yml", PROVIDER).commit("dashboards")
    findings = run_check("repo.dashboards", repo.path)
    assert worst_of(findings) is Outcome.PASS, reasons(findings)
    board = next(f for f in findings if "Service overview" in f.reason)
    assert "2 panel(s): Error rate, CPU" in board.reason
    assert "process_cpu_seconds_total" in board.evidence[0].excerpt


def test_no_dashboard_fails(make_repo):
    repo = make_repo()
    repo.write("app.py", FLASK_WITH_METRICS).write("package.json", '{"name": "x", "panels": 3}').commit("app")
    [f] = run_check("repo.dashboards", repo.path)
    assert f.outcome is Outcome.FAIL


def test_dashboard_without_queries_does_not_pass(make_repo):
    empty = {"title": "Empty", "schemaVersion": 39, "panels": [{"type": "text", "title": "Notes"}]}
    repo = make_repo()
    repo.write("grafana/empty.json", json.dumps(empty)).commit("empty")
    findings = run_check("repo.dashboards", repo.path)
    assert worst_of(findings) is Outcome.FAIL
    assert any(f.outcome is Outcome.WARN and "no panel with a query" in f.reason for f in findings)


def test_malformed_dashboard_json_fails_naming_file(make_repo):
    repo = make_repo()
    repo.write("grafana/dashboards/broken.json", '{"title": "x", "panels": [').commit("broken")
    findings = run_check("repo.dashboards", repo.path)
    assert any(f.outcome is Outcome.FAIL and "grafana/dashboards/broken.json" in f.reason for f in findings)


def test_cloudwatch_dashboard_and_console_template_pass(make_repo):
    tf = (
        'resource "aws_cloudwatch_dashboard" "main" {\n  dashboard_name = "main"\n  dashboard_body = jsonencode({\n'
        '    widgets = [{ type = "metric", properties = { metrics = [["AWS/EC2", "CPUUtilization"]] } }]\n  })\n}\n'
    )
    console = '{{ template "head" . }}\n<h1>App</h1>\n{{ template "prom_query_drilldown" (args "up{job=\'app\'}") }}\n'
    repo = make_repo()
    repo.write("infra/dash.tf", tf).write("consoles/app.html", console).commit("dash")
    findings = run_check("repo.dashboards", repo.path)
    assert worst_of(findings) is Outcome.PASS, reasons(findings)
    text = reasons(findings)
    assert "cloudwatch dashboard 'main' (infra/dash.tf:1)" in text and "console dashboard 'App'" in text


# -- repo.custom-metrics ------------------------------------------------------------------
def test_business_metric_is_custom(make_repo):
    repo = make_repo()
    repo.write("app.py", FLASK_WITH_METRICS).commit("app")
    findings = run_check("repo.custom-metrics", repo.path)
    assert worst_of(findings) is Outcome.PASS
    custom = next(f for f in findings if "custom metric(s)" in f.reason)
    assert "tasks_created_total (counter, app.py:7)" in custom.reason
    assert "http_requests_total" not in custom.reason and "request_latency_seconds" not in custom.reason
    standard = next(f for f in findings if "standard instrumentation" in f.reason)
    assert "http_requests_total" in standard.reason


def test_only_standard_metrics_fail(make_repo):
    app = FLASK_WITH_METRICS.replace('TASKS = Counter("tasks_created_total", "Tasks created by users")\n', "")
    repo = make_repo()
    repo.write("app.py", app).write(
        "tests/test_app.py", 'from prometheus_client import Gauge\nG = Gauge("fake_queue_depth", "x")\n'
    )
    repo.commit("app")
    findings = run_check("repo.custom-metrics", repo.path)
    [f] = findings
    assert f.outcome is Outcome.FAIL and "no custom metric" in f.reason and "fake_queue_depth" not in f.reason


def test_prom_client_and_go_custom_metrics(make_repo):
    js = "const client = require('prom-client');\nconst q = new client.Gauge({\n  name: 'queue_depth',\n});\n"
    go = (
        'package main\nimport "github.com/prometheus/client_golang/prometheus"\n'
        'var orders = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "shop", Name: "orders_total"}, nil)\n'
    )
    repo = make_repo()
    repo.write("src/metrics.js", js).write("main.go", go).commit("metrics")
    [f] = run_check("repo.custom-metrics", repo.path)
    assert f.outcome is Outcome.PASS
    assert "queue_depth (gauge, src/metrics.js:2)" in f.reason and "shop_orders_total" in f.reason


def test_collections_counter_is_not_a_metric(make_repo):
    repo = make_repo()
    repo.write("app.py", 'from collections import Counter\nc = Counter("hello")\n').commit("app")
    [f] = run_check("repo.custom-metrics", repo.path)
    assert f.outcome is Outcome.FAIL and "no metric at all" in f.reason


def test_absolute_rule_files_glob_finds_the_copied_folder_only(make_repo):
    prom = PROM.replace("  - alerts.yml", "  - /etc/prometheus/rules/*.yml")
    repo = monitored_repo(
        make_repo,
        rules=None,
        extra={
            "monitoring/prometheus.yml": prom,
            "monitoring/rules/app.yml": COMPLETE_RULES,
            ".github/ci.yml": "on: push\n",
        },
    )
    findings = run_check("repo.alert-rules", repo.path)
    assert worst_of(findings) is Outcome.PASS, reasons(findings)
    assert ".github/ci.yml" not in reasons(findings)


def test_bad_input_gives_findings_not_tracebacks(make_repo):
    repo = make_repo()
    repo.write("app.py", FLASK_WITH_METRICS).write("prometheus.yml", PROM.replace("alerts.yml", "rules.yml"))
    repo.write("rules.yml", b"\x00\x01binary\x00").write("other.yml", "key: [unclosed\n")
    repo.write("grafana/huge.json", "{" + " " * 1_100_000 + "}").write("docs/stories.md", b"\xff\xfe\x00")
    repo.commit("junk")
    for check_id in ("repo.monitoring-config", "repo.alert-rules", "repo.dashboards", "repo.custom-metrics"):
        findings = run_check(check_id, repo.path)
        assert findings and all(f.reason for f in findings)
    mon = run_check("repo.monitoring-config", repo.path)
    assert not any("other.yml" in f.reason for f in mon)  # unrelated YAML is not monitoring config
    dash = run_check("repo.dashboards", repo.path)
    assert worst_of(dash) is Outcome.FAIL
    rules = run_check("repo.alert-rules", repo.path)
    assert any(f.outcome is Outcome.FAIL and "rules.yml, which is binary" in f.reason for f in rules)
