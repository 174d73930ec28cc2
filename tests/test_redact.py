"""Masking: credentials in URLs, auth headers, well-known key formats; linear time on hostile input.

Every credential in this file is fake, made up for tests.
"""

from __future__ import annotations

import json
import time

import pytest

from harness import redact
from harness.reports import html as html_report
from harness.reports import junit, sarif, terminal, view

AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GHP = "ghp_" + "aB3" * 12
PEM_BODY = "MIIEowIBAAKCAQEAx1y2z3w4v5u6t7s8r9q0"

# (text, the secret part that must disappear, what must stay)
CASES = [
    ("clone https://tok3nv4lue99@github.com/o/r now", "tok3nv4lue99", "https://***@github.com/o/r"),
    ('{"url": "https://user:hunter2pw@host/p"}', "hunter2pw", "https://user:***@host/p"),
    ("https://" + GHP + ":x-oauth-basic@github.com", GHP[4:], "@github.com"),
    ('{"u":"https:\\/\\/escapedtok99@host\\/x"}', "escapedtok99", "@host"),
    ("next=https%3A%2F%2Fuser%3Apctsecret%40host%2Fpath", "pctsecret", "https%3A%2F%2F***%40host"),
    ('{"headers": {"Authorization": "Bearer abc.def.ghi", "Host": "x"}}', "abc.def.ghi", '"Host": "x"'),
    ('"{\\"headers\\": {\\"Authorization\\": \\"Bearer nestedtok\\"}}"', "nestedtok", "Authorization"),
    ("Authorization: Basic dXNlcjpwYXNz\r\nHost: x", "dXNlcjpwYXNz", "Host: x"),
    ("proxy-authorization: Bearer prox1tok", "prox1tok", "proxy-authorization"),
    ("Set-Cookie: session=s3cr3tvalue; Path=/\nCookie: sid=c00kieval", "s3cr3tvalue", "Set-Cookie: ***"),
    ("Cookie: sid=c00kieval", "c00kieval", "Cookie: ***"),
    (f"key {AWS_ID} in a sentence", AWS_ID[4:], "AKIA***"),
    (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET, "aws_secret_access_key = ***"),
    (f'{{"SecretAccessKey": "{AWS_SECRET}"}}', AWS_SECRET, "SecretAccessKey"),
    (f"token {GHP} end", GHP[4:], "ghp_*** end"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "11ABCDEFG0123456789", "github_pat_***"),
    ("gho_abcdefghijklmnopqrstuvwxyz0123", "abcdefghijklmnopqrstuvwxyz0123", "gho_***"),
    ("glpat-abcdefghij0123456789", "abcdefghij0123456789", "glpat-***"),
    ("xoxb-123456789012-abcdefghijkl", "123456789012-abcdefghijkl", "xoxb-***"),
    ("xoxp-1234567890-abcdef", "1234567890-abcdef", "xoxp-***"),
    ("AIzaSyA1234567890abcdefghijklmnopqrstuv", "SyA1234567890abcdefghijklmnopqrstuv", "AIza***"),
    ("Endpoint=x;AccountName=a;AccountKey=abcd1234abcd1234abcd==;Suffix=y", "abcd1234abcd1234", "AccountKey=***;"),
    (f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\nafter", PEM_BODY, "after"),
    (f"cut: -----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}", PEM_BODY, "OPENSSH PRIVATE KEY"),
]


@pytest.mark.parametrize(("raw", "secret", "kept"), CASES, ids=[c[1][:12] for c in CASES])
def test_masks_every_known_form(raw, secret, kept):
    out = redact.text(raw)
    assert secret not in out, out
    assert kept in out, out


def test_ordinary_text_is_untouched():
    for raw in ("https://example.org/a@2x.png", "see http://host/ and mail me@x.org", "ssh git@github.com:o/r"):
        assert redact.text(raw) == raw


def test_header_dicts_are_masked_by_key():
    headers = {"Authorization": "Bearer x", "Set-Cookie": "a=b", "cookie": "c", "X-Debug-Authorization": "y"}
    doc = {"headers": {**headers, "Content-Type": "json"}, "env": {"db_password": "pw", "API_KEY": "k", "n": 1}}
    out = redact.deep(doc)
    assert out["headers"] == {**dict.fromkeys(headers, "***"), "Content-Type": "json"}
    assert out["env"] == {"db_password": "***", "API_KEY": "***", "n": 1}


# Inputs that made the old patterns backtrack quadratically (100 000 letters: about a minute), or that
# try the new ones' bounds; none may take long. The bound is generous: the shared machine is slow.
HOSTILE = {
    "letters": "a" * 10_000_000,
    "schemes": "a://" * 250_000,
    "word-dots": "a.b-" * 250_000,
    "percent": "%3A%2F%2F" * 110_000,
    "headers": "authorization:" * 70_000,
    "begin": "-----BEGIN PRIVATE KEY-----" * 37_000,
    "token-run": "ghp_" + "a" * 1_000_000 + "_",
    "secrets": "aws_secret_key=" * 60_000,
    "userinfo": "http://" + "a:" * 500_000,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_masking_is_fast_on_hostile_input(name):
    t0 = time.monotonic()
    out = redact.text(HOSTILE[name])
    assert time.monotonic() - t0 < 10
    assert len(out) < 2 * redact.MAX_CHARS  # cut first (masks may add a little)


def test_long_strings_are_cut_and_say_so():
    out = redact.text("x" * (redact.MAX_CHARS + 5))
    assert out.endswith("…[5 more characters cut]")


def _doc_with(tmp_path, text: str) -> dict:
    """A run document built the real way (build_document) with `text` as a failing finding's reason and evidence."""
    from harness.catalogue import load as load_catalogue
    from harness.config import Config
    from harness.engine import CheckResult, RunOutcome
    from harness.model import Evidence, Finding, Outcome, now_iso
    from harness.run import build_document
    from tests.test_reports_common import _check

    config = Config(base_dir=tmp_path)
    config.project.repo = str(tmp_path)
    ev = Evidence("http", text, url="https://x/", excerpt=text, path="a.py", start_line=1, data={"h": text})
    finding = Finding(check_id="repo.gitignore", outcome=Outcome.FAIL, reason=text, evidence=[ev])
    catalogue = load_catalogue()
    outcome = RunOutcome(results=[CheckResult(_check("repo.gitignore"), [finding], now_iso(), 0.01)])
    return build_document(config, catalogue, outcome, catalogue.check_ids(), now_iso(), 0.5)


PLANTED = f"{AWS_ID} https://{GHP}@h/ \u202egnp.exe\x1b[2J; echo Authorization: Bearer pl4ntedtok"


def test_every_report_format_masks(tmp_path):
    doc = _doc_with(tmp_path, PLANTED)
    outputs = {
        "json": json.dumps(doc),
        "html": html_report.render(doc),
        "junit": junit.render(doc),
        "sarif": sarif.render(doc),
        "terminal": terminal.render(doc),
    }
    for fmt, out in outputs.items():
        for secret in ("pl4ntedtok", AWS_ID, GHP):
            assert secret not in out, fmt
    assert "\u202e" not in outputs["terminal"] and "\\u202e" in outputs["terminal"]
    assert "\x1b" not in outputs["terminal"]


def test_terminal_masks_a_saved_run_again(tmp_path):
    """`harness report` re-renders a saved document: one saved before a pattern existed is masked too."""
    doc = _doc_with(tmp_path, "plain reason")
    finding = doc["checks"][0]["findings"][0]
    finding["reason"] = PLANTED
    for crit in doc["criteria"]:
        for ref in crit.get("held_back_by", []):
            ref["reason"] = PLANTED
    out = terminal.render(doc)
    assert "gnp.exe" in out and "pl4ntedtok" not in out and GHP not in out


def test_error_line_is_one_masked_escaped_line():
    line = terminal.error_line(f"bad url 'ftp://{GHP}@host'\nsecond \u2066line\x07")
    assert "\n" not in line and GHP not in line and "\u2066" not in line and "\x07" not in line
    assert "\\u2066" in line and "\\x07" in line


def test_printable_escapes_bidi_overrides():
    assert view.printable("a\u202ab\u2069c") == "a\\u202ab\\u2069c"


def test_report_command_masks_a_saved_run_in_every_format(tmp_path):
    from harness.cli import main

    doc = _doc_with(tmp_path, "plain reason")
    doc["checks"][0]["findings"][0]["reason"] = PLANTED  # as saved by a harness that did not know the pattern
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(doc))
    out = tmp_path / "again"
    args = ["report", str(saved), "--out", str(out)] + [
        a for f in ("json", "html", "junit", "sarif") for a in ("--format", f)
    ]
    assert main(args) in (0, 1)
    for path in out.iterdir():
        text = path.read_text()
        assert "pl4ntedtok" not in text and GHP not in text and AWS_ID not in text, path.name
