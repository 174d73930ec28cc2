"""Prometheus's HTTP API, read-only, plus a small classifier for alerting expressions.

Every call returns the decoded `data` with the HTTP result kept for evidence.
The classifier is deliberately small: it sorts alert rules into the four things
OP-1 asks to monitor (CPU, memory, error rate, availability) by the metric names
and words in the expression, falling back to the alert's name.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from harness.probes.http import HttpClient, HttpFailure, HttpResult


class PrometheusError(Exception):
    """The API did not answer, or answered with something other than status=success."""


@dataclass
class ApiAnswer:
    data: Any
    http: HttpResult


class PrometheusClient:
    def __init__(self, base_url: str, http: HttpClient, deadline: float) -> None:
        self.base = base_url.rstrip("/")
        self.http = http
        self.deadline = deadline

    def get(self, path: str, params: dict[str, str] | None = None, timeout: float = 10.0) -> ApiAnswer:
        url = self.base + path + (("?" + urlencode(params)) if params else "")
        try:
            res = self.http.get(url, deadline=min(self.deadline, time.monotonic() + timeout))
        except HttpFailure as exc:
            raise PrometheusError(str(exc)) from None
        if res.status != 200:
            raise PrometheusError(f"GET {url} -> HTTP {res.status}: {res.text()[:200]}")
        try:
            doc = res.json()
        except ValueError:
            raise PrometheusError(f"GET {url}: the answer is not JSON") from None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            raise PrometheusError(f"GET {url}: status {doc.get('status') if isinstance(doc, dict) else '?'}")
        return ApiAnswer(doc.get("data"), res)

    def targets(self) -> ApiAnswer:
        return self.get("/api/v1/targets", {"state": "active"})

    def rules(self) -> ApiAnswer:
        return self.get("/api/v1/rules", {"type": "alert"})

    def alertmanagers(self) -> ApiAnswer:
        return self.get("/api/v1/alertmanagers")

    def alerts(self) -> ApiAnswer:
        return self.get("/api/v1/alerts")

    def query(self, expr: str) -> ApiAnswer:
        return self.get("/api/v1/query", {"query": expr})


# --- targets -------------------------------------------------------------------

HOST_JOB = re.compile(r"node|host|machine|windows|cadvisor|system", re.I)
SELF_JOB = re.compile(r"^(prometheus|alertmanager|pushgateway|grafana|blackbox)", re.I)


def target_role(target: dict[str, Any]) -> str:
    """'host' (node-exporter and kin), 'monitoring' (Prometheus itself and friends) or 'app'."""
    job = str(target.get("labels", {}).get("job", target.get("scrapePool", "")))
    url = str(target.get("scrapeUrl", ""))
    if HOST_JOB.search(job) or re.search(r":(9100|9182)/", url):  # node / windows exporter ports
        return "host"
    if SELF_JOB.search(job) or re.search(r":(9090|9093)/", url):
        return "monitoring"
    return "app"


# --- alert rules ---------------------------------------------------------------

CATEGORIES = ("cpu", "memory", "error_rate", "availability")
_PATTERNS: dict[str, re.Pattern[str]] = {
    "cpu": re.compile(r"cpu", re.I),
    "memory": re.compile(r"mem(ory)?|resident|heap|rss|oom", re.I),
    "error_rate": re.compile(r'(status|code)\w*\s*=~?\s*"5|5\.\.|5xx|error|fail|exception', re.I),
    "availability": re.compile(r"\bup\b|absent(_over_time)?\s*\(|probe_success|(?<![a-z])availab|health", re.I),
}
_NAME_HINTS: dict[str, re.Pattern[str]] = {
    "cpu": re.compile(r"cpu", re.I),
    "memory": re.compile(r"mem", re.I),
    "error_rate": re.compile(r"error|5xx|fail", re.I),
    "availability": re.compile(r"down|unavailab|availab|absent|unhealthy|up\b", re.I),
}


def classify(expr: str, name: str = "") -> set[str]:
    """Which of the four monitored concerns an alert covers (by expression, then by name)."""
    found = {c for c, p in _PATTERNS.items() if p.search(expr)}
    if not found:
        found = {c for c, p in _NAME_HINTS.items() if p.search(name)}
    return found


_COMPARISON = re.compile(r"(==|!=|>=|<=|>|<)(\s*bool\b)?")
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def split_threshold(expr: str) -> tuple[str, str, str] | None:
    """(measured expression, operator, threshold) for `<expr> <op> <number>`, at the top level."""
    depth, quote, i = 0, "", 0
    while i < len(expr):
        ch = expr[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            m = _COMPARISON.match(expr, i)
            if m and not (m.group(1) in ("<", ">") and expr[i + 1 : i + 2] == "="):
                left, right = expr[:i].strip(), expr[m.end() :].strip()
                if _NUMBER.match(right):
                    return left, m.group(1), right.strip()
                if _NUMBER.match(left):
                    return right, m.group(1), left.strip()
                i = m.end()
                continue
        i += 1
    return None


_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "and", "or", "unless", "inf", "nan", "atan2",
    # aggregation operators may put `by (...)` between their name and their parenthesis
    "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values",
}  # fmt: skip
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr: str) -> list[str]:
    """Metric names selected in a PromQL expression (not functions, keywords or label names)."""
    names: list[str] = []
    i, n = 0, len(expr)
    while i < n:
        ch = expr[i]
        if ch in "\"'`":
            end = expr.find(ch, i + 1)
            i = n if end < 0 else end + 1
            continue
        if ch in "{[":
            end = expr.find("}" if ch == "{" else "]", i)
            i = n if end < 0 else end + 1
            continue
        m = _IDENT.match(expr, i)
        if m and (i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] in "_.")):
            word = m.group(0)
            rest = expr[m.end() :].lstrip()
            if word.lower() in _GROUPING and rest.startswith("("):
                end = expr.find(")", m.end())
                i = n if end < 0 else end + 1
                continue
            if word.lower() not in _KEYWORDS and not rest.startswith("(") and word not in names:
                names.append(word)
            i = m.end()
            continue
        i += 1
    return names


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_duration(value: Any) -> float:
    """Seconds from the API's float or a Prometheus duration string such as 1m30s."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value or "").strip()
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        pass
    return sum(float(num) * _UNIT_S[unit] for num, unit in _DURATION.findall(text))


