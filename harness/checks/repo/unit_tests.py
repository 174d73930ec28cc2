"""repo.unit-tests: unit tests exist and use test doubles; the pyramid is reported as data."""

from __future__ import annotations

import re
from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import inventory

ID = "repo.unit-tests"
SHOWN = 15

# (label, pattern): library doubles, named by what they are.
DOUBLES: list[tuple[str, re.Pattern[str]]] = [
    (label, re.compile(rx))
    for label, rx in [
        (
            "unittest.mock",
            r"\b(from unittest\.mock import|from unittest import mock|import unittest\.mock|mock\.patch"
            r"|\bMagicMock\(|\bMock\(|\bAsyncMock\(|\bcreate_autospec\(|@patch(\.object)?\()",
        ),
        ("pytest monkeypatch", r"\bmonkeypatch\.(setattr|setenv|delenv|setitem|delattr|chdir)\("),
        ("pytest-mock", r"\bmocker\.(patch|Mock|MagicMock|spy|stub)\b"),
        ("mongomock", r"\bmongomock\b"),
        ("moto", r"\b(from moto import|@mock_aws|@mock_s3|mock_aws\(|mock_dynamodb|mock_s3\()"),
        ("aws-sdk-client-mock", r"(\bmockClient\(|aws-sdk-client-mock)"),
        ("botocore Stubber", r"(\bStubber\(|from botocore\.stub import)"),
        ("responses", r"(@responses\.activate|\bresponses\.(add|get|post|RequestsMock)\b)"),
        ("requests-mock", r"\b(requests_mock|requests_mock\.Mocker)\b"),
        ("respx", r"\brespx\.mock\b"),
        ("vcr cassettes", r"(@vcr\.use_cassette|\bvcr\.use_cassette|pytest\.mark\.vcr)"),
        ("freezegun", r"(\bfreeze_time\b|\bfreezegun\b|time_machine\.travel)"),
        ("Pulumi mocks", r"(pulumi\.runtime\.set_mocks|\bset_mocks\(|pulumi\.runtime\.Mocks\b|runtime\.setMocks\()"),
        ("jest mocks", r"\bjest\.(mock|fn|spyOn)\("),
        ("vitest mocks", r"\bvi\.(mock|fn|spyOn)\("),
        ("sinon", r"\bsinon\.(stub|spy|mock|fake|createSandbox)\b"),
        ("nock / msw", r"(\bnock\(|\bsetupServer\()"),
        ("Mockito", r"(\bMockito\.|@Mock\b|@MockBean\b|\bmock\(\w+\.class\)|\bwhen\(.*\)\.thenReturn)"),
        ("Moq", r"\bnew Mock<"),
        ("NSubstitute", r"\bSubstitute\.For<"),
        ("gomock", r"(\bgomock\.|NewMockController|\bmockgen\b)"),
        ("testify mock", r"(\bmock\.Mock\b|testify/mock)"),
        ("httptest", r"\bhttptest\.New(Server|Recorder)\("),
        # A local emulator stands in for the cloud service (a fake): DynamoDB Local, LocalStack, Azurite.
        (
            "local emulator",
            r"(?i)(\bendpoint_url\s*=\s*[\w.\[\]\"':/]*local|\blocalstack\b|\bazurite\b|dynamodb[-_ ]?local)",
        ),
    ]
]
# A class defined inside a pytest fixture and handed to the tests is a hand-written stand-in for the real
# object (a Lambda context, a request): `@pytest.fixture` then `def`, then a class indented under it.
FIXTURE = re.compile(r"^\s*@pytest\.fixture\b")
NESTED_CLASS = re.compile(r"^(\s+)class\s+(\w+)")
FAKE_CLASS = re.compile(
    r"^\s*(?:export\s+)?(?:public\s+)?(?:class|type|struct)\s+"
    r"((?:Fake|Stub|InMemory|Dummy|Spy|Mock)\w*|\w+(?:Fake|Stub|Double|Mock|Spy))\b"
)


