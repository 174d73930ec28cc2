"""Hostile endpoints: every check gives could-not-check or fail, within its deadline, without a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.config import Config
from harness.model import Outcome
from tests.conftest import run_check
from tests.livehelpers import (
    AppBehaviour,
    TlsCA,
    closed_port,
    running,
    serve_app,
    serve_blackhole,
    serve_huge,
    serve_redirect_loop,
    serve_slowloris,
)

BAD = {Outcome.FAIL, Outcome.COULD_NOT_CHECK}


def cfg(tmp_path: Path, url: str, metrics_url: str = "", ca: TlsCA | None = None) -> Config:
    c = Config(base_dir=tmp_path)
    c.live.urls = [url]
    c.live.metrics_url = metrics_url
    c.live.ca_bundle = str(ca.ca_file) if ca else ""
    c.live.connect_timeout_s = 2
    c.live.read_timeout_s = 3
    c.live.availability.window_s = 1
    c.live.load.requests = 5
    return c


def timed(check_id: str, tmp_path: Path, config: Config) -> tuple[list, float]:
    t0 = time.monotonic()
    findings = run_check(check_id, tmp_path, config)
    return findings, time.monotonic() - t0


def assert_bad(findings: list) -> None:
    assert findings and all(f.outcome in BAD for f in findings), [(f.outcome, f.reason) for f in findings]
    assert "Traceback" not in str([f.to_dict() for f in findings])


@pytest.mark.live
def test_slowloris_is_cut_at_the_deadline(tmp_path):
    with running(serve_slowloris(0.5)) as slow:
        url = f"http://127.0.0.1:{slow.port}"
        for cid in ("live.health", "live.metrics"):
            findings, elapsed = timed(cid, tmp_path, cfg(tmp_path, url))
            assert_bad(findings[:1])
            assert elapsed < 8, (cid, elapsed)
        findings, elapsed = timed("live.availability", tmp_path, cfg(tmp_path, url))
        assert_bad(findings)
        assert elapsed < 10


@pytest.mark.live
def test_tls_handshake_that_never_completes(tmp_path):
    ca = TlsCA(tmp_path / "ca")
    with running(serve_blackhole()) as hole:
        url = f"https://localhost:{hole.port}"
        for cid in ("live.tls", "live.health", "live.https-redirect"):
            findings, elapsed = timed(cid, tmp_path, cfg(tmp_path, url, ca=ca))
            assert any(f.outcome in BAD for f in findings), (cid, findings)
            assert elapsed < 15, (cid, elapsed)


@pytest.mark.live
def test_hundred_megabyte_metrics_page_is_capped(tmp_path):
    with running(serve_huge(100_000_000)) as huge, running(serve_app()) as app:
        config = cfg(tmp_path, app.url, f"http://127.0.0.1:{huge.port}/metrics")
        config.live.max_body_bytes = 2_000_000
        findings, elapsed = timed("live.metrics", tmp_path, config)
    assert_bad(findings)
    assert "live.max_body_bytes" in findings[0].reason
    assert elapsed < 10


@pytest.mark.live
def test_garbage_metrics(tmp_path):
    garbage = bytes(range(256)) * 100
    with running(serve_app(behaviour=AppBehaviour(metrics_body=garbage))) as app:
        for cid in ("live.metrics", "live.custom-metrics"):
            findings, elapsed = timed(cid, tmp_path, cfg(tmp_path, app.url))
            assert_bad(findings)
            assert elapsed < 5


@pytest.mark.live
def test_redirect_loop(tmp_path):
    with running(serve_redirect_loop()) as loop:
        url = loop.url
        config = cfg(tmp_path, url)
        config.live.health_path = "/a"
        findings, elapsed = timed("live.health", tmp_path, config)
    assert_bad(findings[:1])
    assert "redirects" in findings[0].reason and elapsed < 5


@pytest.mark.live
def test_closed_port(tmp_path):
    url = f"https://localhost:{closed_port()}"
    for cid in ("live.tls", "live.health", "live.metrics", "live.custom-metrics", "live.load", "live.availability"):
        findings, elapsed = timed(cid, tmp_path, cfg(tmp_path, url))
        assert_bad(findings)
        assert elapsed < 5, (cid, elapsed)
