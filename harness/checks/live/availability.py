"""live.availability: the service keeps answering, quickly, while sampled for a window."""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes.http import NO_URL_REASON, base_urls, expected_statuses
from harness.probes.keepalive import keepalive_client_for
from harness.probes.sampling import Sampler

ID = "live.availability"


@check(
    ID,
    title="The service answered successfully and fast throughout the sampling window",
    failure_title="The service failed or answered slowly while it was being sampled",
    proves="The platform is highly available and accessible: users get answers, in time (PR-2).",
    remediation=(
        "Run at least two instances behind a health-checked load balancer, find the cause of the failed or "
        "slow answers in the logs and metrics, and alert on the success ratio."
    ),
    source="live",
    timeout=180,
)
def run(ctx: Context) -> Iterator[Finding]:
    urls = base_urls(ctx)
    if not urls:
        yield finding(ID, Outcome.COULD_NOT_CHECK, NO_URL_REASON)
        return
    cfg = ctx.config.live.availability
    window = cfg.window_s
    # Leave time to judge; a shortened window is reported, never silently accepted as the configured one.
    usable = max(0.0, ctx.remaining() - ctx.config.live.read_timeout_s - 2)
    if usable < window:
        window = usable
    samplers = [
        Sampler(
            url + "/",
            client_factory=lambda: keepalive_client_for(ctx),  # lean: its own CPU is reported per request
            rate_per_s=cfg.rate_per_s,
            request_timeout_s=min(ctx.config.live.read_timeout_s, max(1.0, cfg.p95_ms / 1000 * 5)),
            # Judged on the final answer: same-host http(s) redirects are followed, a 3xx left is a failure.
            ok_statuses=expected_statuses(ctx),
            follow_redirects=True,
        ).start()
        for url in urls
    ]
    try:
        ctx.shared.cancel.wait(window)
    finally:
        for s in samplers:
            s.stop()
    for sampler in samplers:
        yield judge(sampler, window, cfg.window_s, cfg.min_success_ratio, cfg.p95_ms)


def judge(sampler: Sampler, window: float, wanted: float, min_ratio: float, p95_ms: float) -> Finding:
    url = sampler.url
    stats = sampler.summary()
    evidence = [
        Evidence(
            kind="timing",
            summary=(
                f"{stats['total']} requests to {url} over {window:.1f} s: {stats['ok']} ok, {stats['failed']} failed; "
                f"latency {stats['latency_ms']}; "
                f"harness's own CPU {stats.get('client_cpu_ms_per_request')} ms per request"
            ),
            url=url,
            timestamp=stats["first"],
            data=stats,
        )
    ]
    if stats["total"] == 0:
        return finding(ID, Outcome.COULD_NOT_CHECK, f"no sample of {url} completed", evidence, subject=url)
    ratio, p95 = stats["success_ratio"], stats["latency_ms"].get("p95", 0.0)
    problems = []
    # PR-2 asks for high availability: more than one instance must share the traffic. Without any
    # identity (no instance header or field) the count is unknowable, so it is noted, not failed.
    instances = sorted(stats["identities"])
    if not instances:
        evidence.append(
            Evidence(
                kind="note",
                summary=(
                    f"no answer from {url} identified its instance (no X-Instance-Id-style header or instance "
                    "field): the number of instances was not judged"
                ),
                url=url,
            )
        )
    elif len(instances) < 2:
        evidence.append(
            Evidence(
                kind="note",
                summary=f"instances that answered: {', '.join(instances)}",
                url=url,
                data={"instances": instances},
            )
        )
        problems.append(f"a single instance answered: not highly available (instance {instances[0]})")
    if ratio < min_ratio:
        first = stats["failures"][0] if stats["failures"] else {}
        why = first.get("error") or f"status {first.get('status')}"
        problems.append(
            f"success ratio {ratio:.2%} below {min_ratio:.2%} (first failure at {first.get('timestamp')}: {why})"
        )
    if p95 > p95_ms:
        problems.append(f"p95 latency {p95:.0f} ms above {p95_ms:.0f} ms")
    if problems:
        return finding(ID, Outcome.FAIL, f"{url}: " + "; ".join(problems), evidence, subject=url)
    if window < wanted * 0.9:
        return finding(
            ID,
            Outcome.WARN,
            f"{url}: healthy, but sampled for only {window:.1f} s of the {wanted:.0f} s asked (check deadline)",
            evidence,
            remediation="Raise this check's timeout (run.timeouts) above live.availability.window_s.",
            subject=url,
        )
    return finding(
        ID,
        Outcome.PASS,
        f"{url}: {stats['ok']}/{stats['total']} successful ({ratio:.2%}) over {window:.0f} s, p95 {p95:.0f} ms"
        + (f", from {len(instances)} instances" if instances else ""),
        evidence,
        subject=url,
    )
