"""Collect user stories and the acceptance tests that trace to them, from the files at HEAD.

Stories come from Markdown ("As a … I want … so that …", one per heading section,
list item or table row) and from Gherkin feature narratives. A story's acceptance
criteria are Given/When/Then lines, checklists, or the list under an "Acceptance
criteria" label; its priority is a MoSCoW mark on the story or on a heading above it.

Traceability is by story id only (US-1, STORY-12, PROJ-3): matching test names to
story titles by similarity would be easy to game and easy to get wrong. A test
references a story when the id is in its name, its markers/decorators, its
docstring/body, its describe/it title, or a Gherkin tag; skipped tests do not count.
Feature scenarios count as tests only when step definitions exist in the repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness import textscan
from harness.context import Context
from harness.probes import repository
from harness.probes.monitoring import VENDORED, Loc
from harness.probes.repository import RepoSnapshot
from harness.probes.story_tests import STEP_DEFS, TestRef, id_pattern, is_test_file, test_refs

MAX_DOC_BYTES = 1_000_000
PRIORITIES = ("must", "should", "could", "wont")


@dataclass
class Story:
    id: str | None  # normalised, e.g. US-1
    title: str
    text: str
    priority: str | None  # must | should | could | wont
    criteria: list[str]
    loc: Loc
    source: str  # markdown | gherkin
    scenarios_executed: list[str] = field(default_factory=list)  # own feature's scenarios, when steps exist

    @property
    def label(self) -> str:
        return f"{self.id or self.title[:60]} ({self.loc})"


@dataclass
class Stories:
    head: str | None
    stories: list[Story] = field(default_factory=list)
    refs: list[TestRef] = field(default_factory=list)
    test_files: list[str] = field(default_factory=list)
    step_definitions: list[Loc] = field(default_factory=list)
    unexecuted_features: list[str] = field(default_factory=list)
    mentions: list[Loc] = field(default_factory=list)  # "user stor(y|ies)" in docs, even if none parsed

    @property
    def prioritised(self) -> list[Story]:
        return [s for s in self.stories if s.priority]

    def tests_for(self, story: Story) -> list[TestRef]:
        found = [r for r in self.refs if story.id and r.story_id == story.id and not r.skipped]
        if story.scenarios_executed:
            found += [TestRef(story.id or story.title, name, story.loc) for name in story.scenarios_executed]
        return found

    def skipped_for(self, story: Story) -> list[TestRef]:
        return [r for r in self.refs if story.id and r.story_id == story.id and r.skipped]


def get(ctx: Context) -> Stories:
    repo = repository.get(ctx)
    return ctx.memo("stories", lambda: collect(repo))


# -- ids and priorities -----------------------------------------------------------------
_ID = re.compile(r"(?<![A-Za-z0-9])([A-Z]{1,8})-(\d{1,5})(?![A-Za-z0-9])|(?<![A-Za-z0-9])(US|STORY|USR)_?(\d{1,5})\b")


def norm_id(prefix: str, number: str) -> str:
    return f"{prefix.upper()}-{int(number)}"


def find_id(text: str) -> str | None:
    m = _ID.search(text)
    if not m:
        return None
    return norm_id(m.group(1) or m.group(3), m.group(2) or m.group(4))


_P_WORD = r"(must|should|could|won'?t|will\s+not)"
_PRIORITY_HAVE = re.compile(rf"(?i)\b{_P_WORD}[ -]?have\b")
_PRIORITY_LABEL = re.compile(rf"(?i)\b(?:priority|moscow)\b[^a-z\n]{{0,6}}{_P_WORD}\b")
_PRIORITY_BRACKET = re.compile(rf"(?i)[\[(]\s*{_P_WORD}\s*[\])]")
_PRIORITY_CELL = re.compile(rf"(?i)\|\s*[*_`]*{_P_WORD}(?:[ -]have)?[*_`]*\s*(?=\||$)")
_PRIORITY_TAG = re.compile(r"(?i)@(must|should|could|wont)(?:[-_]?have)?\b")


def _norm_priority(word: str) -> str:
    w = word.lower().replace("'", "")
    return "wont" if w.startswith(("wont", "will")) else w


def priority_in(line: str, strict: bool) -> str | None:
    """A MoSCoW mark; `strict` (for story sentences) ignores "must have" wording inside prose."""
    patterns = [_PRIORITY_LABEL, _PRIORITY_BRACKET, _PRIORITY_CELL]
    if not strict:
        patterns.insert(0, _PRIORITY_HAVE)
    for rx in patterns:
        m = rx.search(line)
        if m:
            return _norm_priority(m.group(1))
    return None


# -- Markdown ------------------------------------------------------------------------------
_STORY = re.compile(
    r"(?i)\bas\s+an?\s+([^,.;|\n]{2,80}?),?\s+I\s+(?:want|need|would\s+like|wish|can|should\s+be\s+able|am\s+able)\b"
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_GWT = re.compile(r"(?i)^[\s>*+\-\d.|]*[*_]*\s*(given|when|then)\b[*_]*\s+\S")
_CHECKBOX = re.compile(r"^\s*[-*+]\s+\[[ xX]\]\s+\S")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")
_AC_LABEL = re.compile(r"(?i)acceptance\s+criteria|\bAC\s*:|\bAC\s*-?\d+\s*[:.)]")  # AC: / AC1: / AC-2)
# "I want … so that …" under a heading that names the persona ("## As a shopper", "### Shopper").
_WANT = re.compile(r"(?i)^[\s>*+\-]*I\s+(?:want|need|would\s+like|wish)\b.*\bso\s+that\b")
# Templates for writing issues or pull requests: their "As a user, I want …" is a placeholder, not a story.
# The folders GitHub and GitLab read templates from (a look-alike folder holding real stories is not one).
_TEMPLATE_PATH = re.compile(
    r"(?i)(^|/)\.github/(issue_template|pull_request_template)(/|\.md$)"
    r"|(^|/)\.gitlab/(issue_templates|merge_request_templates)/|(^|/)(docs/)?pull_request_template\.md$"
)
_TEMPLATE = re.compile(r"^\s*[\[<{]")


def _clean(line: str) -> str:
    return line.replace("**", "").replace("__", "").replace("*", "")


def _criteria(lines: list[str]) -> list[str]:
    found: list[str] = []
    in_ac = False
    for line in lines:
        clean = _clean(line)
        if _GWT.match(clean) or _CHECKBOX.match(line):
            found.append(re.sub(r"^\[[ xX]\]\s*", "", clean.strip(" -*+|>")))
            continue
        if _AC_LABEL.search(clean):
            in_ac = True
            rest = _AC_LABEL.split(clean, maxsplit=1)[-1].strip(" :|-")
            if rest and len(rest) > 8 and not rest.startswith("#"):
                found.append(rest)
            continue
        if in_ac:
            if _LIST_ITEM.match(line):
                found.append(clean.strip(" -*+"))
            elif _HEADING.match(line) or (line.strip() and not line.startswith((" ", "\t"))):
                in_ac = False
    return found


@dataclass
class _Heading:
    line: int  # 0-based
    level: int
    text: str


def _table_columns(lines: list[str], row: int) -> list[str] | None:
    """Header cells of the Markdown table a row belongs to."""
    i = row
    while i > 0 and lines[i - 1].lstrip().startswith("|"):
        i -= 1
    if i + 1 < len(lines) and re.match(r"^\s*\|?\s*:?-{2,}", lines[i + 1]):
        return [c.strip().lower() for c in lines[i].strip().strip("|").split("|")]
    return None


def _from_table_row(lines: list[str], row: int) -> tuple[str | None, str | None, list[str]]:
    cols = _table_columns(lines, row)
    cells = [c.strip() for c in lines[row].strip().strip("|").split("|")]
    story_id = priority = None
    criteria: list[str] = []
    if cols:
        for name, cell in zip(cols, cells, strict=False):
            if re.search(r"\bid\b|^#$|ref|story\s*(no|#)", name) and not story_id:
                story_id = find_id(cell)
            elif "priority" in name or "moscow" in name:
                priority = priority_in(f"priority: {_clean(cell)}", strict=False)
            elif "acceptance" in name or "criteria" in name:
                criteria += [c.strip() for c in re.split(r"<br\s*/?>|;", cell) if len(c.strip()) > 3]
    return story_id, priority, criteria


def _markdown(path: str, text: str) -> list[Story]:
    lines = text.splitlines()
    headings = [
        _Heading(i, len(m.group(1)), m.group(2).strip()) for i, ln in enumerate(lines) if (m := _HEADING.match(ln))
    ]
    story_lines: list[int] = []
    personas: dict[int, str] = {}  # story line -> the heading that names its persona
    for i, line in enumerate(lines):
        clean = _clean(line)
        m = _STORY.search(clean)
        if m is None and re.search(r"(?i)\bas\s+an?\s+\S", clean):
            m = _STORY.search(" ".join(_clean(x).strip() for x in lines[i : i + 3]))  # sentence over lines
        if m and not _TEMPLATE.match(m.group(1)):
            story_lines.append(i)
        elif line.strip() and _WANT.match(" ".join(_clean(x).strip() for x in lines[i : i + 3])):
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            heading = _HEADING.match(lines[j]) if j >= 0 and i - j <= 3 else None
            if heading and not any(k in story_lines for k in range(j, i)) and not _TEMPLATE.match(heading.group(2)):
                story_lines.append(i)
                personas[i] = _clean(heading.group(2)).strip()
    stories: list[Story] = []
    for i in story_lines:
        above = [h for h in headings if h.line <= i]  # a story sentence in a heading is that heading's story
        own = above[-1] if above else None
        section_end = len(lines)
        if own is not None:
            section_end = next((h.line for h in headings if h.line > own.line and h.level <= own.level), len(lines))
        start = own.line if own is not None else 0
        siblings = [j for j in story_lines if start <= j < section_end]
        if len(siblings) == 1:
            unit = lines[start:section_end]
            first = lines[start : i + 1]
        else:
            k = siblings.index(i)
            lo = i
            # an id/priority line directly above belongs to this story, not the previous one
            while (
                lo - 1 > (siblings[k - 1] if k else start)
                and lines[lo - 1].strip()
                and len(lines[lo - 1]) < 80
                and (find_id(lines[lo - 1]) or priority_in(lines[lo - 1], strict=False))
                and not lines[lo - 1].lstrip().startswith("|")
            ):
                lo -= 1
            hi = siblings[k + 1] if k + 1 < len(siblings) else section_end
            while (
                hi - 1 > i
                and lines[hi - 1].strip()
                and len(lines[hi - 1]) < 80
                and (find_id(lines[hi - 1]) or priority_in(lines[hi - 1], strict=False))
                and hi != section_end
                and not lines[hi - 1].lstrip().startswith("|")
            ):
                hi -= 1
            unit = lines[lo:hi] if not lines[i].lstrip().startswith("|") else [lines[i]]
            first = lines[lo : i + 1]
        story_line = _clean(lines[i]).strip()
        sm = _STORY.search(story_line)
        sentence = story_line[sm.start() :].split("|")[0].strip() if sm else story_line
        if i in personas:
            sentence = f"{personas[i]}: {sentence}"
        story_id = priority = None
        criteria: list[str] = []
        if lines[i].lstrip().startswith("|"):
            story_id, priority, criteria = _from_table_row(lines, i)
        if len(siblings) == 1 and own is not None:
            story_id = story_id or find_id(own.text)
        story_id = story_id or find_id("\n".join(first)) or find_id("\n".join(unit))
        if priority is None:
            for line in unit:
                if _GWT.match(_clean(line)):
                    continue  # "Then I should have …" is a criterion, not a MoSCoW mark
                priority = priority_in(line, strict=_STORY.search(_clean(line)) is not None)
                if priority:
                    break
        if priority is None:
            # a MoSCoW heading above ("## Must have") gives its stories their priority
            level = own.level + 1 if own else 7
            for h in reversed(above):
                if h.level < level:
                    level = h.level
                    priority = priority_in(h.text, strict=False) or (
                        _norm_priority(h.text.strip().lower())
                        if h.text.strip().lower() in ("must", "should", "could", "won't", "wont")
                        else None
                    )
                    if priority:
                        break
        criteria += _criteria(unit)
        title = own.text if (own is not None and len(siblings) == 1) else sentence[:100]
        stories.append(
            Story(
                id=story_id,
                title=title.strip("# ").strip(),
                text=sentence[:300],
                priority=priority,
                criteria=criteria,
                loc=Loc(path, i + 1),
                source="markdown",
            )
        )
    return stories


# -- Gherkin -------------------------------------------------------------------------------
_FEATURE = re.compile(r"^\s*Feature:\s*(.*)$")
_SCENARIO = re.compile(r"^\s*(?:Scenario(?:\s+Outline|\s+Template)?|Example):\s*(.*)$")


def _tags_above(lines: list[str], i: int) -> str:
    tags = []
    j = i - 1
    while j >= 0 and (lines[j].strip().startswith("@") or lines[j].strip().startswith("#") or not lines[j].strip()):
        if lines[j].strip().startswith("@"):
            tags.append(lines[j].strip())
        j -= 1
    return " ".join(tags)


def _feature(path: str, text: str, executed: bool) -> tuple[list[Story], list[TestRef]]:
    lines = text.splitlines()
    stories: list[Story] = []
    refs: list[TestRef] = []
    feature_tags = ""
    feature_id: str | None = None
    scenarios: list[str] = []
    own_ids: set[str | None] = set()  # story ids on scenarios: the feature tests stories written elsewhere
    for i, line in enumerate(lines):
        fm = _FEATURE.match(line)
        if fm:
            feature_tags = _tags_above(lines, i)
            feature_id = find_id(feature_tags) or find_id(fm.group(1))
            narrative = " ".join(ln.strip() for ln in lines[i + 1 : i + 6] if not _SCENARIO.match(ln))
            m = _STORY.search(narrative)
            # A feature is a story: its narrative if it has one, and its scenarios as acceptance criteria.
            if m or fm.group(1).strip():
                stories.append(
                    Story(
                        id=feature_id,
                        title=fm.group(1).strip(),
                        text=narrative[m.start() : m.start() + 300] if m else f"Feature: {fm.group(1).strip()}",
                        priority=(lambda t: _norm_priority(t.group(1)) if t else None)(
                            _PRIORITY_TAG.search(feature_tags)
                        ),
                        criteria=scenarios,  # filled below: the feature's scenarios are its criteria
                        loc=Loc(path, i + 1),
                        source="gherkin",
                    )
                )
            continue
        sm = _SCENARIO.match(line)
        if sm:
            name = sm.group(1).strip()
            scenarios.append(name)
            tags = _tags_above(lines, i)
            own_ids |= {find_id(t) for t in re.findall(r"@[\w-]+", tags)} | {find_id(name)}
            if not executed:
                continue
            ids = {find_id(t) for t in re.findall(r"@[\w-]+", f"{tags} {feature_tags}")} | {find_id(name)}
            skipped = bool(re.search(r"(?i)@(skip|wip|ignore|disabled|pending)\b", f"{tags} {feature_tags}"))
            for sid in ids - {None}:
                refs.append(TestRef(str(sid), f"Scenario: {name}", Loc(path, i + 1), skipped))
    # A feature without a narrative is a story only when it has scenarios, none tracing to another story.
    others = own_ids - {None, feature_id}
    stories = [st for st in stories if not st.text.startswith("Feature: ") or (st.criteria and not others)]
    if executed:
        for story in stories:
            story.scenarios_executed = list(scenarios)
    return stories, refs


# -- the whole collection ------------------------------------------------------------------------
def collect(repo: RepoSnapshot) -> Stories:
    model = Stories(head=repo.head)
    files = [
        f
        for f in repo.files
        if f.is_regular
        and not repo.vendored(f.path)
        and not any(v in f.path for v in VENDORED)
        and not _TEMPLATE_PATH.search(f.path)
    ]
    code_texts: list[tuple[str, str]] = []
    for f in files:
        if f.size > MAX_DOC_BYTES:
            continue
        test = is_test_file(f.path)
        if test or f.suffix in (".py", ".js", ".ts", ".java", ".kt", ".go"):
            text = repo.read_text(f.path, MAX_DOC_BYTES)
            if text is not None and textscan.search(STEP_DEFS, text) and not f.path.endswith(".feature"):
                model.step_definitions.append(Loc(f.path, 1))
            if text is not None and test:
                code_texts.append((f.path, text))
    executed = bool(model.step_definitions)
    for f in files:
        if f.size > MAX_DOC_BYTES:
            continue
        if f.suffix in (".md", ".markdown") or (f.suffix == ".txt" and "stor" in f.name.lower()):
            text = repo.read_text(f.path, MAX_DOC_BYTES)
            if text is None:
                continue
            for i, line in enumerate(text.splitlines(), start=1):
                if re.search(r"(?i)user\s+stor(y|ies)", line) and len(model.mentions) < 10:
                    model.mentions.append(Loc(f.path, i))
            model.stories += _markdown(f.path, text)
        elif f.suffix == ".feature":
            text = repo.read_text(f.path, MAX_DOC_BYTES)
            if text is None:
                continue
            stories, refs = _feature(f.path, text, executed)
            model.stories += stories
            model.refs += refs
            if not executed:
                model.unexecuted_features.append(f.path)
    model.test_files = [p for p, _ in code_texts]
    known = {s.id: id_pattern(s.id) for s in model.stories if s.id}
    if known:
        for path, text in code_texts:
            if not path.endswith(".feature"):
                model.refs += test_refs(path, text, known)
    return model


def coverage(model: Stories, priority: str) -> tuple[list[tuple[Story, list[TestRef]]], list[Story]]:
    """Stories of one MoSCoW priority split into (tested, with their tests) and untested."""
    tested: list[tuple[Story, list[TestRef]]] = []
    untested: list[Story] = []
    for story in model.stories:
        if story.priority != priority:
            continue
        tests = model.tests_for(story)
        if tests:
            tested.append((story, tests))
        else:
            untested.append(story)
    return tested, untested
