"""live.prometheus-targets, live.alert-rules, live.alertmanager, live.alert-fires against real servers.

Prometheus, Alertmanager and node-exporter are Debian's binaries on loopback;
the app is a prometheus-client process whose fault switch a command flips.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import Config
from harness.model import Finding, Outcome
from harness.probes.prometheus import classify, metric_names, split_threshold
from tests.conftest import run_check
from tests.promhelpers import App, Server, start_alertmanager, start_node_exporter, start_prometheus

GOOD_RULES = """
groups:
  - name: platform
    rules:
      - alert: HighCpu
        expr: rate(process_cpu_seconds_total[1m]) > 0.9
        for: 2s
      - alert: HighMemory
        expr: process_resident_memory_bytes > 4e9
        for: 2s
      - alert: HighErrorRate
        expr: sum(rate(http_requests_total{code=~"5.."}[10s])) / sum(rate(http_requests_total[10s])) > 0.5
        for: 2s
      - alert: InstanceDown
        expr: up{job="app"} == 0
        for: 2s
"""

BAD_RULES = """
groups:
  - name: platform
    rules:
      - alert: HighCpu
        expr: rate(process_cpu_seconds_total[1m]) > 0.9
      - alert: HighErrorRate
        expr: sum(rate(http_request_total_typo{code=~"5.."}[1m])) > 1
        for: 2s
      - alert: InstanceDown
        expr: up{job="app"} == 0
        for: 2s
"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(tmp_path / "app").start()
    yield a
    a.stop()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Server]:
    s = start_node_exporter(tmp_path / "node")
    yield s
    s.stop()


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Server]:
    s = start_alertmanager(tmp_path / "am")
    yield s
    s.stop()


def prometheus(tmp_path: Path, jobs: dict[str, list[str]], rules: str = GOOD_RULES, am: Server | None = None) -> Server:
    return start_prometheus(tmp_path / "prom", jobs, rules, alertmanager=f"127.0.0.1:{am.port}" if am else None)


def config(tmp_path: Path, **live: object) -> Config:
    cfg = Config(base_dir=tmp_path)
    for key, value in live.items():
        setattr(cfg.live, key, value)
    return cfg


def wait_scraped(prom: Server, jobs: int, timeout: float = 20) -> None:
    from tests.promhelpers import get_json

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        targets = get_json(prom.url + "/api/v1/targets")["data"]["activeTargets"]
        if len(targets) >= jobs and all(t["health"] != "unknown" for t in targets):
            return
        time.sleep(0.2)
    raise AssertionError("Prometheus did not scrape its targets in time")


def by_subject(findings: list[Finding]) -> dict[str | None, Finding]:
    return {f.subject: f for f in findings}


def test_classifier_and_threshold_split() -> None:
    assert classify('up{job="app"} == 0') == {"availability"}
    assert classify("(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > 0.9") == {"memory"}
    assert classify('sum(rate(x{status=~"5.."}[5m])) / sum(rate(x[5m])) > 0.05') == {"error_rate"}
    assert classify("whatever > 1", "HostHighCpuLoad") == {"cpu"}
    assert split_threshold('up{job=~"a|b"} == 0') == ('up{job=~"a|b"}', "==", "0")
    assert split_threshold("0.9 < avg_over_time(up[5m])") == ("avg_over_time(up[5m])", "<", "0.9")
    assert split_threshold("absent(up)") is None
    assert metric_names('100 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))') == [
        "node_cpu_seconds_total"
    ]


@pytest.mark.live
def test_targets_up_and_rules_cover_the_four_signals(tmp_path: Path, app: App, node: Server) -> None:
    prom = prometheus(tmp_path, {"app": [app.target], "node": [f"127.0.0.1:{node.port}"]})
    try:
        wait_scraped(prom, 2)
        time.sleep(2.5)  # rate() needs two scrapes
        cfg = config(tmp_path, prometheus_url=prom.url)
        targets = by_subject(run_check("live.prometheus-targets", tmp_path, cfg))
        assert targets["app"].outcome == Outcome.PASS, targets["app"].reason
        assert targets["host"].outcome == Outcome.PASS, targets["host"].reason
        rules = by_subject(run_check("live.alert-rules", tmp_path, cfg))
        for category in ("cpu", "memory", "error_rate", "availability"):
            assert rules[category].outcome == Outcome.PASS, (category, rules[category].reason)
        assert "HighErrorRate" in rules["error_rate"].reason
    finally:
        prom.stop()


