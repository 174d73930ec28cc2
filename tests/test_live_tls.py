"""live.tls, live.https-redirect and live.db-tls against real servers on loopback."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import trustme

from harness.checks.live import db_tls, tls
from harness.config import Config
from harness.model import Outcome
from tests.conftest import run_check
from tests.livehelpers import TlsCA, running, serve_app, serve_blackhole, serve_redirect, serve_redirect_loop

INTERMEDIATE = "ECDHE+AESGCM:ECDHE+CHACHA20"


@pytest.fixture
def ca(tmp_path: Path) -> TlsCA:
    return TlsCA(tmp_path / "ca")


def config(tmp_path: Path, ca: TlsCA | None, *urls: str) -> Config:
    cfg = Config(base_dir=tmp_path)
    cfg.live.urls = list(urls)
    cfg.live.ca_bundle = str(ca.ca_file) if ca else ""
    return cfg


def by_outcome(findings: list) -> dict[Outcome, list[str]]:
    out: dict[Outcome, list[str]] = {}
    for f in findings:
        out.setdefault(f.outcome, []).append(f.reason)
    return out


@pytest.mark.live
def test_modern_endpoint_passes_with_chain_evidence(tmp_path, ca):
    with running(serve_app(ca.server_context(ciphers=INTERMEDIATE))) as app:
        findings = run_check("live.tls", tmp_path, config(tmp_path, ca, app.url))
    assert {f.outcome for f in findings} == {Outcome.PASS}, by_outcome(findings)
    certs = [e for f in findings for e in f.evidence if e.kind == "certificate"]
    assert certs and all(len(e.sha256 or "") == 64 for e in certs)
    protos = next(e for f in findings for e in f.evidence if e.data.get("accepted"))
    assert set(protos.data["accepted"]) <= {"TLSv1.2", "TLSv1.3"}
    assert "TLSv1.0" in protos.data["refused"]


@pytest.mark.live
def test_tls10_and_cbc_suites_are_judged(tmp_path, ca):
    server_ctx = ca.server_context(
        minimum=ssl.TLSVersion.TLSv1, ciphers="DEFAULT:@SECLEVEL=0", key_type=trustme.KeyType.RSA
    )
    with running(serve_app(server_ctx)) as app:
        findings = run_check("live.tls", tmp_path, config(tmp_path, ca, app.url))
    outcomes = by_outcome(findings)
    assert any("obsolete protocols" in r and "TLSv1.0" in r for r in outcomes[Outcome.FAIL])
    assert any("outside the mozilla-intermediate profile" in r for r in outcomes[Outcome.WARN])


@pytest.mark.live
def test_untrusted_chain_fails(tmp_path, ca):
    other = TlsCA(tmp_path / "other")
    with running(serve_app(other.server_context(ciphers=INTERMEDIATE))) as app:
        findings = run_check("live.tls", tmp_path, config(tmp_path, ca, app.url))
    fails = by_outcome(findings)[Outcome.FAIL]
    assert any("not accepted by a verifying client" in r for r in fails)


@pytest.mark.live
def test_hostname_mismatch_fails(tmp_path, ca):
    with running(serve_app(ca.server_context("other.example", ciphers=INTERMEDIATE))) as app:
        findings = run_check("live.tls", tmp_path, config(tmp_path, ca, app.url))
    fails = by_outcome(findings)[Outcome.FAIL]
    assert any("mismatch" in r.lower() for r in fails), fails


@pytest.mark.live
def test_expiry_soon_warns_and_expired_fails(tmp_path, ca):
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=5)
    with running(serve_app(ca.server_context(ciphers=INTERMEDIATE, not_after=soon))) as app:
        findings = run_check("live.tls", tmp_path, config(tmp_path, ca, app.url))
    assert any("expires in" in r for r in by_outcome(findings)[Outcome.WARN])
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with running(serve_app(ca.server_context(ciphers=INTERMEDIATE, not_after=past))) as app:
        findings = run_check("live.tls", tmp_path, config(tmp_path, ca, app.url))
    fails = by_outcome(findings)[Outcome.FAIL]
    assert any("expired" in r for r in fails)


@pytest.mark.live
def test_short_lived_certificates_are_judged_by_their_renewal_window(tmp_path, ca):
    """A 12-hour certificate always expires "soon": only one past two thirds of its life is late."""
    now = dt.datetime.now(dt.UTC)
    fresh = ca.server_context(
        ciphers=INTERMEDIATE, not_before=now - dt.timedelta(hours=2), not_after=now + dt.timedelta(hours=10)
    )
    with running(serve_app(fresh)) as app:
        findings = run_check("live.tls", tmp_path, config(tmp_path, ca, app.url))
    outcomes = by_outcome(findings)
    assert any("short-lived certificate (12 h lifetime) with 10 h left" in r for r in outcomes[Outcome.PASS])
    assert not outcomes.get(Outcome.WARN)
    late = ca.server_context(
        ciphers=INTERMEDIATE, not_before=now - dt.timedelta(hours=11), not_after=now + dt.timedelta(hours=1)
    )
    with running(serve_app(late)) as app:
        findings = run_check("live.tls", tmp_path, config(tmp_path, ca, app.url))
    assert any("has only 1 h left" in r for r in by_outcome(findings)[Outcome.WARN])


@pytest.mark.live
def test_plain_http_url_fails_ds1(tmp_path):
    with running(serve_app()) as app:
        [f] = run_check("live.tls", tmp_path, config(tmp_path, None, app.url))
    assert f.outcome is Outcome.FAIL and "plain HTTP" in f.reason and f.remediation


def test_no_url_is_could_not_check(tmp_path):
    for cid in ("live.tls", "live.https-redirect"):
        [f] = run_check(cid, tmp_path, config(tmp_path, None))
        assert f.outcome is Outcome.COULD_NOT_CHECK and "live.urls" in f.reason


def test_suite_policy_is_data():
    weak, extra = tls.judge_suites(
        {
            "TLSv1.2": [
                "TLS_RSA_WITH_RC4_128_SHA",
                "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
                "TLS_DH_anon_WITH_AES_128_CBC_SHA",
                "TLS_RSA_WITH_NULL_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            ],
            "TLSv1.3": ["TLS_AES_128_GCM_SHA256"],
        }
    )
    assert len(weak) == 4 and any("RC4" in w for w in weak) and any("anonymous" in w for w in weak)
    assert extra == ["TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]


@pytest.mark.live
def test_tls_blackhole_is_bounded(tmp_path, ca):
    with running(serve_blackhole()) as hole:
        cfg = config(tmp_path, ca, f"https://localhost:{hole.port}")
        cfg.live.connect_timeout_s = 2
        t0 = time.monotonic()
        [f] = run_check("live.tls", tmp_path, cfg)
    assert f.outcome is Outcome.COULD_NOT_CHECK and "did not complete" in f.reason
    assert time.monotonic() - t0 < 15


# --- live.https-redirect ---------------------------------------------------------------------------------------


def _redirect_findings(tmp_path, ca, status=301, hsts="max-age=31536000"):
    from tests.livehelpers import AppBehaviour

    with (
        running(serve_app(ca.server_context(ciphers=INTERMEDIATE), AppBehaviour(hsts=hsts))) as app,
        running(serve_redirect(lambda path: app.url + path, status)) as plain,
    ):
        cfg = config(tmp_path, ca, app.url)
        cfg.live.http_urls = [plain.url + "/"]
        return by_outcome(run_check("live.https-redirect", tmp_path, cfg))


@pytest.mark.live
def test_permanent_redirect_and_long_hsts_pass(tmp_path, ca):
    outcomes = _redirect_findings(tmp_path, ca)
    assert set(outcomes) == {Outcome.PASS}, outcomes


@pytest.mark.live
def test_temporary_redirect_and_short_hsts_warn(tmp_path, ca):
    outcomes = _redirect_findings(tmp_path, ca, status=302, hsts="max-age=3600")
    assert len(outcomes[Outcome.WARN]) == 2, outcomes


@pytest.mark.live
def test_missing_hsts_fails(tmp_path, ca):
    outcomes = _redirect_findings(tmp_path, ca, hsts=None)
    assert any("no Strict-Transport-Security" in r for r in outcomes[Outcome.FAIL])


@pytest.mark.live
def test_plain_http_served_and_redirect_loop_fail(tmp_path, ca):
    with (
        running(serve_app(ca.server_context(ciphers=INTERMEDIATE))) as app,
        running(serve_app()) as plain,
        running(serve_redirect_loop()) as loop,
    ):
        cfg = config(tmp_path, ca, app.url)
        cfg.live.http_urls = [plain.url + "/", loop.url + "/a"]
        t0 = time.monotonic()
        fails = by_outcome(run_check("live.https-redirect", tmp_path, cfg))[Outcome.FAIL]
    assert any("instead of redirecting" in r for r in fails)
    assert any("redirect loop" in r for r in fails)
    assert time.monotonic() - t0 < 10


def test_default_http_urls_use_port_80():
    from harness.checks.live.https_redirect import default_http_urls, hsts_max_age

    assert default_http_urls(["https://shop.example:8443/app"]) == ["http://shop.example/app"]
    assert hsts_max_age('max-age="600"; preload') == 600 and hsts_max_age("includeSubDomains") is None


# --- live.db-tls ---------------------------------------------------------------------------------------------------


def test_db_tls_not_applicable_without_dsn(tmp_path):
    [f] = run_check("live.db-tls", tmp_path, config(tmp_path, None))
    assert f.outcome is Outcome.NOT_APPLICABLE and "database_dsn_env" in f.reason


def test_db_tls_judging():
    tls_row = {"usename": "app", "client_addr": "10.0.0.5", "ssl": True, "version": "TLSv1.3"}
    plain_row = {"usename": "app", "client_addr": "10.0.0.6", "ssl": False}
    hidden = {"usename": "app", "client_addr": None, "ssl": None}
    assert db_tls.judge([tls_row], {}, [])[0] is Outcome.PASS
    assert db_tls.judge([tls_row, plain_row], {}, [])[0] is Outcome.FAIL
    assert db_tls.judge([tls_row, hidden], {}, [])[0] is Outcome.COULD_NOT_CHECK
    assert db_tls.judge([], {}, [])[0] is Outcome.COULD_NOT_CHECK
    assert db_tls.judge([plain_row], {}, ["someone-else"])[0] is Outcome.COULD_NOT_CHECK


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        pytest.fail("PostgreSQL server binaries are missing: install the Debian package postgresql (run.sh does)")
    return found[-1].parent


@pytest.fixture
def postgres(ca: TlsCA):
    """A throwaway cluster with ssl on (trustme certificate), run as the postgres user on 127.0.0.1."""
    import socket
    import tempfile

    bindir = _pg_bin()
    if shutil.which("runuser") is None:
        pytest.fail("runuser is missing (util-linux)")
    # pytest's tmp_path sits under a root-only folder: the postgres user needs one it can reach.
    data = Path(tempfile.mkdtemp(prefix="harness-pg-"))
    leaf = ca.ca.issue_cert("localhost", "127.0.0.1")
    leaf.cert_chain_pems[0].write_to_path(str(data / "server.crt"))
    leaf.private_key_pem.write_to_path(str(data / "server.key"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def as_pg(*cmd: str) -> None:
        done = subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True, timeout=120)
        if done.returncode:
            pytest.fail(f"{Path(cmd[0]).name} failed: {done.stderr.strip()[-500:]}")

    pgdata = data / "cluster"
    subprocess.run(["chown", "-R", "postgres", str(data)], check=True)
    os.chmod(data / "server.key", 0o600)
    as_pg(str(bindir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    opts = (
        f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={data} -c ssl=on "
        f"-c ssl_cert_file={data / 'server.crt'} -c ssl_key_file={data / 'server.key'}"
    )
    as_pg(str(bindir / "pg_ctl"), "-D", str(pgdata), "-o", opts, "-w", "-l", str(data / "log"), "start")
    try:
        yield port
    finally:
        as_pg(str(bindir / "pg_ctl"), "-D", str(pgdata), "-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.live
def test_db_tls_against_real_postgres(tmp_path, ca, postgres, monkeypatch):
    import psycopg

    port = postgres
    secret_dsn = f"postgresql://postgres:s3cr3t-pass@127.0.0.1:{port}/postgres"
    monkeypatch.setenv("APP_DSN", secret_dsn)
    cfg = config(tmp_path, None)
    cfg.live.database_dsn_env = "APP_DSN"
    base = f"host=127.0.0.1 port={port} user=postgres dbname=postgres application_name=shop"
    with psycopg.connect(base + " sslmode=require"):
        [f] = run_check("live.db-tls", tmp_path, cfg)
        assert f.outcome is Outcome.PASS, f.reason
        with psycopg.connect(base + " sslmode=disable"):
            [f] = run_check("live.db-tls", tmp_path, cfg)
    assert f.outcome is Outcome.FAIL and "not encrypted" in f.reason
    from harness import redact

    assert "s3cr3t-pass" not in redact.text(str(f.to_dict()) + secret_dsn)
