"""live.metrics and live.custom-metrics against an app instrumented with prometheus-client."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import Config
from harness.model import Outcome
from harness.probes.metrics import parse
from tests.conftest import run_check
from tests.livehelpers import AppBehaviour, TlsCA, running, serve_app


@pytest.fixture
def ca(tmp_path: Path) -> TlsCA:
    return TlsCA(tmp_path / "ca")


def cfg_for(tmp_path: Path, ca: TlsCA | None, url: str, metrics_url: str = "") -> Config:
    cfg = Config(base_dir=tmp_path)
    cfg.live.urls = [url]
    cfg.live.ca_bundle = str(ca.ca_file) if ca else ""
    cfg.live.metrics_url = metrics_url
    return cfg


@pytest.mark.live
@pytest.mark.parametrize("openmetrics", [False, True])
def test_instrumented_app_passes_both_checks(tmp_path, ca, openmetrics):
    with running(serve_app(ca.server_context(), AppBehaviour(openmetrics=openmetrics))) as app:
        cfg = cfg_for(tmp_path, ca, app.url)
        found = run_check("live.metrics", tmp_path, cfg)
        [custom] = run_check("live.custom-metrics", tmp_path, cfg)
    assert [f.outcome for f in found] == [Outcome.PASS] * 4, [f.reason for f in found]
    assert "http_requests_total" in found[2].reason and "'status'" in found[2].reason
    assert "http_request_duration_seconds" in found[3].reason
    assert custom.outcome is Outcome.PASS
    assert "shop_orders_created_total=3" in custom.reason and "shop_basket_items=7" in custom.reason
    assert "process_" not in custom.reason and "_created=" not in custom.reason


@pytest.mark.live
def test_standard_only_metrics_fail_custom(tmp_path):
    with running(serve_app(behaviour=AppBehaviour(custom_metrics=False))) as app:
        [f] = run_check("live.custom-metrics", tmp_path, cfg_for(tmp_path, None, app.url))
    assert f.outcome is Outcome.FAIL and f.remediation


@pytest.mark.live
def test_missing_signals_are_named(tmp_path):
    body = b"# TYPE jobs_total counter\njobs_total 4\n"
    with running(serve_app(behaviour=AppBehaviour(metrics_body=body))) as app:
        findings = run_check("live.metrics", tmp_path, cfg_for(tmp_path, None, app.url))
    assert [f.outcome for f in findings] == [Outcome.FAIL] * 4
    assert "CPU" in findings[0].reason and "status code" in findings[2].reason and "histogram" in findings[3].reason


@pytest.mark.live
def test_garbage_metrics_fail_with_excerpt_no_traceback(tmp_path):
    body = b"<html><body>Whitelabel Error Page</body></html>"
    with running(serve_app(behaviour=AppBehaviour(metrics_body=body))) as app:
        [f] = run_check("live.metrics", tmp_path, cfg_for(tmp_path, None, app.url))
    assert f.outcome is Outcome.FAIL and "Whitelabel" in f.reason
    assert "Traceback" not in str(f.to_dict())


def test_parse_both_formats():
    fams, fmt = parse("# TYPE a_total counter\na_total 1\n", "text/plain; version=0.0.4")
    assert fmt == "prometheus" and fams[0].type == "counter" and fams[0].samples[0].name == "a_total"
    fams, fmt = parse("# TYPE a counter\na_total 1\n# EOF\n", "application/openmetrics-text")
    assert fmt == "openmetrics" and fams[0].name == "a"
    with pytest.raises(ValueError):
        parse("{not metrics}", "text/plain")


def test_no_metrics_url_could_not_check(tmp_path):
    for cid in ("live.metrics", "live.custom-metrics"):
        [f] = run_check(cid, tmp_path, Config(base_dir=tmp_path))
        assert f.outcome is Outcome.COULD_NOT_CHECK and "live.metrics_url" in f.reason
