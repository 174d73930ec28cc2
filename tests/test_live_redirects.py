"""Redirects are followed honestly: http(s) only, bounded, same host unless allowed; the final answer is judged.

"Another host" is 127.0.0.2 (Linux answers on all of 127/8): a healthy app there must not make a URL
that only redirects to it look available.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from harness.config import Config
from harness.model import Outcome
from harness.probes.http import HttpClient
from tests.conftest import run_check
from tests.livehelpers import TlsCA, running, serve_app, serve_handler, serve_redirect

OTHER = "127.0.0.2"


@pytest.fixture
def ca(tmp_path: Path) -> TlsCA:
    return TlsCA(tmp_path / "ca")


def cfg_for(tmp_path: Path, url: str, ca: TlsCA | None = None) -> Config:
    cfg = Config(base_dir=tmp_path)
    cfg.live.urls = [url]
    cfg.live.ca_bundle = str(ca.ca_file) if ca else ""
    cfg.live.availability.window_s = 1.0
    cfg.live.availability.rate_per_s = 10
    cfg.live.load.requests = 20
    cfg.live.load.concurrency = 2
    return cfg


@pytest.mark.live
def test_client_follows_only_http_redirects_on_the_same_host():
    with (
        running(serve_app(host_name=OTHER, bind=OTHER)) as other,
        running(serve_app(host_name="127.0.0.1")) as same,
        running(serve_redirect(lambda p: "file:///etc/passwd")) as to_file,
        running(serve_redirect(lambda p: other.url + "/")) as to_other,
        running(serve_redirect(lambda p: same.url + "/")) as to_same,
    ):
        client = HttpClient()
        res = client.get(to_file.url + "/")
        assert res.status == 301 and "only http and https" in res.refused and not res.redirects
        res = client.get(to_other.url + "/")
        assert res.status == 301 and "another host (127.0.0.2)" in res.refused
        assert res.evidence().data["redirect_not_followed"] == res.refused
        res = client.get(to_other.url + "/", hosts={OTHER})
        assert res.status == 200 and not res.refused and res.url == other.url + "/"
        res = client.get(to_same.url + "/")
        assert res.status == 200 and res.redirects == [(301, same.url + "/")]


@pytest.mark.live
@pytest.mark.parametrize("where", ["file", "other-host", "itself"])
def test_a_url_that_only_redirects_fails_availability_and_load(tmp_path, where):
    with running(serve_app(host_name=OTHER, bind=OTHER)) as other:
        target = {"file": lambda p: "file:///etc/passwd", "other-host": lambda p: other.url + p, "itself": lambda p: p}
        with running(serve_redirect(target[where], 302)) as redirecting:
            health = run_check("live.health", tmp_path, cfg_for(tmp_path, redirecting.url))[0]
            assert health.outcome is Outcome.FAIL, health.reason
            assert ("redirects" if where == "itself" else "answered 302 (redirect to") in health.reason
            for cid in ("live.availability", "live.load"):
                [f] = run_check(cid, tmp_path, cfg_for(tmp_path, redirecting.url))
                assert f.outcome is Outcome.FAIL, (cid, f.reason)
                if cid == "live.availability":
                    expected = "more than 5 redirects" if where == "itself" else "status 302: redirect to"
                    assert expected in f.reason, f.reason


@pytest.mark.live
def test_a_same_host_redirect_is_judged_by_its_final_answer(tmp_path):
    with running(serve_app(host_name="127.0.0.1")) as app, running(serve_redirect(lambda p: app.url + p)) as entry:
        [load] = run_check("live.load", tmp_path, cfg_for(tmp_path, entry.url))
        app.behaviour.fail_every = 1  # every answer to / is now a 500
        [avail] = run_check("live.availability", tmp_path, cfg_for(tmp_path, entry.url))
    assert load.outcome is Outcome.PASS, load.reason
    assert avail.outcome is Outcome.FAIL and avail.evidence[0].data["failures"][0]["status"] == 500


class _RedirectsToOk(BaseHTTPRequestHandler):
    """/ answers 302 to /ok on the same server; /ok answers 200 (as many sites send / to a login page)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        moved = self.path == "/"
        self.send_response(302 if moved else 200)
        if moved:
            self.send_header("Location", "/ok")
        self.send_header("Content-Length", "0" if moved else "2")
        self.end_headers()
        self.wfile.write(b"" if moved else b"ok")


@pytest.mark.live
def test_a_redirect_on_the_same_server_passes_availability(tmp_path):
    """Samples ask for fresh connections; one the server closed after the 302 must not be reused for /ok."""
    with running(serve_handler(_RedirectsToOk)) as site:
        cfg = cfg_for(tmp_path, site.url)
        cfg.live.availability.rate_per_s = 20
        [f] = run_check("live.availability", tmp_path, cfg)
    assert f.evidence[0].data["failed"] == 0, f.evidence[0].data["failures"][:1]


@pytest.mark.live
def test_a_configured_redirect_status_counts_as_success(tmp_path):
    with running(serve_redirect(lambda p: "https://elsewhere.example/", 302)) as redirecting:
        cfg = cfg_for(tmp_path, redirecting.url)
        cfg.live.expect_status = [302]
        [f] = run_check("live.load", tmp_path, cfg)
    assert f.outcome is Outcome.PASS, f.reason


def _https_redirect(tmp_path: Path, ca: TlsCA, location) -> list:
    with (
        running(serve_app(ca.server_context())) as site,
        running(serve_app(ca.server_context(OTHER), host_name=OTHER, bind=OTHER)) as unrelated,
        running(serve_redirect(lambda p: location(site, unrelated, p))) as plain,
    ):
        cfg = cfg_for(tmp_path, site.url, ca)
        cfg.live.http_urls = [plain.url + "/"]
        return [f for f in run_check("live.https-redirect", tmp_path, cfg) if f.subject == plain.url + "/"]


@pytest.mark.live
def test_https_redirect_to_an_unrelated_site_fails(tmp_path, ca):
    [f] = _https_redirect(tmp_path, ca, lambda site, unrelated, p: unrelated.url + p)
    assert f.outcome is Outcome.FAIL and "another host (127.0.0.2)" in f.reason, f.reason


@pytest.mark.live
def test_https_redirect_to_a_file_url_fails(tmp_path, ca):
    [f] = _https_redirect(tmp_path, ca, lambda site, unrelated, p: "file:///etc/passwd")
    assert f.outcome is Outcome.FAIL and "only http and https" in f.reason, f.reason


@pytest.mark.live
def test_https_redirect_to_the_configured_site_passes(tmp_path, ca):
    [f] = _https_redirect(tmp_path, ca, lambda site, unrelated, p: site.url + p)
    assert f.outcome is Outcome.PASS, f.reason
