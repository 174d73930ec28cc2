"""One scrape of the application's metrics endpoint per run, parsed into plain families.

Prometheus text and OpenMetrics are both read (the Content-Type decides, with a
fallback to the other parser). The body is capped by the HTTP client; a page
that is too large, or not metrics at all, becomes an error with an excerpt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from harness.model import Evidence, clip
from harness.probes.http import HttpFailure, HttpResult, base_urls, client_for, join

ACCEPT = "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
MAX_FAMILIES = 5000


@dataclass
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass
class Family:
    name: str
    type: str
    help: str
    samples: list[Sample] = field(default_factory=list)

    def sample_names(self) -> set[str]:
        return {s.name for s in self.samples}

    def label_names(self) -> set[str]:
        return {k for s in self.samples for k in s.labels}


@dataclass
class Scrape:
    url: str
    families: list[Family] = field(default_factory=list)
    format: str = ""
    error: str = ""  # why there is nothing to judge
    error_kind: str = ""  # unreachable | too_large | unparseable | status
    response: HttpResult | None = None
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error

    def evidence(self) -> Evidence:
        if self.response is not None:
            ev = self.response.evidence(
                f"GET {self.url} -> {self.response.status}, {len(self.response.body)} bytes, "
                f"{len(self.families)} families ({self.format or 'unparsed'})",
                excerpt_chars=800,
            )
            ev.data["families"] = len(self.families)
            return ev
        return Evidence(kind="http", summary=f"GET {self.url} failed", url=self.url, data={"error": self.error})

    def by_sample_name(self) -> dict[str, Family]:
        return {s.name: f for f in self.families for s in f.samples}


def metrics_url(ctx: Any) -> str:
    live = ctx.config.live
    if live.metrics_url:
        return str(live.metrics_url)
    urls = base_urls(ctx)
    return join(urls[0], "/metrics") if urls else ""


NO_METRICS_URL_REASON = "no metrics URL configured: set live.metrics_url or --metrics-url (or live.urls)"


def parse(text: str, content_type: str) -> tuple[list[Family], str]:
    """(families, format); raises ValueError with a short reason when it is not metrics text."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
    from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

    order = [("openmetrics", parse_openmetrics), ("prometheus", parse_prometheus)]
    if "openmetrics" not in content_type.lower():
        order.reverse()
    first_error = ""
    for fmt, parser in order:
        try:
            families = []
            for fam in parser(text):
                if not fam.samples:  # a TYPE/HELP line without samples says nothing about the service
                    continue
                families.append(
                    Family(
                        name=fam.name,
                        type=fam.type,
                        help=fam.documentation,
                        samples=[Sample(s.name, dict(s.labels), float(s.value)) for s in fam.samples],
                    )
                )
                if len(families) >= MAX_FAMILIES:
                    break
            return families, fmt
        except Exception as exc:  # the parsers raise ValueError, KeyError, IndexError... on garbage
            first_error = first_error or f"{type(exc).__name__}: {str(exc)[:200]}"
    raise ValueError(first_error)


def scrape_url(ctx: Any, url: str) -> Scrape:
    client = client_for(ctx)
    t0 = time.monotonic()
    try:
        res = client.get(url, headers={"Accept": ACCEPT}, deadline=t0 + ctx.bounded(ctx.config.live.read_timeout_s))
    except HttpFailure as exc:
        return Scrape(url=url, error=str(exc), error_kind="unreachable", elapsed_s=time.monotonic() - t0)
    finally:
        client.close()
    out = Scrape(url=url, response=res, elapsed_s=time.monotonic() - t0)
    if not 200 <= res.status < 300:
        out.error, out.error_kind = f"GET {url} answered {res.status}", "status"
        return out
    if res.truncated:
        cap = ctx.config.live.max_body_bytes
        out.error = f"the metrics page is larger than live.max_body_bytes ({cap} bytes); reading stopped there"
        out.error_kind = "too_large"
        return out
    try:
        out.families, out.format = parse(res.text(), res.headers.get("Content-Type", ""))
    except ValueError as exc:
        out.error = f"not Prometheus or OpenMetrics text ({exc}); starts with: {clip(res.text()[:200], 200)!r}"
        out.error_kind = "unparseable"
    return out


def scrape(ctx: Any) -> Scrape:
    """The run's scrape of the metrics endpoint, shared by every check that needs it."""
    url = metrics_url(ctx)
    return ctx.memo(f"metrics:{url}", lambda: scrape_url(ctx, url))
