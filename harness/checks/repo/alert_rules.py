"""repo.alert-rules: alert rules that load, cover CPU, memory, error rate and availability, and reach someone.

Each rule file is checked by promtool itself (the file as committed at HEAD, copied
to a temp dir): a rule file Prometheus would refuse fails with promtool's words.
A rule counts for coverage only with a threshold (a comparison, or absent()) and a
`for` duration, so a blip does not page anyone. Cloud alarms in IaC count as rules.

Missing Alertmanager wiring is a FAIL, not a WARN: Prometheus evaluates rules but
only Alertmanager notifies a person, and OP-2 is about alerting people. Rules that
fire into nowhere are dashboards, not alerts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import monitoring, repository
from harness.probes.monitoring import AlertRule, CloudAlarm, Loc, evidence, listing

ID = "repo.alert-rules"

CATEGORIES: dict[str, re.Pattern[str]] = {
    "CPU": re.compile(r"(?i)cpu"),
    "memory": re.compile(r"(?i)memory|resident|heap|memavailable|\bmem_|_mem\b"),
    "error rate": re.compile(
        r"(?i)(?:status|code|status_code|http_status)\s*=~?\s*\"5|5xx|errors?_total|error|fail(?:ed|ures?)?_total"
        r"|exception|fault|failed_?requests"
    ),
    "availability": re.compile(
        r"(?i)\bup\b|probe_success|absent(?:_over_time)?\s*\(|health|statuscheck|uptime|availability|check_passed"
    ),
}
_COMPARISON = re.compile(r"(?:[<>]=?|==|!=)\s*(?:bool\s+)?[\w(.]")
_ZERO_FOR = re.compile(r"^0+[smhdwy]?$|^0+ms$")


@dataclass
class Rule:
    """A Prometheus alert or a cloud alarm, reduced to what coverage needs."""

    name: str
    condition: str
    loc: Loc
    has_threshold: bool
    has_duration: bool
    kind: str


def _threshold(expr: str) -> bool:
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)  # label matchers and ranges hold no thresholds
    return bool(_COMPARISON.search(bare)) or "absent(" in bare.replace(" ", "")


def _from_alert(a: AlertRule) -> Rule:
    has_for = a.for_ is not None and not _ZERO_FOR.match(a.for_.strip())
    return Rule(a.name, a.expr, a.loc, _threshold(a.expr), has_for, "alert")


def _from_alarm(a: CloudAlarm) -> Rule:
    return Rule(a.name, a.metric or "", a.loc, a.threshold is not None, a.duration is not None, a.kind)


@check(
    ID,
    title="Alert rules load, have thresholds and durations, cover CPU, memory, error rate and availability",
    failure_title="Alert rules are missing, invalid, incomplete or notify no one",
    proves="The platform alerts a person when CPU, memory, error rate or availability cross a threshold for a "
    "sustained time, with rule files Prometheus accepts (OP-1, OP-2).",
    remediation="Commit Prometheus rule files (checked with `promtool check rules`) with alerts for CPU, memory, "
    "error rate and availability, each with a threshold and a `for:` duration, and wire Alertmanager.",
    source="repository",
    timeout=120,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo = repository.get(ctx)
    why = monitoring.unreadable(repo)
    if why:
        yield finding(ID, Outcome.COULD_NOT_CHECK, why)
        return
    model = monitoring.get(ctx)
    head = model.head
    for ref, loc in model.missing_rule_files:
        yield finding(
            ID,
            Outcome.FAIL,
            f"rule_files in {loc} lists {ref}, which is not in the repository at HEAD",
            [evidence(loc, f"rule_files: {ref}", head)],
            remediation=f"Commit {ref} next to the Prometheus config, or remove it from rule_files.",
            subject=ref,
        )
    for path, loc in model.unreadable_rule_files:
        yield finding(
            ID,
            Outcome.FAIL,
            f"rule_files in {loc} names {path}, which is binary or too large to be a rule file",
            [evidence(Loc(path, 1), "unreadable rule file", head), evidence(loc, "rule_files", head)],
            subject=path,
        )
    if not model.rule_files and not model.cloud_alarms and not model.grafana_alerting:
        if model.alerting_claims:
            claim = model.alerting_claims[0]
            yield finding(
                ID,
                Outcome.FAIL,
                f"alerting is claimed in the documentation ({claim.loc}) but no alert rule or cloud alarm is "
                "configured anywhere in the repository",
                [evidence(c.loc, "alerting claimed", head, c.text) for c in model.alerting_claims[:5]],
            )
        else:
            yield finding(ID, Outcome.FAIL, "no alert rules: no Prometheus rule file, cloud alarm or Grafana alert")
        return
    yield from _syntax(ctx, model)
    rules = [_from_alert(a) for rf in model.rule_files for a in rf.alerts]
    rules += [_from_alarm(a) for a in model.cloud_alarms]
    yield from _each_rule(rules, head)
    yield from _coverage(model, rules, head)
    yield from _notification(model, head)


def _syntax(ctx: Context, model: monitoring.Monitoring) -> Iterator[Finding]:
    head = model.head
    for rf in model.rule_files:
        result = monitoring.promtool_check_rules(rf, timeout=ctx.bounded(monitoring.PROMTOOL_TIMEOUT_S))
        cmd_ev = Evidence(kind="command", summary="promtool check rules", command=result.command, excerpt=result.output)
        where = f"{rf.loc}" + (" (extracted)" if rf.embedded else "")
        if result.ok:
            yield finding(
                ID,
                Outcome.PASS,
                f"{where}: promtool accepts {len(rf.alerts)} alert(s) and {rf.records} recording rule(s)",
                [cmd_ev, evidence(rf.loc, "rule file", head)],
                subject=rf.loc.path,
            )
        elif result.ok is False:
            yield finding(
                ID,
                Outcome.FAIL,
                f"{where}: promtool rejects the rule file: {_first_error(result.output)}",
                [cmd_ev, evidence(rf.loc, "rule file", head)],
                remediation=f"Fix {rf.loc.path} until `promtool check rules {rf.loc.path}` succeeds.",
                subject=rf.loc.path,
            )
        elif rf.error:
            yield finding(
                ID,
                Outcome.FAIL,
                f"{where}: not valid YAML ({rf.error}); promtool could not confirm: {result.output}",
                [evidence(rf.loc, rf.error, head), cmd_ev],
                subject=rf.loc.path,
            )
        else:
            yield finding(
                ID,
                Outcome.COULD_NOT_CHECK,
                f"{where}: syntax not verified: {result.output}",
                [cmd_ev],
                remediation="Install promtool (Debian/Ubuntu: apt-get install prometheus) and run harness again.",
                subject=rf.loc.path,
            )


def _first_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip() and not ln.startswith("Checking")]
    lines = [ln for ln in lines if ln != "FAILED:"]
    return lines[0][:300] if lines else "(no message)"


def _each_rule(rules: list[Rule], head: str | None) -> Iterator[Finding]:
    for r in rules:
        gaps = []
        if not r.has_threshold:
            gaps.append("no threshold (no comparison in its expression)" if r.kind == "alert" else "no threshold")
        if not r.has_duration:
            gaps.append("no `for` duration: it fires on a single blip" if r.kind == "alert" else "no evaluation period")
        if gaps:
            yield finding(
                ID,
                Outcome.FAIL,
                f"alert {r.name} ({r.loc}) has {' and '.join(gaps)}",
                [evidence(r.loc, f"{r.kind} {r.name}", head, r.condition)],
                remediation=f"Give {r.name} a threshold (e.g. `> 0.8`) and a `for: 5m` so it fires only on a "
                "sustained problem.",
                subject=r.name,
            )


def _coverage(model: monitoring.Monitoring, rules: list[Rule], head: str | None) -> Iterator[Finding]:
    if not rules:
        locs = ", ".join(str(loc) for loc in model.grafana_alerting)
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"only Grafana-provisioned alerting ({locs}): harness does not classify those rules; "
            "review their coverage of CPU, memory, error rate and availability by hand",
            [evidence(loc, "Grafana alerting provisioning", head) for loc in model.grafana_alerting[:5]],
        )
        return
    covered: dict[str, list[Rule]] = {}
    for name, rx in CATEGORIES.items():
        covered[name] = [
            r for r in rules if r.has_threshold and r.has_duration and rx.search(f"{r.name} {r.condition}")
        ]
    gaps = [name for name, found in covered.items() if not found]
    summary = "; ".join(f"{name}: {listing([r.name for r in found], 4)}" for name, found in covered.items() if found)
    ev = [
        evidence(found[0].loc, f"{name}: {found[0].name}", head, found[0].condition)
        for name, found in covered.items()
        if found
    ]
    if gaps:
        yield finding(
            ID,
            Outcome.FAIL,
            f"no alert with a threshold and a duration covers {', '.join(gaps)}"
            + (f" (covered: {summary})" if summary else ""),
            ev,
            remediation="Add alerts for " + ", ".join(gaps) + ", e.g. process_resident_memory_bytes > N for 5m, "
            'rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05 for 5m, '
            "up == 0 for 1m.",
        )
    else:
        yield finding(ID, Outcome.PASS, f"alerts cover CPU, memory, error rate and availability ({summary})", ev)


def _notification(model: monitoring.Monitoring, head: str | None) -> Iterator[Finding]:
    prom_alerts = [a for rf in model.rule_files for a in rf.alerts]
    if prom_alerts:
        wired = [(cfg, cfg.alertmanagers) for cfg in model.prom_configs if cfg.alertmanagers]
        if model.alertmanager_configs and wired:
            cfg, targets = wired[0]
            yield finding(
                ID,
                Outcome.PASS,
                f"Prometheus sends alerts to Alertmanager ({', '.join(targets)}, {cfg.loc}), "
                f"configured in {model.alertmanager_configs[0]}",
                [
                    evidence(cfg.loc, "alerting.alertmanagers", head),
                    evidence(model.alertmanager_configs[0], "Alertmanager route", head),
                ],
            )
        else:
            missing = []
            if not model.alertmanager_configs:
                missing.append("no Alertmanager config (route + receivers) is committed")
            if not wired:
                missing.append("no Prometheus config sets alerting.alertmanagers")
            yield finding(
                ID,
                Outcome.FAIL,
                "alert rules notify no one: " + "; ".join(missing),
                [evidence(cfg.loc, "Prometheus config", head) for cfg in model.prom_configs[:3]],
                remediation="Commit an alertmanager.yml with a route and a receiver, and add "
                "`alerting: {alertmanagers: [{static_configs: [{targets: ['alertmanager:9093']}]}]}` "
                "to prometheus.yml.",
            )
    silent = [a for a in model.cloud_alarms if not a.has_actions]
    if silent and len(silent) == len(model.cloud_alarms) and not prom_alerts:
        yield finding(
            ID,
            Outcome.FAIL,
            f"cloud alarms notify no one: none of {len(silent)} alarm(s) has an action "
            f"({listing([f'{a.name} ({a.loc})' for a in silent], 5)}); an alarm without an action only changes state",
            [evidence(a.loc, f"{a.kind} {a.name}: no alarm action", head) for a in silent[:10]],
            remediation="Give each alarm an action that reaches a person: alarm_actions = [aws_sns_topic.x.arn] with "
            "an e-mail subscription, alarm.addAlarmAction(new SnsAction(topic)) in CDK, "
            "an `action { action_group_id }` block (Azure), or `alerts { email = [...] }` (DigitalOcean).",
        )
        return
    notifying = [a for a in model.cloud_alarms if a.has_actions]
    if notifying:
        yield finding(
            ID,
            Outcome.PASS,
            f"{len(notifying)} cloud alarm(s) notify someone through their actions: "
            + listing([f"{a.name} ({a.kind})" for a in notifying], 6),
            [evidence(a.loc, f"{a.kind} {a.name} with alarm actions", head) for a in notifying[:10]],
        )
    for alarm in silent:
        if not alarm.has_actions:
            yield finding(
                ID,
                Outcome.WARN,
                f"cloud alarm {alarm.name} ({alarm.loc}) has no alarm actions: it changes state but notifies no one",
                [evidence(alarm.loc, f"{alarm.kind} {alarm.name}", head)],
                remediation=f"Give {alarm.name} an action (an SNS topic / action group / notification channel).",
                subject=alarm.name,
            )
