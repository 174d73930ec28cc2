"""Collect the monitoring set-up committed at HEAD: a model, no judgement.

Prometheus configs (stand-alone or embedded in compose/Kubernetes/IaC text),
rule files, Alertmanager configs, exporters, Grafana dashboards and provisioning,
Prometheus console templates, cloud alarms and dashboards in IaC, the routes the
application serves, and the metric families it defines. Checks judge the model.
Every item keeps its file and line so that findings can point at it.
"""

from __future__ import annotations

import re

from harness import textscan
from harness.context import Context
from harness.probes import monitoring_app, monitoring_cloud, monitoring_prom, monitoring_serverless, repository
from harness.probes.monitoring_model import (  # re-exported: checks import the model from here
    CODE_SUFFIXES,
    DOC_SUFFIXES,
    IAC_SUFFIXES,
    MAX_CODE_BYTES,
    MAX_CONFIG_BYTES,
    VENDORED,
    YAML_SUFFIXES,
    AlertRule,
    CloudAlarm,
    Dashboard,
    DocMention,
    Exporter,
    Loc,
    MetricDef,
    Monitoring,
    Panel,
    PromConfig,
    Route,
    RuleFile,
    ScrapeJob,
    evidence,
    is_health_path,
    is_metrics_path,
    is_test_path,
    is_vendored_path,
    listing,
    normalise_path,
    unreadable,
)
from harness.probes.promtool import PROMTOOL_TIMEOUT_S, PromtoolResult, promtool_check_rules, promtool_path
from harness.probes.repository import RepoSnapshot

__all__ = [
    "PROMTOOL_TIMEOUT_S",
    "VENDORED",
    "AlertRule",
    "CloudAlarm",
    "Dashboard",
    "DocMention",
    "Exporter",
    "Loc",
    "MetricDef",
    "Monitoring",
    "Panel",
    "PromConfig",
    "PromtoolResult",
    "Route",
    "RuleFile",
    "ScrapeJob",
    "collect",
    "evidence",
    "get",
    "is_health_path",
    "is_metrics_path",
    "listing",
    "normalise_path",
    "promtool_check_rules",
    "promtool_path",
    "unreadable",
]


def get(ctx: Context) -> Monitoring:
    repo = repository.get(ctx)
    return ctx.memo("monitoring", lambda: collect(repo))


_GROUPS = re.compile(r"(?m)^\s*groups:\s*$")
_IAC_CODE = re.compile(
    r"^\s*import pulumi|@pulumi/|aws-cdk-lib|@aws-cdk/|from aws_cdk|import aws_cdk|github\.com/pulumi/", re.M
)


# -- the whole collection ------------------------------------------------------------
def collect(repo: RepoSnapshot) -> Monitoring:
    model = Monitoring(head=repo.head)
    for f in repo.files:
        if not f.is_regular or is_vendored_path(f.path):
            continue
        suffix = f.suffix
        limit = MAX_CODE_BYTES if suffix in CODE_SUFFIXES else MAX_CONFIG_BYTES
        relevant = (
            suffix in YAML_SUFFIXES
            or suffix in IAC_SUFFIXES
            or suffix in CODE_SUFFIXES
            or suffix in DOC_SUFFIXES
            or suffix in (".html", ".properties")
            or f.name.lower() in ("dockerfile",)
        )
        if not relevant:
            continue
        if f.size > limit:
            if suffix in YAML_SUFFIXES or suffix == ".json":
                model.problems.append((f.path, f"larger than {limit} bytes: not read"))
            continue
        text = repo.read_text(f.path, limit)
        if text is None:
            continue
        if ("/tests/" in f"/{f.path}" or is_test_path(f.name)) and suffix not in DOC_SUFFIXES:
            continue  # fixtures and test strings are not the deployed configuration
        if suffix in DOC_SUFFIXES:
            if suffix != ".txt" or "readme" in f.name.lower():
                monitoring_app.collect_claims(model, f, text)
            continue
        docs, error = monitoring_prom.yaml_docs(text) if suffix in YAML_SUFFIXES else ([], None)  # one parse
        if suffix in YAML_SUFFIXES:
            monitoring_prom.collect_yaml(model, f, text, docs, error)
        elif suffix == ".json":
            monitoring_app.collect_json(model, f, text)
        elif suffix == ".html":
            monitoring_app.collect_console(model, f, text)
        elif suffix in IAC_SUFFIXES and ("scrape_configs:" in text or ("groups:" in text and _GROUPS.search(text))):
            monitoring_prom.collect_code_embedded(model, f, text)
        if suffix in IAC_SUFFIXES:
            monitoring_cloud.collect_iac(model, f, text)
        if suffix in IAC_SUFFIXES or suffix in CODE_SUFFIXES:
            monitoring_serverless.collect_code(model, f, text)  # handlers, CDK, Terraform and Bicep alike
        if suffix in YAML_SUFFIXES or suffix == ".json":
            monitoring_serverless.collect_template(model, f, text, docs)
        iac_code = suffix in CODE_SUFFIXES and textscan.search(_IAC_CODE, text) is not None
        if (
            suffix in YAML_SUFFIXES
            or suffix == ".tf"
            or f.name.lower() == "dockerfile"
            or iac_code  # Pulumi/CDK programs, not application code
        ):
            monitoring_prom.collect_exporters(model, f, text)
        if suffix in CODE_SUFFIXES and not is_test_path(f.path) and not iac_code:
            model.app_code_files.append(f.path)
            monitoring_app.collect_routes(model, f, text)
            monitoring_app.collect_metrics(model, f, text)
            monitoring_serverless.collect_metrics(model, f, text)
        elif f.name.startswith("application") and suffix in (".yml", ".yaml", ".properties"):
            monitoring_app.collect_routes(model, f, text)
    for cfg in model.prom_configs:
        for job in cfg.jobs:
            for t in job.targets:
                for kind, rx in monitoring_prom.EXPORTERS:
                    if rx.search(t) or rx.search(job.name) or (kind == "node-exporter" and t.endswith(":9100")):
                        model.exporters.append(Exporter(kind, job.loc))
    monitoring_prom.resolve_rule_files(model, repo)
    return model
