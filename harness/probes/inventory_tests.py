"""The test inventory: test files at HEAD by level (unit, integration, end-to-end) and their case counts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from harness.context import Context
from harness.probes.inventory_files import LANGUAGES, is_vendored
from harness.probes.repository import RepoSnapshot

_TEST_NAME = re.compile(
    r"(^test_.*\.py$|_test\.py$|_test\.go$|\.(test|spec|cy|e2e)\.[cm]?[jt]sx?$|Tests?\.(java|kt|cs)$|IT\.java$"
    r"|_spec\.rb$|Test\.php$|_test\.rs$)"
)
_E2E_PARTS = {"e2e", "end-to-end", "end_to_end", "acceptance", "cypress", "playwright", "smoke", "ui-tests", "system"}
_INTEGRATION_PARTS = {"integration", "integration_tests", "integration-tests", "it", "integ", "functional"}
_UNIT_PARTS = {"unit", "unit_tests", "unittests", "unit-tests"}
# Imports and calls, not mentions: a test of a tool that scans for Playwright names it in its fixtures.
_E2E_CONTENT = re.compile(
    r"(^\s*(from|import)\s+(selenium|playwright|splinter|pyppeteer)\b"
    r"|^\s*import\b.*\bfrom\s+['\"](@playwright/test|playwright|cypress|puppeteer|selenium-webdriver|webdriverio)['\"]"
    r"|\brequire\(\s*['\"](@playwright/test|playwright|cypress|puppeteer|selenium-webdriver)['\"]\s*\)"
    r"|\bcy\.(visit|get|request)\(|\bpage\.goto\(|^\s*@pytest\.mark\.e2e\b|\bpytestmark\s*=.*\bmark\.e2e\b"
    r"|^\s*import\s+org\.openqa\.selenium\b|^\s*using\s+(OpenQA\.Selenium|Microsoft\.Playwright)\b)",
    re.M,
)
_INTEGRATION_CONTENT = re.compile(
    r"(https?://(localhost|127\.0\.0\.1)|\btestcontainers\b|\bdocker\.from_env\b|pytest\.mark\.integration"
    r"|@SpringBootTest|WebApplicationFactory)"
)
_TEST_CASE = re.compile(
    r"(^\s*(async\s+)?def test\w*\s*\(|^\s*func Test\w*\(|\b(it|test)(\.each\([^)]*\))?\(\s*['\"`]|@Test\b|\[Fact\]"
    r"|\[Test\]|\[TestMethod\]|^\s*it ['\"])",
    re.M,
)
_TEST_DIRS = {"test", "tests", "__tests__", "spec", "specs", "testing", "__mocks__", "mocks", "fakes", "fixtures"}


def is_test_code(path: str) -> bool:
    """A test or test-support file, by its folder or its name (of a repository path: split as a string, no
    pathlib, for every code file)."""
    *folders, name = path.split("/")
    parts = {x.lower() for x in folders}
    in_test_dir = bool(parts & _TEST_DIRS) or any(x.endswith((".tests", ".test")) for x in parts)
    return in_test_dir or bool(_TEST_NAME.search(name))


@dataclass(frozen=True)
class TestFile:
    path: str
    level: str  # unit, integration, e2e
    cases: int
    why: str


@dataclass
class TestInventory:
    tests: list[TestFile] = field(default_factory=list)
    support: list[str] = field(default_factory=list)  # conftest, fakes, mocks: scanned for doubles too

    def pyramid(self) -> dict[str, dict[str, int]]:
        out = {lvl: {"files": 0, "cases": 0} for lvl in ("unit", "integration", "e2e")}
        for t in self.tests:
            out[t.level]["files"] += 1
            out[t.level]["cases"] += t.cases
        return out


def _level(path: str, text: str) -> tuple[str, str]:
    parts = {p.lower() for p in PurePosixPath(path).parts[:-1]}
    name = PurePosixPath(path).name
    if parts & _E2E_PARTS or re.search(r"\.(cy|e2e)\.", name) or "e2e" in name.lower():
        return "e2e", "folder or name"
    if parts & _INTEGRATION_PARTS or name.endswith("IT.java") or "integration" in name.lower():
        return "integration", "folder or name"
    if parts & _UNIT_PARTS:
        return "unit", "folder"
    if m := _E2E_CONTENT.search(text):
        return "e2e", f"uses {m.group(0).strip()}"
    if m := _INTEGRATION_CONTENT.search(text):
        return "integration", f"uses {m.group(0)}"
    return "unit", "no integration or end-to-end markers"


def tests(ctx: Context, repo: RepoSnapshot) -> TestInventory:
    def build() -> TestInventory:
        inv = TestInventory()
        for f in repo.files:
            if not f.is_regular or is_vendored(f.path) or f.suffix not in LANGUAGES:
                continue
            parts = {p.lower() for p in f.folders}
            in_test_dir = bool(parts & _TEST_DIRS) or any(p.endswith((".tests", ".test")) for p in parts)
            named = bool(_TEST_NAME.search(f.name)) or (f.path.startswith("src/test/") and f.suffix in (".java", ".kt"))
            if not (named or in_test_dir):
                continue
            text = repo.read_text(f.path)
            if text is None:
                continue
            cases = len(_TEST_CASE.findall(text))
            if named or cases:
                level, why = _level(f.path, text)
                inv.tests.append(TestFile(f.path, level, cases, why))
            else:
                inv.support.append(f.path)
        return inv

    return ctx.memo("inventory.tests", build)
