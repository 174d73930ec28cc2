"""live.tls: every public URL serves modern TLS with a trusted, matching, unexpired certificate.

Protocols and cipher suites are judged against a versioned policy (Mozilla
"intermediate", harness/data/tls_policy.json); an incomplete scan gives no verdict.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import tls
from harness.probes.http import NO_URL_REASON, base_urls

ID = "live.tls"


@cache
def policy() -> dict[str, Any]:
    return json.loads(resources.files("harness.data").joinpath("tls_policy.json").read_text(encoding="utf-8"))


def weak_reason(suite: str) -> str | None:
    for marker, why in policy()["weak_markers"].items():
        if marker.lower() in suite.lower():
            return str(why)
    return None


def judge_suites(accepted: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """(weak suites: fail, suites outside the intermediate profile: warn), each as 'PROTO SUITE (why)'."""
    weak, extra = [], []
    allowed = policy()["ciphersuites"]
    for proto, suites in accepted.items():
        for suite in suites:
            why = weak_reason(suite)
            if why:
                weak.append(f"{proto} {suite} ({why})")
            elif suite not in allowed.get(proto, []):
                extra.append(f"{proto} {suite}")
    return weak, extra


@check(
    ID,
    title="Every public endpoint serves TLS 1.2+ with strong suites and a trusted, valid certificate",
    failure_title="Data in transit is not properly protected by TLS on a public endpoint",
    proves="Users' traffic is encrypted with current protocols and authenticated by a valid certificate (DS-1, PR-2).",
    remediation=(
        "Serve HTTPS only, with TLS 1.2 and 1.3 and the Mozilla intermediate cipher list "
        "(https://ssl-config.mozilla.org), and a certificate from a trusted CA (e.g. Let's Encrypt) "
        "naming the host, renewed automatically."
    ),
    source="live",
    timeout=90,
)
def run(ctx: Context) -> Iterator[Finding]:
    urls = base_urls(ctx)
    if not urls:
        yield finding(ID, Outcome.COULD_NOT_CHECK, NO_URL_REASON)
        return
    live = ctx.config.live
    ca_file = str(ctx.config.resolve(live.ca_bundle)) if live.ca_bundle else None
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme != "https":
            yield finding(
                ID,
                Outcome.FAIL,
                f"{url} is plain HTTP: traffic to it is not encrypted",
                [Evidence(kind="note", summary="configured URL uses http://", url=url)],
                remediation="Serve the application over HTTPS and configure its https:// URL.",
                subject=url,
            )
            continue
        host, port = parts.hostname or "", parts.port or 443
        budget = ctx.bounded(ctx.remaining() / max(1, len(urls)))
        scan = tls.probe(host, port, host, ca_file, budget)
        yield from judge(ctx, url, scan)


def judge(ctx: Context, url: str, scan: tls.TlsScan) -> Iterator[Finding]:
    hs = scan.handshake
    if not hs.ok:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            hs.error,
            [Evidence(kind="note", summary="TLS handshake", url=url, data={"error": hs.error})],
            remediation="Make the endpoint reachable from where harness runs, then run it again.",
            subject=url,
        )
        return
    yield from _judge_certificate(ctx, url, scan)
    yield from _judge_protocols(url, scan)


def _cert_evidence(url: str, chain: list[tls.CertFacts]) -> list[Evidence]:
    return [
        Evidence(
            kind="certificate",
            summary=f"{'leaf' if i == 0 else f'chain[{i}]'}: {c.subject} issued by {c.issuer}, valid to {c.not_after}",
            url=url,
            sha256=c.sha256,
            data=c.to_dict(),
        )
        for i, c in enumerate(chain)
    ]


def _judge_certificate(ctx: Context, url: str, scan: tls.TlsScan) -> Iterator[Finding]:
    hs = scan.handshake
    chain = scan.chain or ([hs.leaf] if hs.leaf else [])
    evidence = _cert_evidence(url, chain)
    if scan.path_validation:
        evidence.append(
            Evidence(kind="note", summary="sslyze path validation per trust store", data=dict(scan.path_validation))
        )
    leaf = chain[0] if chain else None
    if hs.verify_error:
        yield finding(
            ID,
            Outcome.FAIL,
            f"{url}: the certificate is not accepted by a verifying client: {hs.verify_error}",
            evidence,
            remediation=(
                "Serve the full chain of a certificate issued by a publicly trusted CA (or the CA in live.ca_bundle) "
                "whose subject alternative names include the host."
            ),
            subject=url,
        )
    elif leaf is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, f"{url}: no certificate was received", evidence, subject=url)
        return
    else:
        matched = tls.hostname_matches(scan.server_name, leaf.sans)
        yield finding(
            ID,
            Outcome.PASS if matched else Outcome.FAIL,
            f"{url}: the chain validates and the certificate names {scan.server_name}"
            if matched
            else f"{url}: the certificate does not name {scan.server_name} (names: {', '.join(leaf.sans) or 'none'})",
            evidence,
            subject=url,
        )
    if leaf is None:
        return
    warn_days = ctx.config.live.cert_expiry_warn_days
    expiry = Evidence(
        kind="certificate", summary=f"leaf valid to {leaf.not_after}", url=url, sha256=leaf.sha256, data=leaf.to_dict()
    )
    if leaf.days_left <= policy()["cert_expiry_fail_days"]:
        yield finding(
            ID,
            Outcome.FAIL,
            f"{url}: the certificate expired on {leaf.not_after}",
            [expiry],
            remediation="Renew the certificate now and automate renewal (e.g. certbot or cert-manager).",
            subject=url,
        )
    elif 0 < (lifetime := leaf.lifetime_days) <= warn_days:
        # Short-lived certificates (an ACME CA's 6-day ones, Caddy's 12-hour internal ones) always expire "soon":
        # automated renewal replaces them at about two thirds of their life, so less than a third left is late.
        life, left = _duration(lifetime), _duration(max(0.0, leaf.days_left))
        if leaf.days_left >= lifetime / 3:
            yield finding(
                ID,
                Outcome.PASS,
                f"{url}: a short-lived certificate ({life} lifetime) with {left} left, within its renewal window",
                [expiry],
                subject=url,
            )
        else:
            yield finding(
                ID,
                Outcome.WARN,
                f"{url}: the short-lived certificate ({life} lifetime) has only {left} left: "
                "automated renewal should have replaced it by now",
                [expiry],
                remediation="Check the certificate manager's renewal logs (ACME client, Caddy, cert-manager).",
                subject=url,
            )
    elif leaf.days_left < warn_days:
        yield finding(
            ID,
            Outcome.WARN,
            f"{url}: the certificate expires in {leaf.days_left:.0f} days "
            f"(under live.cert_expiry_warn_days={warn_days})",
            [expiry],
            remediation="Renew the certificate and check that automatic renewal works.",
            subject=url,
        )
    else:
        yield finding(
            ID,
            Outcome.PASS,
            f"{url}: the certificate is valid for {leaf.days_left:.0f} more days",
            [expiry],
            subject=url,
        )


def _duration(days: float) -> str:
    return f"{days * 24:.0f} h" if days < 2 else f"{days:.0f} days"


def _judge_protocols(url: str, scan: tls.TlsScan) -> Iterator[Finding]:
    pol = policy()
    evidence = [
        Evidence(
            kind="note",
            summary="protocols and cipher suites accepted (sslyze)",
            url=url,
            data={
                "accepted": scan.accepted,
                "refused": scan.refused,
                "negotiated": {"protocol": scan.handshake.protocol, "cipher": scan.handshake.cipher},
                "policy": f"{pol['name']} {pol['version']}",
                "scan_s": round(scan.duration_s, 2),
            },
        )
    ]
    if scan.errors:
        detail = "; ".join(f"{k}: {v}" for k, v in scan.errors.items())
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"{url}: the protocol scan did not complete ({detail})",
            evidence,
            remediation="Make the endpoint reachable for the whole scan (rate limits, firewalls), then run it again.",
            subject=url,
        )
        return
    old = [p for p in pol["forbidden_protocols"] if p in scan.accepted]
    modern = [p for p in pol["allowed_protocols"] if p in scan.accepted]
    if old:
        yield finding(
            ID,
            Outcome.FAIL,
            f"{url} accepts obsolete protocols: {', '.join(old)}",
            evidence,
            remediation="Disable SSLv3, TLS 1.0 and 1.1 (e.g. nginx `ssl_protocols TLSv1.2 TLSv1.3;`).",
            subject=url,
        )
    elif not modern:
        yield finding(ID, Outcome.FAIL, f"{url} accepts neither TLS 1.2 nor TLS 1.3", evidence, subject=url)
    else:
        yield finding(
            ID,
            Outcome.PASS,
            f"{url} accepts only {' and '.join(modern)}; older protocols are refused",
            evidence,
            subject=url,
        )
    weak, extra = judge_suites(scan.accepted)
    if weak:
        yield finding(
            ID,
            Outcome.FAIL,
            f"{url} accepts weak cipher suites: {'; '.join(weak)}",
            evidence,
            remediation="Restrict the cipher list to Mozilla's intermediate profile (ECDHE with AES-GCM or ChaCha20).",
            subject=url,
        )
    elif extra:
        yield finding(
            ID,
            Outcome.WARN,
            f"{url} accepts {len(extra)} suites outside the {pol['name']} profile: {', '.join(extra[:8])}",
            evidence,
            remediation="Drop CBC and non-forward-secret suites: use Mozilla's intermediate cipher list.",
            subject=url,
        )
    else:
        yield finding(
            ID, Outcome.PASS, f"{url} accepts only cipher suites of the {pol['name']} profile", evidence, subject=url
        )
