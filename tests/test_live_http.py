"""live.health, live.availability, live.load and the availability sampler, against a real HTTPS app."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.config import Config
from harness.model import Outcome
from harness.probes.http import HttpClient, percentiles
from harness.probes.sampling import Sampler, summarise
from tests.conftest import run_check
from tests.livehelpers import AppBehaviour, TlsCA, closed_port, running, serve_app


@pytest.fixture
def ca(tmp_path: Path) -> TlsCA:
    return TlsCA(tmp_path / "ca")


def cfg_for(tmp_path: Path, ca: TlsCA, url: str) -> Config:
    cfg = Config(base_dir=tmp_path)
    cfg.live.urls = [url]
    cfg.live.ca_bundle = str(ca.ca_file)
    cfg.live.availability.window_s = 1.5
    cfg.live.availability.rate_per_s = 10
    cfg.live.load.requests = 60
    cfg.live.load.concurrency = 4
    return cfg


@pytest.mark.live
def test_health_and_readiness_pass(tmp_path, ca):
    with running(serve_app(ca.server_context())) as app:
        findings = run_check("live.health", tmp_path, cfg_for(tmp_path, ca, app.url))
    assert [f.outcome for f in findings] == [Outcome.PASS, Outcome.PASS]
    assert findings[0].evidence[0].data["status"] == 200


@pytest.mark.live
def test_health_names_the_failing_dependency(tmp_path, ca):
    body = {"status": "degraded", "checks": [{"name": "database", "status": "down"}, {"name": "cache", "ok": True}]}
    with running(serve_app(ca.server_context(), AppBehaviour(health_body=body))) as app:
        findings = run_check("live.health", tmp_path, cfg_for(tmp_path, ca, app.url))
    assert findings[0].outcome is Outcome.FAIL
    assert "database" in findings[0].reason and "cache" not in findings[0].reason


@pytest.mark.live
def test_health_503_fails_and_missing_readiness_warns(tmp_path, ca):
    with running(serve_app(ca.server_context(), AppBehaviour(health_status=503, ready_status=404))) as app:
        findings = run_check("live.health", tmp_path, cfg_for(tmp_path, ca, app.url))
    assert [f.outcome for f in findings] == [Outcome.FAIL, Outcome.WARN]
    assert "503" in findings[0].reason


@pytest.mark.live
def test_health_on_closed_port_fails_fast(tmp_path, ca):
    t0 = time.monotonic()
    findings = run_check("live.health", tmp_path, cfg_for(tmp_path, ca, f"https://localhost:{closed_port()}"))
    assert findings[0].outcome is Outcome.FAIL and "refused" in findings[0].reason
    assert time.monotonic() - t0 < 5


@contextmanager
def alternating(behaviour: AppBehaviour, names: tuple[str, ...], every_s: float = 0.023) -> Iterator[None]:
    """One server answering as several instances in turn, as a round-robin balancer in front of them would.

    The flip interval does not divide the sampler's period (100 ms at 10/s): with a divisor the two
    clocks can lock in phase and every sample sees the same instance.
    """
    stop = threading.Event()

    def flip() -> None:
        n = 0
        while not stop.wait(every_s):
            n += 1
            behaviour.instance = names[n % len(names)]

    thread = threading.Thread(target=flip, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(2)


@pytest.mark.live
def test_availability_passes_with_percentiles(tmp_path, ca):
    behaviour = AppBehaviour()
    with running(serve_app(ca.server_context(), behaviour)) as app, alternating(behaviour, ("app-1", "app-2")):
        [f] = run_check("live.availability", tmp_path, cfg_for(tmp_path, ca, app.url))
    assert f.outcome is Outcome.PASS, f.reason
    stats = f.evidence[0].data
    assert stats["total"] >= 10 and stats["success_ratio"] == 1.0
    assert set(stats["latency_ms"]) == {"p50", "p95", "p99"} and stats["first"] and stats["last"]
    assert set(stats["identities"]) == {"app-1", "app-2"} and sum(stats["identities"].values()) == stats["total"]
    assert "2 instances" in f.reason


@pytest.mark.live
def test_availability_fails_when_a_single_instance_answers(tmp_path, ca):
    with running(serve_app(ca.server_context())) as app:
        [f] = run_check("live.availability", tmp_path, cfg_for(tmp_path, ca, app.url))
    assert f.outcome is Outcome.FAIL
    assert "a single instance answered: not highly available" in f.reason and "app-1" in f.reason
    assert f.evidence[0].data["success_ratio"] == 1.0


@pytest.mark.live
def test_availability_without_instance_identity_is_judged_as_before(tmp_path, ca):
    with running(serve_app(ca.server_context(), AppBehaviour(instance=""))) as app:
        [f] = run_check("live.availability", tmp_path, cfg_for(tmp_path, ca, app.url))
    assert f.outcome is Outcome.PASS, f.reason
    assert any(e.kind == "note" and "not judged" in e.summary for e in f.evidence)


@pytest.mark.live
def test_availability_fails_and_lists_failures(tmp_path, ca):
    with running(serve_app(ca.server_context(), AppBehaviour(fail_every=3))) as app:
        [f] = run_check("live.availability", tmp_path, cfg_for(tmp_path, ca, app.url))
    assert f.outcome is Outcome.FAIL and "success ratio" in f.reason
    assert f.evidence[0].data["failures"][0]["status"] == 500


@pytest.mark.live
def test_availability_judges_latency(tmp_path, ca):
    with running(serve_app(ca.server_context(), AppBehaviour(delay_s=0.05))) as app:
        cfg = cfg_for(tmp_path, ca, app.url)
        cfg.live.availability.p95_ms = 20
        [f] = run_check("live.availability", tmp_path, cfg)
    assert f.outcome is Outcome.FAIL and "p95" in f.reason


@pytest.mark.live
def test_load_passes_then_fails_on_errors(tmp_path, ca):
    with running(serve_app(ca.server_context())) as app:
        [f] = run_check("live.load", tmp_path, cfg_for(tmp_path, ca, app.url))
        assert f.outcome is Outcome.PASS, f.reason
        assert f.evidence[0].data["completed"] == 60
        app.behaviour.fail_every = 10
        [f] = run_check("live.load", tmp_path, cfg_for(tmp_path, ca, app.url))
    assert f.outcome is Outcome.FAIL and "errors" in f.reason


@pytest.mark.live
def test_sampler_records_identity_changes_and_downtime(tmp_path, ca):
    app = serve_app(ca.server_context())
    sampler = Sampler(
        app.url + "/version",
        client_factory=lambda: HttpClient(ca_bundle=str(ca.ca_file)),
        rate_per_s=20,
        request_timeout_s=1,
    ).start()
    time.sleep(0.5)
    app.behaviour.instance = "app-2"
    time.sleep(0.5)
    app.stop()
    time.sleep(0.5)
    sampler.stop()
    stats = sampler.summary()
    assert {"app-1", "app-2"} <= set(stats["identities"])
    assert stats["failed"] >= 1 and stats["failures"][0]["error"]
    assert stats["longest_failure_span_s"] >= 0.2


def test_percentiles_and_summary_are_nearest_rank():
    assert percentiles(list(range(1, 101))) == {"p50": 50, "p95": 95, "p99": 99}
    assert percentiles([]) == {}
    assert summarise([])["success_ratio"] is None


def test_no_url_could_not_check(tmp_path):
    for cid in ("live.health", "live.availability", "live.load"):
        [f] = run_check(cid, tmp_path, Config(base_dir=tmp_path))
        assert f.outcome is Outcome.COULD_NOT_CHECK and "live.urls" in f.reason
