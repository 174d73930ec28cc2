"""Prometheus configs, rule files, Alertmanager and Grafana provisioning, and exporters, from YAML and code."""

from __future__ import annotations

import fnmatch
import posixpath
import re
import textwrap
from typing import Any

import yaml

from harness.probes.inventory_files import load_yaml_all
from harness.probes.monitoring_model import (
    MAX_CONFIG_BYTES,
    AlertRule,
    Exporter,
    Loc,
    Monitoring,
    PromConfig,
    RuleFile,
    ScrapeJob,
    find_line,
)
from harness.probes.repository import RepoFile, RepoSnapshot


def yaml_docs(text: str) -> tuple[list[Any], str | None]:
    """The documents of a YAML stream (CloudFormation tags such as !Ref read as plain values, so that one parse
    serves the Prometheus and the template collectors), or why it cannot be read."""
    try:
        return [d for d in load_yaml_all(text) if d is not None], None
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return [], f"invalid YAML{where}: {getattr(exc, 'problem', None) or exc}"


def _strings(node: Any, depth: int = 0) -> list[str]:
    """Every string value inside a parsed YAML/JSON document (bounded depth)."""
    if depth > 12:
        return []
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v, depth + 1)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v, depth + 1)]
    return []


_STRING_END = re.compile(r'^\s*(?:"""|\'\'\'|`|EOT\b|EOF\b|END\b|[A-Z_]{2,}$)')


def _embedded_block(text: str, anchor: int) -> tuple[str, int] | None:
    """The YAML block around line `anchor` (0-based) inside a string literal of another file.

    The block is the run of lines at the anchor's indentation or deeper, extended
    upwards over sibling keys, and stopped at a string terminator (\"\"\", `, EOT).
    """
    lines = text.splitlines()
    indent = len(lines[anchor]) - len(lines[anchor].lstrip())
    start = anchor
    while start > 0:
        prev = lines[start - 1]
        if not prev.strip() or _STRING_END.match(prev) or '"""' in prev or "'''" in prev or "`" in prev:
            break
        if len(prev) - len(prev.lstrip()) < indent or "<<" in prev or "=" in prev.split(":")[0]:
            break
        start -= 1
    end = anchor + 1
    while end < len(lines):
        line = lines[end]
        if _STRING_END.match(line) or '"""' in line or "'''" in line or "`" in line:
            break
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        end += 1
    return textwrap.dedent("\n".join(lines[start:end])), start + 1


# -- Prometheus ----------------------------------------------------------------
def _prom_from_dict(doc: dict[str, Any], loc: Loc, text: str, embedded: bool, line_offset: int = 0) -> PromConfig:
    cfg = PromConfig(loc=loc, embedded=embedded)
    for job in doc.get("scrape_configs") or []:
        if not isinstance(job, dict):
            continue
        name = str(job.get("job_name", "?"))
        targets: list[str] = []
        for sc in job.get("static_configs") or []:
            if isinstance(sc, dict):
                targets += [str(t) for t in sc.get("targets") or []]
        line = find_line(text, rf"job_name['\"]?\s*:\s*['\"]?{re.escape(name)}['\"]?", line_offset + 1) or loc.line
        cfg.jobs.append(ScrapeJob(name, str(job.get("metrics_path") or "/metrics"), targets, Loc(loc.path, line)))
    cfg.rule_files = [str(r) for r in doc.get("rule_files") or [] if isinstance(r, str)]
    alerting = doc.get("alerting")
    if isinstance(alerting, dict):
        for am in alerting.get("alertmanagers") or []:
            if not isinstance(am, dict):
                continue
            found = [
                str(t) for sc in am.get("static_configs") or [] if isinstance(sc, dict) for t in sc.get("targets") or []
            ]
            if not found and any(k.endswith("_sd_configs") for k in am):
                found = ["(service discovery)"]
            cfg.alertmanagers += found
    return cfg


def _is_prom_config(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("scrape_configs"), list)


def _is_rule_groups(doc: Any) -> bool:
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        return False
    return any(
        isinstance(g, dict)
        and isinstance(g.get("rules"), list)
        and any(isinstance(r, dict) and ("alert" in r or "record" in r) for r in g["rules"])
        for g in doc["groups"]
    )


