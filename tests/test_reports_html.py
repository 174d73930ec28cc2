"""The HTML report: self-contained, escaped, complete, with the run JSON embedded."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from harness.reports import html
from tests.test_reports_common import HOSTILE, WAIVER_NOTE, synthetic_doc

VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})
EMBED = re.compile(r'<script type="application/json" id="harness-run">(.*?)</script>', re.S)


class _Collector(HTMLParser):
    """Every attribute, every script body, and the element stack (to catch unbalanced markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: list[tuple[str, str, str | None]] = []
        self.scripts: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag not in VOID:
            self.stack.append(tag)
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with {self.stack[-3:]}")
        else:
            self.stack.pop()
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _parse(text: str) -> _Collector:
    parser = _Collector()
    parser.feed(text)
    parser.close()
    return parser


def test_self_contained_no_external_resources(tmp_path: Path) -> None:
    text = html.render(synthetic_doc(tmp_path))
    parsed = _parse(text)
    for tag, name, value in parsed.attrs:
        if name in ("src", "href", "action", "srcset", "poster", "data"):
            assert not re.match(r"\s*(https?:)?//", value or ""), f"external {tag} {name}={value}"
    assert not [(t, n) for t, n, _ in parsed.attrs if t in ("link", "img", "iframe", "object")]
    assert "url(" not in text and "@import" not in text
    assert "default-src 'none'" in text  # the CSP forbids any fetch even if something slipped in
    assert "innerHTML" not in text and "document.write" not in text


def test_markup_is_balanced(tmp_path: Path) -> None:
    parsed = _parse(html.render(synthetic_doc(tmp_path)))
    assert parsed.errors == []
    assert parsed.stack == []


def test_every_criterion_is_present(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    text = html.render(doc)
    for crit in doc["criteria"]:
        assert f'id="crit-{crit["id"]}"' in text
        for question in crit["questions"]:
            assert question.replace("'", "&#x27;").replace('"', "&quot;") in text


def test_hostile_text_is_escaped(tmp_path: Path) -> None:
    text = html.render(synthetic_doc(tmp_path))
    body = EMBED.sub("", text)
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    # only our two script elements exist: the JSON block and the inline enhancement
    assert text.count("<script") == 2


def test_embedded_json_round_trips(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    text = html.render(doc)
    [block] = EMBED.findall(text)
    assert "</" not in block and "<!--" not in block
    assert json.loads(block) == doc


def test_failures_open_passes_collapsed_and_labels(tmp_path: Path) -> None:
    doc = synthetic_doc(tmp_path)
    text = html.render(doc)
    assert re.search(r'<details class="crit s-not_met" id="crit-CQ-1" open>', text)
    assert re.search(r'<details class="crit s-assessor" id="crit-CQ-4">', text)
    assert text.index('id="crit-CQ-1"') < text.index('id="crit-CQ-4"')
    assert "PROVISIONAL" in text and "INCOMPLETE RUN" not in text
    assert "INCOMPLETE RUN" in html.render(synthetic_doc(tmp_path, complete=False))
    assert "@media print" in text


def test_evidence_waiver_and_remediation_are_shown(tmp_path: Path) -> None:
    text = html.render(synthetic_doc(tmp_path))
    assert "src/a b.py:3-7" in text
    assert "a" * 40 in text  # commit
    assert "curl -sS https://app.example.org/" in text  # command
    assert "HTTP/1.1 200 OK" in text and "0" * 64 in text  # response excerpt and hash
    assert "WAIVED" in text and WAIVER_NOTE in text
    assert "How to fix:</strong> Add a .gitignore" in text
    assert HOSTILE not in text


def test_worst_check_first_and_control_characters_shown(tmp_path: Path) -> None:
    text = EMBED.sub("", html.render(synthetic_doc(tmp_path)))
    cq1 = text[text.index('id="crit-CQ-1"') : text.index("</details>", text.index('id="crit-CQ-1"'))]
    assert cq1.index("<code>repo.gitignore</code> —") < cq1.index("<code>repo.git-history</code> —")
    assert "\x1b" not in text and "\x00" not in text
    assert "\\x1b[31mred" in text
