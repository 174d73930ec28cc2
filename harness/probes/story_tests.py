"""Acceptance tests that name a story id: test definitions, markers and docstrings in test files.

Split from harness.probes.stories, which collects the stories and calls `test_refs` for each test file.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from harness.probes.monitoring import Loc


@dataclass
class TestRef:
    story_id: str
    test: str
    loc: Loc
    skipped: bool = False


_TEST_DEFS = [
    re.compile(r"^(?P<indent>\s*)(?:async\s+)?def\s+(?P<name>test\w*)\s*\("),
    re.compile(r"^(?P<indent>\s*)class\s+(?P<name>Test\w*)"),
    re.compile(
        r"^(?P<indent>\s*)(?P<fn>x?(?:describe|it|test|context|specify|scenario)(?:\.(?:only|skip|todo|each\([^)]*\)))?)"
        r"\s*\(\s*(?P<q>['\"`])(?P<name>.+?)(?P=q)"
    ),
    re.compile(r"^(?P<indent>)func\s+(?P<name>Test\w+)\s*\("),
    re.compile(r"^(?P<indent>\s*)(?:public\s+|internal\s+)?(?:void|fun)\s+(?P<name>\w+)\s*\("),
]
_SKIP = re.compile(
    r"(?i)mark\.(skip|xfail)|@unittest\.skip|\bx(?:it|describe|test)\s*\(|\.(?:skip|todo)\s*\(|@Disabled|t\.Skip\("
)
_DECORATOR = re.compile(r"^\s*(@|#|//|\*|/\*)|^\s*$")
STEP_DEFS = re.compile(
    r"(?m)^\s*@(?:given|when|then|step)\s*\(|\bscenarios?\s*\(|^\s*(?:Given|When|Then)\s*\(|@(?:Given|When|Then)\("
)
_TEST_DIRS = (
    "tests/",
    "test/",
    "__tests__/",
    "spec/",
    "specs/",
    "e2e/",
    "cypress/",
    "acceptance/",
    "features/",
    "src/test/",
)


_IN_TEST_DIR = tuple(f"/{d}" for d in _TEST_DIRS)
_TEST_SUFFIX = re.compile(r"\.(test|spec|cy|e2e)\.[jt]sx?$")


def is_test_file(path: str) -> bool:
    low = path.lower()
    name = posixpath.basename(low)
    if name.endswith(".feature"):
        return True
    if not name.endswith((".py", ".js", ".ts", ".mjs", ".cjs", ".jsx", ".tsx", ".go", ".java", ".kt")):
        return False
    rooted = f"/{low}"
    return (
        any(d in rooted for d in _IN_TEST_DIR)
        or name.startswith("test_")
        or name.endswith(("_test.py", "_test.go", "test.java", "tests.java", "test.kt"))
        or _TEST_SUFFIX.search(name) is not None
    )


@dataclass
class _Def:
    line: int
    indent: int
    name: str
    skipped: bool


def _test_defs(lines: list[str], java_like: bool) -> list[_Def]:
    defs = []
    for i, line in enumerate(lines):
        for k, rx in enumerate(_TEST_DEFS):
            if k == 4 and not java_like:
                continue
            m = rx.match(line)
            if m:
                if k == 4 and not any("@Test" in ln for ln in lines[max(0, i - 4) : i]):
                    break
                deco = []
                j = i - 1
                while j >= 0 and _DECORATOR.match(lines[j]) and i - j <= 6:
                    deco.append(lines[j])
                    j -= 1
                skipped = bool(_SKIP.search(line) or any(_SKIP.search(d) for d in deco))
                defs.append(_Def(i, len(m.group("indent")), m.group("name"), skipped))
                break
    return defs


def test_refs(path: str, text: str, known: dict[str, re.Pattern[str]]) -> list[TestRef]:
    lines = text.splitlines()
    defs = _test_defs(lines, path.endswith((".java", ".kt")))
    if not defs:
        return []
    refs: list[TestRef] = []
    by_line = {d.line: d for d in defs}
    for i, line in enumerate(lines):
        for sid, rx in known.items():
            if not rx.search(line):
                continue
            targets: list[_Def] = []
            if i in by_line:
                targets = [by_line[i]]
            else:
                after = next((d for d in defs if d.line > i), None)
                between = lines[i + 1 : after.line] if after else []
                if (
                    after
                    and after.line - i <= 6
                    and all(_DECORATOR.match(b) for b in between)
                    and _DECORATOR.match(line)
                ):
                    targets = [after]  # a marker/decorator/comment right above the test
                else:
                    before = [d for d in defs if d.line < i]
                    if before:
                        targets = [before[-1]]  # in the test's body or docstring
                    elif re.search(r"pytestmark|^\s*(\"\"\"|''')|^\S.*\"\"\"", line) or i < 10:
                        targets = defs  # module-level marker or docstring: every test in the file
            for d in targets:
                refs.append(TestRef(sid, d.name, Loc(path, d.line + 1), d.skipped))
    return refs


def id_pattern(story_id: str) -> re.Pattern[str]:
    prefix, _, number = story_id.partition("-")
    return re.compile(rf"(?i)(?<![A-Za-z0-9]){re.escape(prefix)}[-_ ]?0*{number}(?!\d)")
