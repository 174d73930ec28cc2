"""Bounded HTTP: connect and read timeouts, a total deadline, capped bodies, limited redirects.

Certificate verification is never turned off: it uses the system trust store or
the configured CA bundle. Every response becomes a small, redacted record that
can be attached to a finding as evidence.

Redirects are followed honestly: only to http(s) (never file:// or other
schemes), at most max_redirects, and by default only on the same host name, so
a URL that merely sends users elsewhere is judged by its own 3xx answer, not by
some other site's 200. A redirect not followed is kept on the result (`refused`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import weakref
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from harness.model import Evidence, clip, now_iso

USER_AGENT = "harness-verifier/0.1 (+ST0825 AM1)"
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")


class HttpFailure(Exception):
    """A request that produced no usable response (timeout, refused, TLS error, too large).

    `kind` is one of: deadline, timeout, refused, tls, connection, redirects, other.
    """

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


class _WatchedAdapter(HTTPAdapter):
    """Remembers every socket it opens so a watchdog can cut them at the deadline.

    Socket timeouts bound each read, not a whole response: a server sending one
    header byte per second would otherwise hold a request for hours (slow loris).
    """

    def __init__(self) -> None:
        self.sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        sockets = self.sockets

        class _Http(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                sockets.add(sock)
                return sock

        class _Https(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                sockets.add(sock)
                return sock

        self._pools = {
            "http": type("_HttpPool", (HTTPConnectionPool,), {"ConnectionCls": _Http}),
            "https": type("_HttpsPool", (HTTPSConnectionPool,), {"ConnectionCls": _Https}),
        }
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

    def cut(self) -> None:
        for sock in list(self.sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@dataclass
class HttpResult:
    url: str
    method: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_s: float
    started: str
    redirects: list[tuple[int, str]] = field(default_factory=list)
    truncated: bool = False
    refused: str = ""  # why a redirect this answer asks for was not followed ("" if none)

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    def evidence(self, summary: str | None = None, excerpt_chars: int = 600) -> Evidence:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("set-cookie", "authorization")}
        return Evidence(
            kind="http",
            summary=summary or f"{self.method} {self.url} -> {self.status} in {self.elapsed_s * 1000:.0f} ms",
            url=self.url,
            excerpt=clip(self.text(), excerpt_chars),
            timestamp=self.started,
            data={
                "status": self.status,
                "elapsed_ms": round(self.elapsed_s * 1000, 1),
                "headers": headers,
                "redirects": [{"status": s, "location": loc} for s, loc in self.redirects],
                "body_truncated": self.truncated,
                **({"redirect_not_followed": self.refused} if self.refused else {}),
            },
        )


@dataclass
class HttpClient:
    ca_bundle: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_body: int = 5_000_000
    max_redirects: int = 5
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.trust_env = False  # no proxies from the environment: targets are local or configured
        self._adapter = _WatchedAdapter()
        self.session.mount("http://", self._adapter)
        self.session.mount("https://", self._adapter)

    def close(self) -> None:
        self.session.close()

    @property
    def verify(self) -> str | bool:
        return self.ca_bundle or True

    def request(
        self,
        method: str,
        url: str,
        *,
        deadline: float | None = None,
        follow_redirects: bool = True,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        hosts: Collection[str] = (),
    ) -> HttpResult:
        """One request (and its redirects) that never outlives `deadline` (a monotonic time).

        Redirects are followed to http(s) on the URL's own host name or one of `hosts`.
        """
        t0 = time.monotonic()
        end = deadline if deadline is not None else t0 + self.connect_timeout + self.read_timeout
        fired = threading.Event()

        def cut() -> None:
            fired.set()
            self._adapter.cut()

        watchdog = threading.Timer(max(0.0, end - t0), cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            allowed = {_host(url), *(h.lower() for h in hosts)}
            result = self._request(method, url, end, follow_redirects, json_body, headers, allowed)
            if fired.is_set():  # a cut connection can look like a complete, empty response
                raise HttpFailure(f"{method} {url}: deadline reached before the response completed", "deadline")
            return result
        except HttpFailure as exc:
            if time.monotonic() >= end and exc.kind != "deadline":
                raise HttpFailure(f"{method} {url}: deadline reached ({exc})", "deadline") from None
            raise
        finally:
            watchdog.cancel()

    def _request(
        self,
        method: str,
        url: str,
        end: float,
        follow_redirects: bool,
        json_body: Any,
        headers: dict[str, str] | None,
        allowed: set[str],
    ) -> HttpResult:
        started, t0 = now_iso(), time.monotonic()
        redirects: list[tuple[int, str]] = []
        current = url
        for _ in range(self.max_redirects + 1):
            left = end - time.monotonic()
            if left <= 0:
                raise HttpFailure(f"{method} {current}: deadline reached", "deadline")
            try:
                resp = self.session.request(
                    method,
                    current,
                    timeout=(min(self.connect_timeout, left), min(self.read_timeout, left)),
                    verify=self.verify,
                    allow_redirects=False,
                    stream=True,
                    json=json_body,
                    headers=headers,
                )
            except requests.exceptions.SSLError as exc:
                raise HttpFailure(f"{method} {current}: TLS error: {_short(exc)}", "tls") from None
            except requests.exceptions.ConnectTimeout:
                raise HttpFailure(f"{method} {current}: connect timed out", "timeout") from None
            except requests.exceptions.ReadTimeout:
                raise HttpFailure(f"{method} {current}: read timed out", "timeout") from None
            except requests.exceptions.ConnectionError as exc:
                kind = "refused" if "refused" in str(exc).lower() else "connection"
                raise HttpFailure(f"{method} {current}: connection failed: {_short(exc)}", kind) from None
            except requests.exceptions.RequestException as exc:
                raise HttpFailure(f"{method} {current}: {_short(exc)}") from None
            try:
                body, truncated = self._read_capped(resp, end)
            finally:
                resp.close()
                if _asks_close(headers):  # the server may close it without saying so: never reuse it (redirects)
                    self._adapter.poolmanager.clear()
            refused = ""
            if follow_redirects and resp.status_code in REDIRECT_STATUSES and "location" in resp.headers:
                nxt = urljoin(current, resp.headers["location"])
                refused = refusal(nxt, allowed)
                if not refused:
                    if _host(nxt) != _host(current) and headers:  # credentials stay with the host they were for
                        headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
                    redirects.append((resp.status_code, nxt))
                    current = nxt
                    continue
            return HttpResult(
                url=current,
                method=method,
                status=resp.status_code,
                headers=dict(resp.headers),
                body=body,
                elapsed_s=time.monotonic() - t0,
                started=started,
                redirects=redirects,
                truncated=truncated,
                refused=refused,
            )
        raise HttpFailure(f"{method} {url}: more than {self.max_redirects} redirects", "redirects")

    def get(self, url: str, **kwargs: Any) -> HttpResult:
        return self.request("GET", url, **kwargs)

    def _read_capped(self, resp: requests.Response, end: float) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in resp.iter_content(64 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_body:
                    return b"".join(chunks)[: self.max_body], True
                if time.monotonic() > end:
                    raise HttpFailure(
                        f"{resp.request.method} {resp.url}: body not received before the deadline", "deadline"
                    )
        except requests.exceptions.RequestException as exc:
            raise HttpFailure(f"{resp.request.method} {resp.url}: reading the body failed: {_short(exc)}") from None
        return b"".join(chunks), False


def _asks_close(headers: dict[str, str] | None) -> bool:
    return any(k.lower() == "connection" and v.lower() == "close" for k, v in (headers or {}).items())


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def refusal(target: str, hosts: Collection[str]) -> str:
    """Why a redirect to `target` is not followed ("" when it is): not http(s), or not one of `hosts`."""
    try:
        scheme = urlsplit(target).scheme.lower()
    except ValueError:
        return f"redirect to a malformed location {target[:200]!r} not followed"
    if scheme not in ("http", "https"):
        return f"redirect to {target[:200]} not followed: only http and https redirects are followed"
    if _host(target) not in hosts:
        return f"redirect to another host ({_host(target) or '?'}) not followed: {target[:200]}"
    return ""


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def client_settings(ctx: Any) -> dict[str, Any]:
    """The run's [live] settings as client keyword arguments (HttpClient and the keep-alive client take them)."""
    live = ctx.config.live
    return {
        "ca_bundle": str(ctx.config.resolve(live.ca_bundle)) if live.ca_bundle else None,
        "connect_timeout": live.connect_timeout_s,
        "read_timeout": live.read_timeout_s,
        "max_body": live.max_body_bytes,
        "max_redirects": live.max_redirects,
    }


def client_for(ctx: Any) -> HttpClient:
    """A client configured from the run's [live] settings (one per check: sessions are not thread-safe)."""
    return HttpClient(**client_settings(ctx))


NO_URL_REASON = "no base URL configured: set live.urls or --url"


def expected_statuses(ctx: Any) -> range | list[int]:
    """What counts as a successful answer: live.expect_status, else any 2xx (a redirect is not an answer)."""
    return list(ctx.config.live.expect_status) or range(200, 300)


def base_urls(ctx: Any) -> list[str]:
    """The configured public base URLs, without trailing slashes."""
    return [u.rstrip("/") for u in ctx.config.live.urls]


def join(base: str, path: str) -> str:
    """base URL + a path from the configuration ("/healthz"), keeping any base path prefix."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def percentiles(values: list[float], points: tuple[float, ...] = (50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles (p50, p95, p99) of `values`; empty input gives an empty dict."""
    if not values:
        return {}
    ordered = sorted(values)
    out = {}
    for p in points:
        rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
        out[f"p{p:g}"] = round(ordered[int(rank) - 1], 2)
    return out