def _is_grafana_alerting(doc: Any) -> bool:
    if not isinstance(doc, dict) or "apiVersion" not in doc:
        return False
    if doc.get("contactPoints") or doc.get("policies"):
        return True
    groups = doc.get("groups")
    return isinstance(groups, list) and any(
        isinstance(g, dict) and any(isinstance(r, dict) and "data" in r for r in g.get("rules") or []) for g in groups
    )


def _rule_file(doc: dict[str, Any], loc: Loc, text: str, rule_text: str, embedded: bool) -> RuleFile:
    rf = RuleFile(loc=loc, text=rule_text, embedded=embedded)
    for group in doc.get("groups") or []:
        if not isinstance(group, dict):
            continue
        for rule in group.get("rules") or []:
            if not isinstance(rule, dict):
                continue
            if "record" in rule:
                rf.records += 1
                continue
            if "alert" not in rule:
                continue
            name = str(rule["alert"])
            line = find_line(text, rf"alert['\"]?\s*:\s*['\"]?{re.escape(name)}\b", loc.line) or loc.line
            raw_labels = rule.get("labels")
            labels = raw_labels if isinstance(raw_labels, dict) else {}
            for_ = rule.get("for")
            rf.alerts.append(
                AlertRule(
                    name=name,
                    expr=str(rule.get("expr", "")),
                    for_=str(for_) if for_ is not None else None,
                    group=str(group.get("name", "?")),
                    loc=Loc(loc.path, line),
                    severity=str(labels.get("severity")) if labels.get("severity") is not None else None,
                )
            )
    return rf


def collect_yaml(model: Monitoring, f: RepoFile, text: str, docs: list[Any], error: str | None) -> None:
    """Prometheus configs, rule groups, Alertmanager and Grafana provisioning in a YAML file's documents."""
    if error:
        if re.search(r"(?m)^\s*(scrape_configs|groups|receivers|route)\s*:", text):
            # Looks like monitoring config but Prometheus/promtool would reject it too.
            model.problems.append((f.path, error))
            if re.search(r"(?m)^\s*groups\s*:", text) and re.search(r"(?m)^\s*-?\s*alert\s*:", text):
                model.rule_files.append(RuleFile(Loc(f.path, 1), text, embedded=False, error=error))
            elif "scrape_configs" in text:
                model.prom_configs.append(PromConfig(Loc(f.path, 1), embedded=False))
        return
    for doc in docs:
        if _is_prom_config(doc):
            model.prom_configs.append(_prom_from_dict(doc, Loc(f.path, 1), text, embedded=False))
        elif _is_rule_groups(doc):
            model.rule_files.append(_rule_file(doc, Loc(f.path, 1), text, text, embedded=False))
        elif isinstance(doc, dict) and doc.get("kind") == "PrometheusRule" and isinstance(doc.get("spec"), dict):
            spec = doc["spec"]
            line = find_line(text, r"kind:\s*PrometheusRule") or 1
            model.rule_files.append(_rule_file(spec, Loc(f.path, line), text, yaml.safe_dump(spec), embedded=True))
        elif isinstance(doc, dict) and "receivers" in doc and "route" in doc:
            model.alertmanager_configs.append(Loc(f.path, find_line(text, r"^\s*route\s*:") or 1))
        elif _is_grafana_alerting(doc):
            model.grafana_alerting.append(Loc(f.path, 1))
        elif isinstance(doc, dict) and "apiVersion" in doc and isinstance(doc.get("providers"), list):
            model.grafana_provisioning.append(Loc(f.path, find_line(text, r"^\s*providers\s*:") or 1))
        elif isinstance(doc, dict) and "apiVersion" in doc and isinstance(doc.get("datasources"), list):
            model.grafana_provisioning.append(Loc(f.path, find_line(text, r"^\s*datasources\s*:") or 1))
        else:
            # Embedded in compose `configs.content`, a ConfigMap's data, a Helm values file...
            for s in _strings(doc):
                _collect_embedded_string(model, f, text, s)


def _collect_embedded_string(model: Monitoring, f: RepoFile, text: str, s: str) -> None:
    if "scrape_configs" not in s and "groups" not in s:
        return
    docs, error = yaml_docs(s)
    first = s.strip().splitlines()[0] if s.strip() else ""
    line = find_line(text, re.escape(first.strip())) if first.strip() else None
    loc = Loc(f.path, line or 1)
    if error:
        model.problems.append((f.path, f"embedded monitoring config near line {loc.line}: {error}"))
        return
    for doc in docs:
        if _is_prom_config(doc):
            model.prom_configs.append(_prom_from_dict(doc, loc, text, embedded=True, line_offset=loc.line - 1))
        elif _is_rule_groups(doc):
            model.rule_files.append(_rule_file(doc, loc, text, s, embedded=True))