@pytest.mark.live
def test_down_target_named_with_its_error_and_missing_host(tmp_path: Path, app: App) -> None:
    from tests.promhelpers import free_port

    dead = f"127.0.0.1:{free_port()}"
    prom = prometheus(tmp_path, {"app": [app.target, dead]})
    try:
        wait_scraped(prom, 2)
        findings = run_check("live.prometheus-targets", tmp_path, config(tmp_path, prometheus_url=prom.url))
        down = [f for f in findings if f.outcome == Outcome.FAIL and dead in f.reason]
        assert down and "connection refused" in down[0].reason
        assert by_subject(findings)["host"].outcome == Outcome.FAIL
    finally:
        prom.stop()


@pytest.mark.live
def test_targets_not_yet_scraped_are_waited_for_not_failed(tmp_path: Path, app: App, node: Server) -> None:
    from tests.promhelpers import get_json

    # A Prometheus that has just started lists no targets until its first discovery, then each as "unknown"
    # until its first scrape (as after a redeploy), up to one interval later: the check waits, not fails.
    jobs = {"app": [app.target], "node": [f"127.0.0.1:{node.port}"]}
    prom = start_prometheus(tmp_path / "prom", jobs, GOOD_RULES, interval_s=6)
    try:
        before = get_json(prom.url + "/api/v1/targets")["data"]["activeTargets"]
        findings = run_check("live.prometheus-targets", tmp_path, config(tmp_path, prometheus_url=prom.url))
        assert [f.reason for f in findings if f.outcome != Outcome.PASS] == []
        assert {f.subject for f in findings} == {"app", "host"}
        if before and all(t["health"] != "unknown" for t in before):
            pytest.skip("Prometheus scraped before the check ran: the wait was not exercised")
    finally:
        prom.stop()


@pytest.mark.live
def test_rules_without_duration_memory_or_data_fail(tmp_path: Path, app: App) -> None:
    prom = prometheus(tmp_path, {"app": [app.target]}, rules=BAD_RULES)
    try:
        wait_scraped(prom, 1)
        rules = by_subject(run_check("live.alert-rules", tmp_path, config(tmp_path, prometheus_url=prom.url)))
        assert rules["cpu"].outcome == Outcome.FAIL and "`for` duration" in rules["cpu"].reason
        assert rules["memory"].outcome == Outcome.FAIL
        assert rules["error_rate"].outcome == Outcome.FAIL
        assert (
            "returns no data" in rules["error_rate"].reason and "http_request_total_typo" in rules["error_rate"].reason
        )
        assert rules["availability"].outcome == Outcome.PASS
        assert all(f.remediation for f in rules.values() if f.outcome != Outcome.PASS)
    finally:
        prom.stop()


@pytest.mark.live
def test_alertmanager_attached_ready_with_receivers(tmp_path: Path, app: App, alertmanager: Server) -> None:
    prom = prometheus(tmp_path, {"app": [app.target]}, am=alertmanager)
    try:
        cfg = config(tmp_path, prometheus_url=prom.url, alertmanager_url=alertmanager.url)
        end = time.monotonic() + 15
        while True:  # Prometheus discovers its Alertmanager asynchronously
            findings = run_check("live.alertmanager", tmp_path, cfg)
            if all(f.outcome == Outcome.PASS for f in findings) or time.monotonic() > end:
                break
            time.sleep(0.5)
        assert [f.outcome for f in findings] == [Outcome.PASS, Outcome.PASS], [f.reason for f in findings]
        assert "ops (webhook)" in findings[1].reason
    finally:
        prom.stop()


@pytest.mark.live
def test_no_alertmanager_attached_fails(tmp_path: Path, app: App) -> None:
    prom = prometheus(tmp_path, {"app": [app.target]})
    try:
        findings = run_check("live.alertmanager", tmp_path, config(tmp_path, prometheus_url=prom.url))
        assert findings[0].outcome == Outcome.FAIL
        assert findings[1].outcome == Outcome.COULD_NOT_CHECK and "live.alertmanager_url" in findings[1].reason
    finally:
        prom.stop()


def test_not_configured_is_could_not_check(tmp_path: Path) -> None:
    for check_id in ("live.prometheus-targets", "live.alert-rules", "live.alertmanager"):
        findings = run_check(check_id, tmp_path, Config(base_dir=tmp_path))
        assert [f.outcome for f in findings] == [Outcome.COULD_NOT_CHECK]
        assert "live.prometheus_url" in findings[0].reason


# --- live.alert-fires -----------------------------------------------------------------


