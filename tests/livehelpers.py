"""Real servers on loopback for live-check tests (and benchmarks).

Everything binds 127.0.0.1 on an ephemeral port and runs in daemon threads:
- `TlsCA`: a throwaway trustme CA writing its PEM where harness can read it;
- `serve_app(...)`: a small app (health, readiness, version, Prometheus metrics),
  over HTTPS with chosen certificate/protocols/ciphers, or plain HTTP;
- `serve_redirect(...)`: plain HTTP that redirects elsewhere; `serve_handler(...)`: any handler;
- hostile servers: slow-loris, TLS black hole, huge body, redirect loop; `closed_port()`.
Other engineers may import these.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

LOOPBACK = "127.0.0.1"


class TlsCA:
    """A test CA; `ca_file` is the PEM to pass as live.ca_bundle."""

    def __init__(self, folder: Path) -> None:
        self.ca = trustme.CA()
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_file = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def server_context(
        self,
        *identities: str,
        minimum: ssl.TLSVersion | None = None,
        maximum: ssl.TLSVersion | None = None,
        ciphers: str | None = None,
        not_after: Any = None,
        key_type: trustme.KeyType = trustme.KeyType.ECDSA,
        not_before: Any = None,
    ) -> ssl.SSLContext:
        leaf = self.ca.issue_cert(
            *(identities or ("localhost", LOOPBACK)), not_before=not_before, not_after=not_after, key_type=key_type
        )
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if minimum is not None:
            ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
        if ciphers:
            ctx.set_ciphers(ciphers)
        leaf.configure_cert(ctx)
        return ctx


@dataclass
class AppBehaviour:
    """What the test app answers; mutate it while the server runs to change behaviour."""

    hsts: str | None = "max-age=31536000; includeSubDomains"
    health_status: int = 200
    health_body: Any = field(default_factory=lambda: {"status": "ok", "checks": {"database": {"status": "up"}}})
    ready_status: int = 200
    instance: str = "app-1"
    delay_s: float = 0.0
    fail_every: int = 0  # every n-th request to / answers 500
    metrics_body: bytes | None = None  # override the /metrics page
    custom_metrics: bool = True
    openmetrics: bool = False


class _AppMetrics:
    def __init__(self, custom: bool) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter("http_requests_total", "Requests", ["method", "path", "status"], registry=self.registry)
        self.latency = Histogram("http_request_duration_seconds", "Latency", ["path"], registry=self.registry)
        self.requests.labels("GET", "/", "200")  # exist from the first scrape, as real apps usually arrange
        self.latency.labels("/")
        if custom:
            self.orders = Counter("shop_orders_created_total", "Orders created", registry=self.registry)
            self.basket = Gauge("shop_basket_items", "Items in open baskets", registry=self.registry)
            self.orders.inc(3)
            self.basket.set(7)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Handshake in the request thread, not in accept(): one stuck client must not block the others.
        if self.tls is not None:
            request.settimeout(10)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: scanners provoke errors
        pass


@dataclass
class Served:
    server: socketserver.BaseServer
    url: str
    port: int
    behaviour: AppBehaviour | None = None
    hits: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _app_handler(behaviour: AppBehaviour, metrics: _AppMetrics, hits: list[str]) -> type[BaseHTTPRequestHandler]:
    counter = {"n": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go in separate writes: avoid 40 ms delayed-ACK stalls

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Instance-Id", behaviour.instance)
            if behaviour.hsts:
                self.send_header("Strict-Transport-Security", behaviour.hsts)
            self.end_headers()
            self.wfile.write(body)
            path = self.path.split("?")[0]
            metrics.requests.labels(self.command, path, str(status)).inc()

        def do_GET(self) -> None:
            hits.append(self.path)
            started = time.monotonic()
            if behaviour.delay_s:
                time.sleep(behaviour.delay_s)
            path = self.path.split("?")[0]
            if path == "/healthz":
                body = behaviour.health_body
                raw = json.dumps(body).encode() if not isinstance(body, bytes | str) else str(body).encode()
                self._send(behaviour.health_status, raw)
            elif path == "/readyz":
                self._send(behaviour.ready_status, b'{"ready": true}')
            elif path == "/version":
                self._send(200, json.dumps({"version": "1.2.3", "instance": behaviour.instance}).encode())
            elif path == "/metrics":
                if behaviour.metrics_body is not None:
                    self._send(200, behaviour.metrics_body, "text/plain; version=0.0.4")
                elif behaviour.openmetrics:
                    self._send(
                        200,
                        generate_openmetrics(metrics.registry),
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )
                else:
                    self._send(200, generate_latest(metrics.registry), "text/plain; version=0.0.4")
            else:
                with lock:
                    counter["n"] += 1
                    n = counter["n"]
                status = 500 if behaviour.fail_every and n % behaviour.fail_every == 0 else 200
                self._send(status, json.dumps({"hello": "world", "instance": behaviour.instance}).encode())
            metrics.latency.labels(path).observe(time.monotonic() - started)

    return Handler


def _start(server: socketserver.BaseServer) -> None:
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()


def serve_app(
    tls: ssl.SSLContext | None = None,
    behaviour: AppBehaviour | None = None,
    host_name: str = "localhost",
    bind: str = LOOPBACK,  # another loopback address (127.0.0.2) stands for another host
) -> Served:
    """The test app over HTTPS (when `tls` is given) or plain HTTP, on an ephemeral loopback port."""
    behaviour = behaviour or AppBehaviour()
    hits: list[str] = []
    server = _Server((bind, 0), _app_handler(behaviour, _AppMetrics(behaviour.custom_metrics), hits))
    server.tls = tls
    port = server.server_address[1]
    _start(server)
    scheme = "https" if tls else "http"
    return Served(server, f"{scheme}://{host_name}:{port}", port, behaviour, hits)


def serve_redirect(location: Callable[[str], str], status: int = 301, tls: ssl.SSLContext | None = None) -> Served:
    """Answers every request with a redirect to `location(path)`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go in separate writes: avoid 40 ms delayed-ACK stalls

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Location", location(self.path))
            self.send_header("Content-Length", "0")
            self.end_headers()

    return serve_handler(Handler, tls)


