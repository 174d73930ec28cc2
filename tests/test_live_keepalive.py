"""The lean keep-alive client of live.load and live.availability: connections reused, a closed kept-alive
connection retried once (as browsers do), and the client's own CPU reported beside the latencies."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from harness.config import Config
from harness.model import Outcome
from harness.probes.http import HttpFailure
from harness.probes.keepalive import KeepAliveClient
from tests.conftest import run_check
from tests.livehelpers import _serve_raw, running

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n" + b'{"status":"ok"}'


def _read_request(sock: socket.socket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        data += chunk
    return True


def keepalive_server(answers_per_connection: int, connections: list[int]):
    """Answers `answers_per_connection` requests on each connection, then reads one more and closes unanswered:
    the race a proxy's reload or idle timeout makes for a client reusing a kept-alive connection."""
    lock = threading.Lock()

    def behave(sock: socket.socket, stop: threading.Event) -> None:
        with lock:
            connections.append(1)
        sock.settimeout(5)
        for _ in range(answers_per_connection):
            if not _read_request(sock):
                return
            sock.sendall(OK)
        _read_request(sock)  # the next request arrives ... and the connection closes without an answer

    return _serve_raw(behave)


def cfg(tmp_path: Path, url: str) -> Config:
    c = Config(base_dir=tmp_path)
    c.live.urls = [url]
    c.live.load.requests = 40
    c.live.load.concurrency = 2
    c.live.availability.window_s = 1.0
    c.live.availability.rate_per_s = 10
    return c


@pytest.mark.live
def test_one_connection_serves_many_requests() -> None:
    connections: list[int] = []
    with running(keepalive_server(1000, connections)) as srv:
        client = KeepAliveClient()
        statuses = [client.get(f"http://{srv.host}:{srv.port}/").status for _ in range(25)]
        client.close()
    assert statuses == [200] * 25
    assert len(connections) == 1


@pytest.mark.live
def test_load_retries_a_request_the_server_drops_on_a_reused_connection(tmp_path: Path) -> None:
    connections: list[int] = []
    with running(keepalive_server(3, connections)) as srv:
        [f] = run_check("live.load", tmp_path, cfg(tmp_path, f"http://{srv.host}:{srv.port}"))
    assert f.outcome is Outcome.PASS, f.reason
    data = f.evidence[0].data
    assert data["completed"] == 40 and data["errors"] == 0
    assert 0 < data["client_cpu_ms_per_request"] < 50
    assert "harness's own CPU" in f.evidence[0].summary
    assert len(connections) >= 40 // 3  # each connection served at most three requests


@pytest.mark.live
def test_a_fresh_connection_closed_unanswered_is_an_error_not_retried() -> None:
    connections: list[int] = []
    with running(keepalive_server(0, connections)) as srv:
        client = KeepAliveClient()
        with pytest.raises(HttpFailure) as failed:
            client.get(f"http://{srv.host}:{srv.port}/")
        client.close()
    assert failed.value.kind == "connection"
    assert len(connections) == 1


@pytest.mark.live
def test_availability_reports_its_own_cpu(tmp_path: Path) -> None:
    connections: list[int] = []
    with running(keepalive_server(1000, connections)) as srv:
        [f] = run_check("live.availability", tmp_path, cfg(tmp_path, f"http://{srv.host}:{srv.port}"))
    data = f.evidence[0].data
    assert data["total"] >= 5 and data["failed"] == 0
    assert 0 < data["client_cpu_ms_per_request"] < 50
    # The sampler still asks for a new connection per sample, as a new user would make.
    assert len(connections) == data["total"]
