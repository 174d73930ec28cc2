"""The secret scan reads only the lines that can match, and reports them as the whole text would."""

from __future__ import annotations

from harness import textscan
from harness.checks.repo.secrets import KEYWORDS, MAX_LINE, scan_text

SECRET = "Tr0ub4dor&3xK9q"


def test_keyword_lines_keep_only_short_keyword_lines_with_their_numbers_and_offsets():
    text = "a = 1\nTOKEN = x\n" + "b = 2\n" * 1000 + "z" * 5000 + " password\nthe Secret\n"
    lines = textscan.keyword_lines(text, KEYWORDS, MAX_LINE)
    assert lines.numbers == [2, 1004]
    assert [lines.line(i) for i in range(2)] == ["TOKEN = x", "the Secret"]
    assert [text[o : o + 5] for o in lines.origins] == ["TOKEN", "the S"]
    assert lines.origin(lines.starts[1] + 4) == text.index("Secret")
    assert len(lines.text) < 30  # the 6 kB of other lines are not scanned


def test_keyword_lines_without_any_keyword_is_empty():
    assert textscan.keyword_lines("x = 1\n" * 100, KEYWORDS, MAX_LINE).starts == []


def test_secret_deep_in_a_long_file_keeps_its_line_number():
    text = "x = 1\n" * 5000 + f'db_password = "{SECRET}"\n' + "y = 2\n" * 10
    hits = scan_text("app/settings.py", text)
    assert [(h.line, h.value) for h in hits] == [(5001, SECRET)]


def test_private_key_body_is_read_from_the_lines_after_the_marker():
    body = "MIIEowIBAAKCAQEA7bq3mZ1cYq9Vg0Xz4ycNQ3rT2xQf8Lw0h5Jm1Yd"
    text = "x = 1\n-----BEGIN RSA PRIVATE KEY-----\n" + body + "\nAAAA\n-----END RSA PRIVATE KEY-----\n"
    hits = scan_text("deploy/id_rsa", text)
    assert [(h.rule, h.line, h.value) for h in hits] == [("private-key", 2, body[:40])]


def test_secret_on_an_over_long_line_is_not_reported_but_its_neighbour_is():
    text = "k" * (MAX_LINE + 10) + f' token = "{SECRET}"\n' + f'api_token = "{SECRET}A"\n'
    assert [h.line for h in scan_text("app.py", text)] == [2]


def test_keyword_spelt_with_a_letter_that_folds_to_ascii_is_still_scanned():
    # re's IGNORECASE matches "ſ" (long s) to "s": such a line must not be ruled out by the keyword filter.
    hits = scan_text("app.py", f'DB_PAſSWORD = "{SECRET}"\n')
    assert [h.value for h in hits] == [SECRET]
