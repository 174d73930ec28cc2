"""The literal prefilter never rules out a text the pattern matches."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import harness
from harness import textscan

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"pg_dump|mysqldump", {"pg_dump", "mysqldump"}),
        (r"\bboto3\.client\(['\"](s3|dynamodb)", {"boto3.client("}),
        (r"(aws\.)?rds\.Instance", {"rds.Instance"}),  # an optional part requires nothing
        (r"(?:abc)+def", {"abc"}),  # a repeated part: at least once, so required
        (r"foo[0-9]bar", {"foo", "bar"}),  # two runs: either is required; the prefilter keeps one
        (r"\b(?:FEATURE|FF|TOGGLE)_[A-Z0-9_]{2,}\b", {"FEATURE", "FF", "TOGGLE"}),  # not the lone "_" after them
    ],
)
def test_required_literals(pattern: str, expected: set[str]) -> None:
    found = textscan.required_literals(re.compile(pattern))
    assert found is not None
    literals, fold = found
    assert not fold
    assert literals <= expected or literals == expected
    assert literals


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?:abc)*x",  # nothing long enough is required
        r"\w+@\w+",  # no literal
        r"a|bcd",  # one alternative is too short to filter on
        r"(?i:Secret)|token",  # a case-insensitive part of a case-sensitive pattern has no exact literal
        r"(a)?(?(1)abc|def)",  # conditional groups are not analysed
    ],
)
def test_no_prefilter_when_unsure(pattern: str) -> None:
    assert textscan.required_literals(re.compile(pattern)) is None
    assert textscan.may_match(re.compile(pattern), "anything")


def test_case_insensitive_patterns_compare_folded_ascii() -> None:
    rx = re.compile(r"\bpg_DUMP\b", re.I)
    assert textscan.required_literals(rx) == (frozenset({"pg_dump"}), True)
    assert textscan.may_match(rx, "run PG_Dump nightly")
    assert not textscan.may_match(rx, "nothing to see")
    # Non-ASCII text: re's folding knows equivalences (e.g. the Kelvin sign for k) that lower() does not.
    kelvin = re.compile("kube", re.I)
    assert kelvin.search("\u212aube")
    assert textscan.may_match(kelvin, "\u212aube")
    assert textscan.search(kelvin, "no match here") is None
    assert textscan.search(kelvin, "KUBE") is not None


@pytest.mark.parametrize(
    ("pattern", "flags", "expected"),
    [
        # A case-sensitive group inside a case-insensitive pattern: its literals, lower-cased, are still required.
        (r"x(?-i:\bVelero\s+backup)", re.I, ({"velero", "backup"}, True)),
        (r"(?-i:Velero)|restic", re.I, ({"velero", "restic"}, True)),
        # A case-insensitive group inside a case-sensitive pattern requires nothing; the rest still does.
        (r"(?i:kind)\s*:\s*Deployment", 0, ({"Deployment"}, False)),
        (r"XY(?i:ab(?-i:CDE))", 0, ({"CDE"}, False)),
        (r"(?i)xy(?-i:AB(?i:cd))", 0, ({"xy", "ab"}, True)),
    ],
)
def test_scoped_case_flags(pattern: str, flags: int, expected: tuple[set[str], bool]) -> None:
    found = textscan.required_literals(re.compile(pattern, flags))
    assert found is not None
    literals, fold = found
    assert fold == expected[1]
    assert literals and literals <= expected[0]


def test_persistence_backup_pattern_has_a_prefilter() -> None:
    """BACKUP's two case-sensitive groups (Velero, restic) used to disable its prefilter for every file."""
    from harness.checks.repo.persistence import BACKUP

    found = textscan.required_literals(BACKUP)
    assert found is not None
    assert not textscan.may_match(BACKUP, "def handler():\n    return 42\n")
    assert textscan.may_match(BACKUP, "run: velero backup create nightly")


_SCOPED = [
    (r"(?-i:\bVelero\s+(backup|schedule)\s+create\b)|\bwal-g\b", re.I),
    (r"(?-i:\brestic\s+(-\S+\s+\S+\s+)*(backup|restore)\b)|BackupWindow", re.I),
    (r"(?i:kind)\s*:\s*Deployment|apiVersion: apps/v1", 0),
    (r"XY(?i:ab(?-i:CDE)fg)", 0),
    (r"(?i)xy(?-i:AB(?i:cd)EF)", 0),
    (r"pre(?i:Mid(?-i:Core)Tail)post", 0),
]