def serve_handler(
    handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None, bind: str = LOOPBACK
) -> Served:
    """Any request handler (a hostile answer written for one test) on an ephemeral loopback port."""
    server = _Server((bind, 0), handler)
    server.tls = tls
    _start(server)
    port = server.server_address[1]
    return Served(server, f"{'https' if tls else 'http'}://{bind}:{port}", port)


def serve_redirect_loop() -> Served:
    """/a -> /b -> /a ... forever."""
    return serve_redirect(lambda path: "/b" if path.startswith("/a") else "/a", 302)


class _RawServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


@dataclass
class RawServed:
    server: _RawServer
    port: int
    stop_event: threading.Event

    @property
    def host(self) -> str:
        return LOOPBACK

    def stop(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()


def _serve_raw(behave: Callable[[socket.socket, threading.Event], None]) -> RawServed:
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with contextlib.suppress(OSError):
                behave(self.request, stop)

    server = _RawServer((LOOPBACK, 0), Handler)
    _start(server)
    return RawServed(server, server.server_address[1], stop)


def serve_slowloris(interval_s: float = 1.0) -> RawServed:
    """Accepts, reads the request, then sends response headers one byte per interval, forever."""

    def behave(sock: socket.socket, stop: threading.Event) -> None:
        sock.settimeout(2)
        with contextlib.suppress(OSError):
            sock.recv(65536)
        header = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000_000
        for byte in header:
            if stop.wait(interval_s):
                return
            sock.sendall(bytes([byte]))

    return _serve_raw(behave)


def serve_blackhole() -> RawServed:
    """Accepts TCP connections and never says a word (a TLS handshake that never completes)."""

    def behave(sock: socket.socket, stop: threading.Event) -> None:
        stop.wait(120)

    return _serve_raw(behave)


def serve_huge(size: int = 100_000_000, content_type: str = "text/plain; version=0.0.4") -> RawServed:
    """A page of `size` bytes of valid-looking metrics, streamed (never built in memory)."""
    line = b"junk_metric_total 1\n"

    def behave(sock: socket.socket, stop: threading.Event) -> None:
        sock.settimeout(5)
        sock.recv(65536)
        sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {size}\r\n\r\n".encode())
        chunk = line * (65536 // len(line))
        sent = 0
        while sent < size and not stop.is_set():
            part = chunk[: size - sent]
            sock.sendall(part)
            sent += len(part)

    return _serve_raw(behave)


def closed_port() -> int:
    """A loopback port with nothing listening (bound then closed)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(served: Served | RawServed) -> Iterator[Any]:
    try:
        yield served
    finally:
        served.stop()
