"""live.https-redirect: plain HTTP redirects permanently to HTTPS, and HTTPS answers carry HSTS."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes.http import NO_URL_REASON, HttpClient, HttpFailure, base_urls, client_for

ID = "live.https-redirect"
MAX_AGE = re.compile(r"max-age\s*=\s*\"?(\d+)\"?", re.I)


def default_http_urls(https_urls: list[str]) -> list[str]:
    """Each https URL's host on port 80, keeping its path."""
    out = []
    for url in https_urls:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            out.append(urlunsplit(("http", host, parts.path or "/", "", "")))
    return out


def hsts_max_age(header: str | None) -> int | None:
    if not header:
        return None
    m = MAX_AGE.search(header)
    return int(m.group(1)) if m else None


@check(
    ID,
    title="Plain HTTP redirects permanently to HTTPS and HTTPS answers carry a long HSTS policy",
    failure_title="Plain HTTP is served or not redirected permanently, or HSTS is missing",
    proves="Users who type or follow an http:// link end up encrypted, and browsers stay on HTTPS (DS-1).",
    remediation=(
        "Answer every plain-HTTP request with `301` (or `308`) to the same path on https://, and send "
        "`Strict-Transport-Security: max-age=31536000; includeSubDomains` on HTTPS responses."
    ),
    source="live",
    timeout=45,
)
def run(ctx: Context) -> Iterator[Finding]:
    urls = base_urls(ctx)
    if not urls:
        yield finding(ID, Outcome.COULD_NOT_CHECK, NO_URL_REASON)
        return
    https_urls = [u for u in urls if u.startswith("https://")]
    if not https_urls:
        yield finding(
            ID,
            Outcome.FAIL,
            "no configured URL is https://: there is nothing to redirect to",
            [Evidence(kind="note", summary="configured URLs", data={"urls": urls})],
        )
        return
    client = client_for(ctx)
    try:
        # Where users may honestly end up: the plain URL's own host, or a configured HTTPS URL's host.
        hosts = {h for u in https_urls if (h := urlsplit(u).hostname)}
        for http_url in ctx.config.live.http_urls or default_http_urls(https_urls):
            yield _redirect(ctx, client, http_url, hosts)
        for url in https_urls:
            yield _hsts(ctx, client, url)
    finally:
        client.close()


def _deadline(ctx: Context) -> float:
    return time.monotonic() + ctx.bounded(ctx.config.live.connect_timeout_s + ctx.config.live.read_timeout_s)


def _redirect(ctx: Context, client: HttpClient, http_url: str, hosts: set[str]) -> Finding:
    try:
        first = client.get(http_url, deadline=_deadline(ctx), follow_redirects=False)
    except HttpFailure as exc:
        ev = [Evidence(kind="http", summary=f"GET {http_url} failed", url=http_url, data={"error": str(exc)})]
        if exc.kind == "refused":
            return finding(
                ID,
                Outcome.WARN,
                f"nothing answers plain HTTP at {http_url}: no data in clear, but users who type "
                "the bare host get an error instead of the site",
                ev,
                remediation="Listen on port 80 only to redirect to HTTPS (or set live.http_urls if it is elsewhere).",
                subject=http_url,
            )
        return finding(ID, Outcome.COULD_NOT_CHECK, f"plain HTTP at {http_url}: {exc}", ev, subject=http_url)
    evidence = [first.evidence()]
    location = first.headers.get("Location", "")
    if first.status not in (301, 302, 303, 307, 308):
        return finding(
            ID,
            Outcome.FAIL,
            f"{http_url} answered {first.status} over plain HTTP instead of redirecting to HTTPS",
            evidence,
            subject=http_url,
        )
    # Follow the chain (bounded, http(s) only, allowed hosts only) to see where users end up.
    try:
        final = client.get(http_url, deadline=_deadline(ctx), hosts=hosts)
    except HttpFailure as exc:
        evidence.append(Evidence(kind="http", summary="following the redirects failed", data={"error": str(exc)}))
        why = "a redirect loop or too many redirects" if exc.kind == "redirects" else str(exc)
        outcome = Outcome.FAIL if exc.kind in ("redirects", "tls") else Outcome.COULD_NOT_CHECK
        return finding(
            ID, outcome, f"{http_url} redirects to {location} but following it fails: {why}", evidence, subject=http_url
        )
    evidence.append(final.evidence(f"after {len(final.redirects)} redirects: {final.url} -> {final.status}"))
    if final.refused:  # another scheme (file://...) or an unrelated host: not the site over HTTPS
        return finding(
            ID,
            Outcome.FAIL,
            f"{http_url} does not redirect to this site over HTTPS: {final.refused}",
            evidence,
            remediation="Redirect plain HTTP to the same host over https:// (or to a host listed in live.urls).",
            subject=http_url,
        )
    if not final.url.startswith("https://"):
        return finding(
            ID, Outcome.FAIL, f"{http_url} redirects but ends on plain HTTP at {final.url}", evidence, subject=http_url
        )
    if first.status in (301, 308):
        return finding(
            ID,
            Outcome.PASS,
            f"{http_url} redirects permanently ({first.status}) to {location}",
            evidence,
            subject=http_url,
        )
    return finding(
        ID,
        Outcome.WARN,
        f"{http_url} redirects to HTTPS with a temporary {first.status}",
        evidence,
        remediation="Use 301 or 308 so that browsers and search engines remember the HTTPS address.",
        subject=http_url,
    )


def _hsts(ctx: Context, client: HttpClient, url: str) -> Finding:
    minimum = ctx.config.live.hsts_min_age_s
    try:
        res = client.get(url + "/", deadline=_deadline(ctx), follow_redirects=False)
    except HttpFailure as exc:
        ev = [Evidence(kind="http", summary=f"GET {url} failed", url=url, data={"error": str(exc)})]
        return finding(ID, Outcome.COULD_NOT_CHECK, f"HSTS: {exc}", ev, subject=url)
    header = res.headers.get("Strict-Transport-Security")
    evidence = [res.evidence(f"GET {url}/ -> {res.status}, Strict-Transport-Security: {header or '(absent)'}")]
    age = hsts_max_age(header)
    if header is None or not age:  # max-age=0 tells browsers to forget HSTS
        why = "sends no Strict-Transport-Security header" if header is None else f"sends an HSTS header {header!r}"
        return finding(ID, Outcome.FAIL, f"{url} {why}: browsers may fall back to HTTP", evidence, subject=url)
    if age < minimum:
        return finding(
            ID,
            Outcome.WARN,
            f"{url} sends HSTS max-age={age} s, under live.hsts_min_age_s={minimum} s",
            evidence,
            remediation="Raise HSTS max-age to at least 180 days (15552000 s); a year (31536000) is usual.",
            subject=url,
        )
    return finding(ID, Outcome.PASS, f"{url} sends HSTS max-age={age} s ({age // 86400} days)", evidence, subject=url)