def collect_code_embedded(model: Monitoring, f: RepoFile, text: str) -> None:
    """Prometheus configs or rule groups written as YAML inside a string in IaC code (Pulumi, Terraform)."""
    lines = text.splitlines()
    seen: set[int] = set()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not (stripped.startswith("scrape_configs:") or stripped.startswith("groups:")):
            continue
        block = _embedded_block(text, i)
        if block is None or block[1] in seen:
            continue
        body, start = block
        seen.add(start)
        docs, error = yaml_docs(body)
        if error:
            model.problems.append((f.path, f"embedded monitoring config at line {start}: {error}"))
            continue
        for doc in docs:
            loc = Loc(f.path, start)
            if _is_prom_config(doc):
                model.prom_configs.append(_prom_from_dict(doc, loc, text, embedded=True, line_offset=start - 1))
            elif _is_rule_groups(doc):
                model.rule_files.append(_rule_file(doc, loc, text, body, embedded=True))


def resolve_rule_files(model: Monitoring, repo: RepoSnapshot) -> None:
    """rule_files entries are relative to the config; a referenced file missing at HEAD is recorded."""
    known = {rf.loc.path for rf in model.rule_files}
    all_paths = [f.path for f in repo.files]
    for cfg in model.prom_configs:
        base = posixpath.dirname(cfg.loc.path)
        for ref in cfg.rule_files:
            candidates = _rule_file_matches(base, ref, all_paths)
            if candidates:
                for p in candidates:
                    if p and p not in known:
                        text = repo.read_text(p, MAX_CONFIG_BYTES)
                        if text is None:
                            model.unreadable_rule_files.append((p, cfg.loc))
                        else:
                            # Referenced explicitly: give promtool a go even if our parse saw no alerts.
                            docs, error = yaml_docs(text)
                            rf = RuleFile(Loc(p, 1), text, embedded=False, error=error)
                            if not error and docs and isinstance(docs[0], dict):
                                rf = _rule_file(docs[0], Loc(p, 1), text, text, embedded=False)
                            model.rule_files.append(rf)
                            known.add(p)
            else:
                line = find_line(repo.read_text(cfg.loc.path, MAX_CONFIG_BYTES) or "", re.escape(ref)) or cfg.loc.line
                model.missing_rule_files.append((ref, Loc(cfg.loc.path, line)))


def _rule_file_matches(base: str, ref: str, all_paths: list[str]) -> list[str]:
    """Files a rule_files entry names, relative to the config's folder.

    An absolute entry (/etc/prometheus/rules/*.yml, the path inside the container)
    is tried by its trailing parts, so it finds the folder copied into the image.
    """
    parts = [p for p in ref.split("/") if p]
    tails = ["/".join(parts[k:]) for k in range(len(parts))] if ref.startswith("/") else [ref]
    for tail in tails:
        pattern = posixpath.normpath(posixpath.join(base, tail))
        found = [
            p
            for p in all_paths
            if fnmatch.fnmatchcase(p, pattern) and "/" not in p[len(posixpath.dirname(pattern)) + 1 :]
        ]
        if found:
            return found
    return []


# -- exporters -----------------------------------------------------------------
EXPORTERS = [
    ("node-exporter", re.compile(r"(?i)node[-_]exporter|prometheus-node-exporter")),
    ("cadvisor", re.compile(r"(?i)\bcadvisor\b")),
    ("windows-exporter", re.compile(r"(?i)windows[-_]exporter")),
    ("process-exporter", re.compile(r"(?i)process[-_]exporter")),
    ("kube-state-metrics", re.compile(r"(?i)kube-state-metrics")),
    ("blackbox-exporter", re.compile(r"(?i)blackbox[-_]exporter")),
]


def collect_exporters(model: Monitoring, f: RepoFile, text: str) -> None:
    for kind, rx in EXPORTERS:
        for i, line in enumerate(text.splitlines(), start=1):
            if line.lstrip().startswith("#"):
                continue
            if rx.search(line):
                model.exporters.append(Exporter(kind, Loc(f.path, i)))
                break