@dataclass
class AlertRule:
    name: str
    expr: str
    for_s: float
    group: str
    interval_s: float
    health: str
    state: str
    labels: dict[str, str]

    @property
    def categories(self) -> set[str]:
        return classify(self.expr, self.name)

    @property
    def threshold(self) -> tuple[str, str, str] | None:
        return split_threshold(self.expr)

    def summary(self) -> dict[str, Any]:
        t = self.threshold
        return {
            "alert": self.name,
            "expr": self.expr,
            "for_s": self.for_s,
            "group": self.group,
            "threshold": f"{t[1]} {t[2]}" if t else None,
            "categories": sorted(self.categories),
            "health": self.health,
            "state": self.state,
        }


def alert_rules(data: Any) -> list[AlertRule]:
    out: list[AlertRule] = []
    for group in (data or {}).get("groups", []) or []:
        interval = parse_duration(group.get("interval"))
        for rule in group.get("rules", []) or []:
            if rule.get("type") != "alerting":
                continue
            out.append(
                AlertRule(
                    name=str(rule.get("name", "")),
                    expr=str(rule.get("query", "")),
                    for_s=parse_duration(rule.get("duration")),
                    group=str(group.get("name", "")),
                    interval_s=interval,
                    health=str(rule.get("health", "")),
                    state=str(rule.get("state", "")),
                    labels={str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
                )
            )
    return out


def alert_key(alert: dict[str, Any]) -> str:
    """A stable identity for one alert instance: its name and sorted labels."""
    labels = alert.get("labels") or {}
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "alertname")
    return f"{labels.get('alertname', '?')}{{{inner}}}"
