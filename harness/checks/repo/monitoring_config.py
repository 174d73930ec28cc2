"""repo.monitoring-config: Prometheus (or cloud) monitoring is configured, and what it scrapes exists.

OP-1 asks for coverage of infrastructure and application: CPU and RAM of hosts or
containers (an exporter), availability (a health route) and application metrics
(a metrics route that the scrape config really reaches). A scrape job whose path
the application does not serve would show the target down forever, so it fails.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Finding, Outcome
from harness.probes import monitoring, repository
from harness.probes.monitoring import evidence, listing

ID = "repo.monitoring-config"

_CPU_MEM_METRIC = ("cpu", "memory", "mem")


@check(
    ID,
    title="Monitoring is configured for hosts/containers and the application, and its scrape targets exist",
    failure_title="Monitoring is missing, incomplete, or scrapes paths the application does not serve",
    proves="Prometheus (or cloud monitoring) collects host/container CPU and RAM and application metrics, "
    "and the application exposes the health and metrics routes the configuration expects (OP-1).",
    remediation="Commit a prometheus.yml scraping the application's metrics route and a node-exporter/cAdvisor, "
    "and serve /health and /metrics from the application.",
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    why = monitoring.unreadable(repo)
    if why:
        yield finding(ID, Outcome.COULD_NOT_CHECK, why)
        return
    model = monitoring.get(ctx)
    head = model.head
    rule_paths = {rf.loc.path for rf in model.rule_files}
    for path, problem in model.problems:
        if path not in rule_paths and not path.endswith(".json"):
            yield finding(
                ID,
                Outcome.FAIL,
                f"{path} cannot be read as monitoring configuration: {problem}",
                [evidence(monitoring.Loc(path, 1), problem, head)],
                remediation=f"Fix {path} so that Prometheus can load it (check with `promtool check config`).",
                subject=path,
            )
    has_cloud = (
        bool(model.cloud_alarms)
        or bool(model.platform_metrics)
        or any(d.kind in ("cloudwatch", "azure", "gcp") for d in model.dashboards)
    )
    if not model.prom_configs and not has_cloud:
        if model.monitoring_claims:
            ev = [
                evidence(c.loc, "monitoring claimed in documentation", head, c.text)
                for c in model.monitoring_claims[:5]
            ]
            yield finding(
                ID,
                Outcome.FAIL,
                "monitoring is claimed, not configured: the documentation mentions it "
                f"({model.monitoring_claims[0].loc}) but no Prometheus config or cloud alarm is committed",
                ev,
            )
        else:
            yield finding(ID, Outcome.FAIL, "no monitoring configuration: no Prometheus config and no cloud alarms")
        yield from _routes(model)  # the health route is evidence of availability whatever watches it
        return
    yield from _prom_configs(model)
    yield from _exporters(model)
    yield from _routes(model)


def _prom_configs(model: monitoring.Monitoring) -> Iterator[Finding]:
    head = model.head
    for cfg in model.prom_configs:
        where = f"{cfg.loc}" + (" (embedded)" if cfg.embedded else "")
        if not cfg.jobs:
            yield finding(
                ID, Outcome.FAIL, f"Prometheus config {where} has no scrape job", [evidence(cfg.loc, "", head)]
            )
            continue
        jobs = [f"{j.name} → {j.metrics_path} {', '.join(j.targets) or '(discovered)'}" for j in cfg.jobs]
        yield finding(
            ID,
            Outcome.PASS,
            f"Prometheus config {where} scrapes {len(cfg.jobs)} job(s): {listing([j.name for j in cfg.jobs])}",
            [evidence(j.loc, f"scrape job {j.name}", head, line) for j, line in zip(cfg.jobs, jobs, strict=True)],
            subject=cfg.loc.path,
        )


def _exporters(model: monitoring.Monitoring) -> Iterator[Finding]:
    head = model.head
    host = [e for e in model.exporters if e.kind in ("node-exporter", "cadvisor", "windows-exporter")]
    cloud_cpu_mem = [a for a in model.cloud_alarms if a.metric and any(k in a.metric.lower() for k in _CPU_MEM_METRIC)]
    if host:
        kinds = sorted({e.kind for e in host})
        seen: dict[str, monitoring.Exporter] = {}
        for e in host:
            seen.setdefault(e.kind, e)
        yield finding(
            ID,
            Outcome.PASS,
            f"host/container CPU and RAM are collected by {', '.join(kinds)}",
            [evidence(e.loc, f"{e.kind} configured", head) for e in seen.values()],
        )
    elif cloud_cpu_mem:
        yield finding(
            ID,
            Outcome.PASS,
            f"host CPU/RAM are watched by cloud alarms: {listing([f'{a.name} ({a.metric})' for a in cloud_cpu_mem])}",
            [evidence(a.loc, f"{a.kind} {a.name}", head) for a in cloud_cpu_mem[:10]],
        )
    elif model.functions and model.platform_metrics:
        feature, loc = model.platform_metrics[0]
        yield finding(
            ID,
            Outcome.PASS,
            f"serverless functions ({model.functions[0][0]}): {feature} collects their CPU and memory ({loc})",
            [evidence(loc, feature, head)] + [evidence(fl, f"{p} function", head) for p, fl in model.functions[:3]],
        )
    elif model.functions:
        platform, loc = model.functions[0]
        yield finding(
            ID,
            Outcome.FAIL,
            f"serverless functions ({platform}, {loc}) run with no CPU and memory monitoring: neither Lambda Insights "
            "nor Application Insights is enabled, and no cloud alarm watches CPU or memory",
            [evidence(fl, f"{p} function", head) for p, fl in model.functions[:5]],
            remediation="Enable Lambda Insights (the LambdaInsightsExtension layer, `insightsVersion` in CDK) or "
            "connect Application Insights (APPLICATIONINSIGHTS_CONNECTION_STRING), or alarm on memory and CPU.",
        )
    elif model.metrics_routes:
        yield finding(
            ID,
            Outcome.WARN,
            "no node-exporter or cAdvisor: only the application process's own CPU and memory "
            "(default client metrics) are collected, not the host's or container's",
            [evidence(r.loc, r.how, head) for r in model.metrics_routes[:3]],
            remediation="Run node-exporter (host) or cAdvisor (containers) and add a scrape job for it.",
        )
    else:
        yield finding(
            ID,
            Outcome.FAIL,
            "nothing collects host or container CPU and RAM: no node-exporter, cAdvisor or CPU/memory cloud alarm",
            remediation="Run node-exporter (host) or cAdvisor (containers) and add a scrape job for it.",
        )


def _routes(model: monitoring.Monitoring) -> Iterator[Finding]:
    head = model.head
    routes = sorted({r.path for r in model.routes})
    if not model.app_code_files and not model.routes:
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            "no application code (Python, JavaScript/TypeScript, Go, Java) found at HEAD: "
            "cannot tell whether health and metrics routes are served",
        )
        return
    if model.health_routes:
        r = model.health_routes[0]
        yield finding(
            ID,
            Outcome.PASS,
            f"the application serves a health check at {r.path} ({r.loc})",
            [evidence(h.loc, f"{h.how} {h.path}", head) for h in model.health_routes[:5]],
        )
    else:
        yield finding(
            ID,
            Outcome.FAIL,
            "the application serves no health-check route (/health, /healthz, /readyz, /livez, /ping...); "
            f"routes found: {listing(routes) or 'none'}",
            remediation="Add a /health (or /healthz) route that reports the application and its dependencies.",
        )
    if not model.prom_configs:
        return
    if model.metrics_routes:
        r = model.metrics_routes[0]
        yield finding(
            ID,
            Outcome.PASS,
            f"the application exposes metrics at {r.path if r.path != '*' else 'a dedicated metrics port'} ({r.loc})",
            [evidence(m.loc, f"{m.how} {m.path}", head) for m in model.metrics_routes[:5]],
        )
    for cfg in model.prom_configs:
        for job in cfg.jobs:
            if job.is_infrastructure:
                continue
            served = model.serves(job.metrics_path)
            if served:
                yield finding(
                    ID,
                    Outcome.PASS,
                    f"scrape job {job.name} ({job.loc}) reads {job.metrics_path}, which the application serves "
                    f"({served[0].loc})",
                    [evidence(job.loc, f"scrape job {job.name}", head), evidence(served[0].loc, served[0].how, head)],
                    subject=job.name,
                )
            else:
                yield finding(
                    ID,
                    Outcome.FAIL,
                    f"scrape job {job.name} ({job.loc}) reads {job.metrics_path}, but the application does not serve "
                    f"that path; routes found: {listing(routes) or 'none'}",
                    [evidence(job.loc, f"scrape job {job.name}: metrics_path {job.metrics_path}", head)]
                    + [evidence(r.loc, f"{r.how} {r.path}", head) for r in model.routes[:8]],
                    remediation=f"Serve {job.metrics_path} from the application (e.g. prometheus_client's "
                    "make_wsgi_app / prom-client's register.metrics()), or point metrics_path at the route it has.",
                    subject=job.name,
                )
