"""A lean GET client for the checks that send many requests (live.load, the availability sampler).

The same contract as `HttpClient` (deadline per request, capped bodies, same-host http(s) redirects only,
certificate verification against the same trust store, `HttpFailure` kinds), on `http.client` with one
kept-alive connection per origin and one TLS context per client: in live.load about half the CPU per request
of `requests` (0.5-0.7 against 1.1-1.4 ms over TLS; a quarter on plain HTTP), so the latencies these checks
report are the platform's rather than the verifier's own queueing.
Not thread-safe: one client per thread, as with `HttpClient`.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Collection
from typing import Any
from urllib.parse import urljoin, urlsplit

from requests.utils import DEFAULT_CA_BUNDLE_PATH

from harness.model import now_iso
from harness.probes.http import (
    REDIRECT_STATUSES,
    USER_AGENT,
    HttpFailure,
    HttpResult,
    _host,
    _short,
    client_settings,
    refusal,
)

CHUNK = 64 * 1024
Origin = tuple[str, str, int]


class KeepAliveClient:
    def __init__(
        self,
        ca_bundle: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        max_body: int = 5_000_000,
        max_redirects: int = 5,
        fresh_connections: bool = False,
    ) -> None:
        # requests' bundle when none is configured, so both clients trust exactly the same roots.
        self.context = ssl.create_default_context(cafile=ca_bundle or DEFAULT_CA_BUNDLE_PATH)
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.max_body, self.max_redirects = max_body, max_redirects
        # A new connection per request (`Connection: close`), as a new user would make (the sampler's default).
        self.fresh_connections = fresh_connections
        self._conns: dict[Origin, http.client.HTTPConnection] = {}

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def cut(self) -> None:
        """Shut every open socket down (from another thread): a deadline ends a request even mid-read."""
        for conn in list(self._conns.values()):
            if conn.sock is not None:
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)

    def get(
        self,
        url: str,
        *,
        deadline: float | None = None,
        follow_redirects: bool = True,
        headers: dict[str, str] | None = None,
        hosts: Collection[str] = (),
    ) -> HttpResult:
        """GET `url` (and its same-host redirects) within `deadline`, a monotonic time.

        `headers` may only ask for `Connection: close` (a fresh connection for this request), as HttpClient's
        callers in the sampler do; anything else is a mistake, not a silently dropped header."""
        fresh = self.fresh_connections
        for key, value in (headers or {}).items():
            if key.lower() != "connection" or value.lower() != "close":
                raise ValueError(f"KeepAliveClient sends no {key!r} header")
            fresh = True
        t0, started = time.monotonic(), now_iso()
        end = deadline if deadline is not None else t0 + self.connect_timeout + self.read_timeout
        fired = threading.Event()

        def cut() -> None:
            fired.set()
            self.cut()

        watchdog = threading.Timer(max(0.0, end - t0), cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            allowed = {_host(url), *(h.lower() for h in hosts)}
            redirects: list[tuple[int, str]] = []
            current = url
            for _ in range(self.max_redirects + 1):
                status, answer, body, truncated = self._once(current, end, fresh)
                if fired.is_set():  # a cut connection can look like a complete, empty response
                    raise HttpFailure(f"GET {url}: deadline reached before the response completed", "deadline")
                refused = ""
                location = next((v for k, v in answer.items() if k.lower() == "location"), None)
                if follow_redirects and status in REDIRECT_STATUSES and location is not None:
                    nxt = urljoin(current, location)
                    refused = refusal(nxt, allowed)
                    if not refused:
                        redirects.append((status, nxt))
                        current = nxt
                        continue
                return HttpResult(
                    url=current,
                    method="GET",
                    status=status,
                    headers=answer,
                    body=body,
                    elapsed_s=time.monotonic() - t0,
                    started=started,
                    redirects=redirects,
                    truncated=truncated,
                    refused=refused,
                )
            raise HttpFailure(f"GET {url}: more than {self.max_redirects} redirects", "redirects")
        except HttpFailure as exc:
            if (fired.is_set() or time.monotonic() >= end) and exc.kind != "deadline":
                raise HttpFailure(f"GET {url}: deadline reached ({exc})", "deadline") from None
            raise
        finally:
            watchdog.cancel()

    def _once(self, url: str, end: float, fresh: bool) -> tuple[int, dict[str, str], bytes, bool]:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise HttpFailure(f"GET {url}: not an http(s) URL")
        origin = (scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*"} | ({"Connection": "close"} if fresh else {})
        reused = origin in self._conns
        conn = self._conns.get(origin) or self._connect(origin, end)
        self._conns[origin] = conn
        try:
            conn.timeout = _left(end, self.read_timeout, url)
            if conn.sock is not None:
                conn.sock.settimeout(conn.timeout)
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ssl.SSLEOFError) as exc:
            self._drop(origin)
            if reused:  # the server closed a kept-alive connection as it was reused: retry once on a new one
                return self._once(url, end, fresh)
            raise HttpFailure(f"GET {url}: connection failed: {exc or type(exc).__name__}", "connection") from None
        except TimeoutError:
            self._drop(origin)
            raise HttpFailure(f"GET {url}: read timed out", "timeout") from None
        except ssl.SSLError as exc:
            self._drop(origin)
            raise HttpFailure(f"GET {url}: TLS error: {_short(exc)}", "tls") from None
        except (OSError, http.client.HTTPException) as exc:
            self._drop(origin)
            raise HttpFailure(f"GET {url}: connection failed: {_short(exc)}", "connection") from None
        try:
            body, truncated = self._read_capped(resp, url, end)
        except (OSError, http.client.HTTPException) as exc:
            self._drop(origin)
            raise HttpFailure(f"GET {url}: reading the body failed: {_short(exc)}") from None
        if truncated or resp.will_close or fresh:
            self._drop(origin)
        return resp.status, dict(resp.getheaders()), body, truncated

    def _connect(self, origin: Origin, end: float) -> http.client.HTTPConnection:
        scheme, host, port = origin
        timeout = _left(end, self.connect_timeout, f"{scheme}://{host}:{port}")
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self.context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()
        except ConnectionRefusedError:
            raise HttpFailure(f"GET {scheme}://{host}:{port}: connection refused", "refused") from None
        except TimeoutError:
            raise HttpFailure(f"GET {scheme}://{host}:{port}: connect timed out", "timeout") from None
        except ssl.SSLError as exc:
            raise HttpFailure(f"GET {scheme}://{host}:{port}: TLS error: {_short(exc)}", "tls") from None
        except OSError as exc:
            raise HttpFailure(f"GET {scheme}://{host}:{port}: connection failed: {_short(exc)}", "connection") from None
        return conn

    def _read_capped(self, resp: http.client.HTTPResponse, url: str, end: float) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while chunk := resp.read(CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_body:
                return b"".join(chunks)[: self.max_body], True
            if time.monotonic() > end:
                raise HttpFailure(f"GET {url}: body not received before the deadline", "deadline")
        return b"".join(chunks), False

    def _drop(self, origin: Origin) -> None:
        conn = self._conns.pop(origin, None)
        if conn is not None:
            conn.close()


def _left(end: float, cap: float, url: str) -> float:
    left = end - time.monotonic()
    if left <= 0:
        raise HttpFailure(f"GET {url}: deadline reached", "deadline")
    return min(cap, left)


def keepalive_client_for(ctx: Any) -> KeepAliveClient:
    """A client configured from the run's [live] settings, as `client_for` (one per thread)."""
    return KeepAliveClient(**client_settings(ctx))