@pytest.mark.parametrize(("pattern", "flags"), _SCOPED)
def test_scoped_flags_never_rule_out_a_match(pattern: str, flags: int) -> None:
    """Every case variant of texts the pattern matches (and near misses) against the prefilter's answer."""
    import random

    rx = re.compile(pattern, flags)
    assert textscan.required_literals(rx) is not None
    seeds = [
        "velero backup create x", "Velero schedule create", "VELERO BACKUP CREATE", "use wal-g here",
        "restic -r repo backup", "Restic --repo /x restore", "restic backup", "BackupWindow: 3",
        "kind: Deployment", "KIND : Deployment", "apiVersion: apps/v1", "XYabCDEfg", "xyABCDEFG", "xyABcdEF",
        "XYABcDEF", "preMidCoreTailpost", "preMIDCoretailpost", "premidcoretailpost", "nothing at all",
    ]  # fmt: skip
    rng = random.Random(14)
    matched = 0
    for seed in seeds:
        for i in range(300):
            flip = 0.5 if i % 2 else 0.05  # many changes, or a few (which keep more matches)
            text = "".join(c.swapcase() if rng.random() < flip else c for c in seed) if i else seed
            if rx.search(text):
                matched += 1
                assert textscan.may_match(rx, text), f"{pattern!r} matches {text!r} but the prefilter said no"
            if textscan.required_literals(rx) and not textscan.may_match(rx, text):
                assert rx.search(text) is None
    assert matched >= 50


def _harness_patterns() -> dict[str, re.Pattern[str]]:
    found: dict[str, re.Pattern[str]] = {}
    for info in pkgutil.walk_packages(harness.__path__, "harness."):
        if info.name.startswith("harness.lab") or info.name == "harness.__main__":
            continue  # the lab scans no repository text; __main__ would run the CLI
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found[f"{info.name}.{name}"] = value
    return found


def test_no_false_negative_on_harness_patterns_over_real_files() -> None:
    """Every module-level pattern harness scans with, over this repository's own files and their lines."""
    patterns = _harness_patterns()
    assert sum(1 for p in patterns.values() if textscan.required_literals(p)) >= 50
    texts: list[str] = []
    for folder in ("reference_project", "infra", ".github", "docs", "tests/fixtures"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.stat().st_size < 200_000:
                try:
                    texts.append(path.read_text(encoding="utf-8"))
                except (UnicodeDecodeError, OSError):
                    continue
    texts += [line for text in texts for line in text.splitlines()]
    matched = 0
    for name, rx in patterns.items():
        for text in texts:
            if rx.search(text):
                matched += 1
                assert textscan.may_match(rx, text), f"{name} matches {text[:80]!r} but the prefilter said no"
    assert matched > 1000  # the corpus exercises the patterns, so the assertion above means something


def test_group_rules_out_only_what_no_member_can_match() -> None:
    """A collector's list prefiltered at once: no for a text none of them can match, yes wherever one does."""
    from harness.probes import monitoring_app, monitoring_cloud, monitoring_serverless

    groups = {
        "routes": [rx for _, rx in monitoring_app._ROUTES] + [i[1] for i in monitoring_app._IMPLICIT_METRICS],
        "code": [rx for _, rx in monitoring_serverless._CODE_ROUTES],
        "alarms": [a[2] for a in monitoring_cloud._ALARM_START],
        "mixed case": [re.compile(r"Alarm\(", re.I), re.compile(r"MetricName")],
    }
    texts = [
        "def handler_1():\n    value_0 = 1\n    return value_0\n",
        '@app.route("/health")\ndef health(): ...',
        'resource "aws_cloudwatch_metric_alarm" "cpu" {',
        "new cloudwatch.Alarm(this, 'HighErrors', {",
        "ALARM( x )",
        "Metric\u212aame and alarm(",  # non-ASCII: a case-insensitive member is never ruled out
    ]
    for name, patterns in groups.items():
        group = textscan.Group.of(patterns)
        assert not group.always, name
        for text in texts:
            if any(rx.search(text) for rx in patterns):
                assert group.may_match_any(text), (name, text)
        assert not group.may_match_any(texts[0]), name
    assert textscan.Group.of([re.compile(r"\w+@\w+"), re.compile("token")]).may_match_any("nothing")
