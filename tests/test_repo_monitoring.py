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
    repo.write("app.py", app).write("monitoring/prometheus.yml", PROM).write("monitoring/alertmanager.yml", ALERTMANAGER)
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