def fault_config(tmp_path: Path, prom: Server, faulted: App, **live: object) -> Config:
    cfg = config(tmp_path, prometheus_url=prom.url, **live)
    cfg.live.fault.command = faulted.command("fault")
    cfg.live.fault.restore_command = faulted.command("restore")
    cfg.live.fault.timeout_s = 60
    cfg.live.availability.rate_per_s = 10
    return cfg


@pytest.mark.live
def test_alert_fires_reaches_alertmanager_and_resolves_with_two_instances(
    tmp_path: Path, app: App, alertmanager: Server
) -> None:
    other = App(tmp_path / "app2").start()
    prom = prometheus(tmp_path, {"app": [app.target, other.target]}, am=alertmanager)
    try:
        wait_scraped(prom, 2)
        cfg = fault_config(
            tmp_path, prom, app, urls=[other.url], alertmanager_url=alertmanager.url
        )  # the sampled URL stays up
        cfg.live.fault.alert = "InstanceDown"
        findings = run_check("live.alert-fires", tmp_path, cfg)
        outcomes = {(f.subject, f.outcome) for f in findings}
        assert ("InstanceDown", Outcome.PASS) in outcomes, [f.reason for f in findings]
        assert (alertmanager.url, Outcome.PASS) in outcomes
        assert ("resolution", Outcome.PASS) in outcomes
        assert ("availability", Outcome.PASS) in outcomes
        fired = next(f for f in findings if f.subject == "InstanceDown")
        assert fired.evidence[-2].data["alert"]["state"] == "firing"
        # The drill's figures: fault to firing (no DORA band), firing to healthy again (DORA's recovery bands).
        detect = next(e for e in fired.evidence if e.data.get("metric") == "detect_time")
        resolution = next(f for f in findings if f.subject == "resolution")
        restore = next(e for e in resolution.evidence if e.data.get("metric") == "restore_time")
        assert 0 < detect.data["seconds"] < 60 and "no band" in detect.data["band"]
        assert 0 < restore.data["seconds"] < 60 and restore.data["health_checked"] is True
        assert restore.data["band"].startswith("DORA 2024: elite") and "definition" in restore.data
    finally:
        prom.stop()
        other.stop()


@pytest.mark.live
def test_single_instance_fault_warns_on_availability(tmp_path: Path, app: App) -> None:
    prom = prometheus(tmp_path, {"app": [app.target]})
    try:
        wait_scraped(prom, 1)
        findings = by_subject(
            run_check("live.alert-fires", tmp_path, fault_config(tmp_path, prom, app, urls=[app.url]))
        )
        assert findings["InstanceDown"].outcome == Outcome.PASS  # any newly firing alert counts
        assert findings["availability"].outcome == Outcome.WARN, findings["availability"].reason
        assert findings["availability"].evidence[0].data["failed"] > 0
    finally:
        prom.stop()


@pytest.mark.live
def test_fault_that_fires_nothing_fails_and_restore_still_runs(tmp_path: Path, app: App) -> None:
    import sys

    prom = prometheus(tmp_path, {"app": [app.target]})
    marker = tmp_path / "restored"
    try:
        wait_scraped(prom, 1)
        cfg = config(tmp_path, prometheus_url=prom.url)
        cfg.live.fault.command = [sys.executable, "-c", "pass"]
        cfg.live.fault.restore_command = [sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"]
        cfg.live.fault.timeout_s = 4
        findings = run_check("live.alert-fires", tmp_path, cfg)
        assert findings[0].outcome == Outcome.FAIL and "no new alert fired within 4 s" in findings[0].reason
        assert marker.exists()
        assert any(f.subject == "availability" and f.outcome == Outcome.COULD_NOT_CHECK for f in findings)
    finally:
        prom.stop()


@pytest.mark.live
def test_unknown_alert_name_fails_without_injecting(tmp_path: Path, app: App) -> None:
    prom = prometheus(tmp_path, {"app": [app.target]})
    try:
        cfg = fault_config(tmp_path, prom, app)
        cfg.live.fault.alert = "NoSuchAlert"
        findings = run_check("live.alert-fires", tmp_path, cfg)
        assert [f.outcome for f in findings] == [Outcome.FAIL] and "NoSuchAlert" in findings[0].reason
    finally:
        prom.stop()


def test_alert_fires_not_configured(tmp_path: Path) -> None:
    findings = run_check("live.alert-fires", tmp_path, Config(base_dir=tmp_path))
    assert findings[0].outcome == Outcome.COULD_NOT_CHECK and "live.fault.command" in findings[0].reason