@check(
    ID,
    title="Unit tests use test doubles to isolate the code under test",
    failure_title="No unit tests, or unit tests without any test double",
    proves="The code is written around unit tests that isolate it from its collaborators with doubles or mocks (CQ-3).",
    remediation=(
        "Add unit tests beside the code and replace slow or external collaborators (databases, HTTP APIs, cloud "
        "SDKs, the clock) with test doubles: unittest.mock, pytest monkeypatch/mocker, moto, responses, Pulumi mocks, "
        "jest.mock or a hand-written Fake class."
    ),
    source="repository",
    timeout=90,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    inv = inventory.tests(ctx, repo)
    pyramid = inv.pyramid()
    shape = ", ".join(f"{lvl}: {v['files']} files/{v['cases']} cases" for lvl, v in pyramid.items())
    if not inv.tests:
        yield finding(ID, Outcome.FAIL, "no test files found in the tree")
        return
    scanned = [t.path for t in inv.tests] + inv.support
    files = [f for p in scanned if (f := repo.get(p)) is not None]
    evidence: list[Evidence] = []
    libraries: dict[str, int] = {}
    fakes: dict[str, tuple[str, int, str]] = {}
    texts: dict[str, str] = {}
    for f, text in repo.texts(files):
        ctx.check_deadline()
        texts[f.path] = text
        fixture_at = -1  # the indent of the fixture function being read, or -1
        after_decorator = False
        for number, line in enumerate(text.splitlines(), 1):
            if FIXTURE.match(line):
                after_decorator, fixture_at = True, -1
            elif after_decorator and line.lstrip().startswith("def "):
                after_decorator, fixture_at = False, len(line) - len(line.lstrip())
            elif fixture_at >= 0 and line.strip() and len(line) - len(line.lstrip()) <= fixture_at:
                fixture_at = -1
            if fixture_at >= 0 and (nested := NESTED_CLASS.match(line)) and len(nested.group(1)) > fixture_at:
                fakes.setdefault(nested.group(2), (f.path, number, line))
            for label, rx in DOUBLES:
                if rx.search(line):
                    libraries[label] = libraries.get(label, 0) + 1
                    if libraries[label] <= 3 and len(evidence) < SHOWN:
                        evidence.append(inventory.evidence_at(repo, f.path, number, f"test double: {label}", line))
                    break
            if m := FAKE_CLASS.match(line):
                fakes.setdefault(m.group(1), (f.path, number, line))
    # A hand-written fake counts only when a test uses it beyond its own definition.
    used_fakes = []
    for name, (path, number, line) in fakes.items():
        uses = sum(len(re.findall(rf"\b{re.escape(name)}\b", t)) for t in texts.values())
        if uses >= 2:
            used_fakes.append(name)
            if len(evidence) < SHOWN + 5:
                evidence.append(inventory.evidence_at(repo, path, number, f"hand-written test double {name}", line))
    if used_fakes:
        libraries["hand-written fakes"] = len(used_fakes)
    pyramid_ev = inventory.evidence_at(
        repo,
        inv.tests[0].path,
        1,
        f"test pyramid: {shape}",
        data={"pyramid": pyramid, "tests": [{"path": t.path, "level": t.level, "why": t.why} for t in inv.tests[:200]]},
    )
    evidence.insert(0, pyramid_ev)
    unit = pyramid["unit"]
    if unit["files"] == 0:
        yield finding(ID, Outcome.FAIL, f"tests exist but none is a unit test ({shape})", evidence)
        return
    if not libraries:
        yield finding(
            ID, Outcome.FAIL, f"{len(inv.tests)} test files, but no test double or mock is used anywhere", evidence
        )
        return
    used = ", ".join(f"{k} ({v})" for k, v in sorted(libraries.items(), key=lambda kv: -kv[1]))
    e2e = pyramid["e2e"]
    if e2e["files"] > unit["files"] or e2e["cases"] > unit["cases"]:
        yield finding(
            ID,
            Outcome.WARN,
            f"test doubles used ({used}), but the pyramid is inverted: more end-to-end than unit tests ({shape})",
            evidence,
            remediation="Push checks down the pyramid: cover logic with fast unit tests, keep end-to-end tests few.",
        )
        return
    yield finding(ID, Outcome.PASS, f"unit tests with test doubles: {used}; {shape}", evidence)
