"""The secret scan reads only the lines that can match, and reports them as the whole text would.

Every credential in this file is fake, made up for tests.
"""

from __future__ import annotations

import time

import pytest

from harness import textscan
from harness.model import Outcome
from harness.probes import history_patches, inventory, repository
from harness.probes.secret_scan import KEYWORDS, scan_text
from tests.conftest import run_check

SECRET = "Tr0ub4dor&3xK9q"
MAX_LINE = 4000  # for keyword_lines alone: the secret scan itself passes no limit, so it skips no line


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


def test_a_secret_on_an_over_long_line_is_still_reported():
    text = "k" * 10_000 + f' token = "{SECRET}"\n' + f'api_token = "{SECRET}A"\n'
    assert [h.line for h in scan_text("app.py", text)] == [1, 2]


def test_keyword_spelt_with_a_letter_that_folds_to_ascii_is_still_scanned():
    # re's IGNORECASE matches "ſ" (long s) to "s": such a line must not be ruled out by the keyword filter.
    hits = scan_text("app.py", f'DB_PAſSWORD = "{SECRET}"\n')
    assert [h.value for h in hits] == [SECRET]


AWS_ID = "AKIA" + "Q3EGRTZL7XW2PN4M"  # split so that scanners of this repository do not flag the test


def test_vendored_folders_are_named_once_and_virtualenvs_found_by_their_marker(make_repo):
    repo = make_repo()
    repo.write("app/main.py", "x = 1\n").write("jenkins_home/config.xml", "<x/>\n")
    repo.write("myenv/pyvenv.cfg", "home = /usr\n").write("myenv/lib/mod.py", "y = 2\n")
    repo.write("src/build/gen.py", "z = 3\n").commit("init")
    snap = repository.snapshot(repo.path)
    assert [f.path for f in snap.own_files] == ["app/main.py"]
    assert snap.vendored("myenv/lib/mod.py") and not repository.is_vendored("myenv/lib/mod.py")
    assert inventory.is_vendored("jenkins_home/config.xml") and not inventory.is_vendored("app/main.py")


def test_texts_beyond_the_cache_are_read_in_batches_with_the_same_content(make_repo):
    repo = make_repo()
    for i in range(40):
        repo.write(f"pkg/m{i:02}.py", f"value = {i}\n" * (i + 1))
    repo.write("pkg/blob.bin", b"\x00\x01binary").commit("init")
    snap = repository.snapshot(repo.path)
    snap.CACHE_BUDGET = 300  # a few files fit in the cache; the rest must come from batches
    got = list(snap.texts(snap.files))
    assert [f.path for f, _ in got] == [f"pkg/m{i:02}.py" for i in range(40)]  # order kept, binary left out
    assert all(text == f"value = {i}\n" * (i + 1) for i, (_, text) in enumerate(got))
    assert snap._cache_bytes <= 300
    snap.close()


def test_vendored_code_counts_token_formats_and_credentials_files_but_not_example_passwords(make_repo):
    repo = make_repo()
    repo.write("venv/lib/site-packages/lib/client.py", f'api_password = "{SECRET}"\n')
    repo.write("jenkins_home/credentials.xml", f"<username>{AWS_ID}</username>\n")
    repo.write("node_modules/pkg/.env", "DB_PASSWORD=s3cretValue\n")
    repo.write("app/settings.py", "DEBUG = False\n").commit("init")
    findings = run_check("repo.secrets", repo.path)
    assert sorted(f.subject for f in findings if f.outcome is Outcome.FAIL) == [
        "jenkins_home/credentials.xml",
        "node_modules/pkg/.env",
    ]


def test_a_pass_says_which_files_were_scanned_for_token_formats_only(make_repo):
    repo = make_repo()
    repo.write("venv/lib/site-packages/lib/client.py", f'api_password = "{SECRET}"\n')
    repo.write("app/settings.py", "DEBUG = False\n").commit("init")
    findings = run_check("repo.secrets", repo.path)
    assert [f.outcome for f in findings] == [Outcome.PASS]
    summary = findings[0].evidence[0]
    assert summary.data["vendored_files_formats_only"] == 1
    assert "1 in vendored folders, for token formats only" in summary.summary


def test_persistence_ignores_data_stores_named_in_a_committed_jenkins_home(make_repo):
    repo = make_repo()
    repo.write("app/main.py", "print('hello')\n")
    repo.write("jenkins_home/plugins/db/config.py", "import psycopg2\n").commit("init")
    findings = run_check("repo.persistence", repo.path)
    assert not any("jenkins_home" in (e.path or "") for f in findings for e in f.evidence)


def test_history_patches_larger_than_one_read_keep_their_commits(make_repo):
    # A commit of several MB arrives over several reads of `git log -p`: its patch and the next commit's
    # must still be told apart, with the right commit for each file.
    repo = make_repo()
    repo.write("README.md", "app\n").commit("init")
    big = f'aws = "{AWS_ID}"\n' + "".join(f"row_{i} = {i}\n" for i in range(250_000))
    first = repo.write("data/big.py", big).commit("generated data")
    second = repo.write("deploy.sh", f"export API_TOKEN={SECRET}\n").commit("deploy")
    scan = history_patches.PatchScan()
    found = {
        (p.sha, p.path)
        for p in history_patches.patches(repo.path, scan, time.monotonic() + 60, lambda _p: False)
        if scan_text(p.path, p.added)
    }
    assert found == {(first, "data/big.py"), (second, "deploy.sh")}
    assert scan.bytes > 3_000_000 and not scan.truncated


def test_history_scan_that_git_cannot_finish_is_not_a_pass(make_repo):
    # A partial clone (or a damaged one) lacks an old blob: `git log -p` dies there, and the commits
    # behind it were never read.
    repo = make_repo()
    repo.write("app.py", "x = 1\n").commit("first")
    old = repo.git("rev-parse", "HEAD:app.py").strip()
    repo.write("app.py", "x = 2\n").commit("second")
    (repo.path / ".git" / "objects" / old[:2] / old[2:]).unlink()
    findings = run_check("repo.secrets", repo.path)
    assert Outcome.PASS not in [f.outcome for f in findings]
    cut = [f for f in findings if f.outcome is Outcome.COULD_NOT_CHECK]
    assert len(cut) == 1 and "git log failed" in cut[0].reason


def test_every_token_format_is_found_on_a_line_of_its_own_even_in_vendored_code():
    # The line filter keeps a line only for a keyword: each rule's literal part must be one of them.
    role_id = "AIDA" + "Q3EGRTZL7XW2PN4M"
    secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vR3kL2d"
    text = f'x = 1\nrole = "{role_id}"\nAWS_SECRET_ACCESS_KEY={secret_key}\n'
    for path in ("app/aws.py", "venv/lib/aws.py"):
        assert {(h.rule, h.line) for h in scan_text(path, text, formats=path.startswith("venv"))} == {
            ("aws-access-key-id", 2),
            ("aws-secret-key", 3),
        }


def test_public_key_tokens_are_published_by_design_and_a_secret_beside_them_still_counts():
    config = (
        '<add assembly="System.Web, Version=4.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35" />\n'
        '<add key="public_key" value="MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" />\n'
        'client_secret = "q7Vd9xKp2LmN4rT8wZ3b"\n'
    )
    assert [h.line for h in scan_text("Web.config", config)] == [3]


def test_built_bundles_count_token_formats_only_and_are_not_the_candidates_code(make_repo):
    repo = make_repo()
    bundle = 'var a=function(o){return fetch(u,{credentials:o.credentials})};var o={credentials="omit"};\n'
    repo.write("preview/assets/index-a3308394.js", bundle).write("web/app.min.js", bundle)
    repo.write("src/app.js", "export const x = 1;\n").commit("init")
    snap = repository.snapshot(repo.path)
    assert [f.path for f in snap.own_files] == ["src/app.js"]
    assert repository.is_vendored("static/js/main.3f2a1b9c.js") and not repository.is_vendored("src/main.js")


def test_the_keywords_searched_find_every_line_and_text_the_full_list_does():
    from harness.probes import secret_scan

    searched = secret_scan._SEARCHED
    assert len(searched) < len(KEYWORDS)  # a keyword holding another ("private key") is not searched again
    texts = [f"x = 1\n{k.upper()} here\ny = 2\n" for k in KEYWORDS] + ["x = 1\nnothing\n", "ünïcode accountkey\n"]
    for text in texts:
        assert secret_scan.prefilter(text) == any(k in text.lower() for k in KEYWORDS)
        assert secret_scan.prefilter_bytes(text.encode()) == any(k.encode() in text.lower().encode() for k in KEYWORDS)
        full, fewer = textscan.keyword_lines(text, KEYWORDS, MAX_LINE), textscan.keyword_lines(text, searched, MAX_LINE)
        assert (fewer.text, fewer.numbers, fewer.origins) == (full.text, full.numbers, full.origins)


def _lines_without_the_automaton(text: str, keywords: tuple[str, ...], max_line: int) -> textscan.Lines:
    saved, textscan._AC = textscan._AC, None
    try:
        return textscan.keyword_lines(text, keywords, max_line)
    finally:
        textscan._AC = saved


def test_one_pass_for_all_keywords_keeps_the_lines_one_pass_per_keyword_keeps(monkeypatch):
    # The multi-keyword search reads the text in chunks: a keyword across a chunk's end, several keywords on
    # one line, a line longer than a chunk and letters that fold to ASCII must come out as str.find's passes.
    pytest.importorskip("ahocorasick_rs")
    assert textscan._AC is not None  # a declared dependency: installed, the fast path is the one taken
    monkeypatch.setattr(textscan, "AC_CHUNK", 7)
    texts = [
        "abcde AKIA\nx\n" + "q" * 30 + "://" + "r" * 30 + "\nprivate key token\n",
        "s" * 5 + "private key\n" + "zz xoxb aiza\n\n" + "p" * 40 + "\n" + "DB_PAſSWORD=1\n",
        "\u212aey ghp_ hooks.slack _live_ github_pat_\n" + "n\n" * 20 + "tail acc" + "ountkey",
        "\n".join(f"{'x' * (i % 9)}{k}{'y' * (i % 5)}" for i, k in enumerate(KEYWORDS)),
    ]
    for text in texts:
        for max_line in (10, 40, len(text) + 1):
            for words in (KEYWORDS, tuple(k for k in KEYWORDS if len(k) > 3)):
                fast = textscan.keyword_lines(text, words, max_line)
                slow = _lines_without_the_automaton(text, words, max_line)
                assert (fast.text, fast.numbers, fast.origins) == (slow.text, slow.numbers, slow.origins)
    many = "a://" * 50_000 + "\nsecret\n"  # one line of 50,000 matches, then one more
    assert textscan.keyword_lines(many, KEYWORDS, len(many)).numbers == [1, 2]
    words = tuple(k.encode() for k in KEYWORDS)  # the history's prefilter: a keyword across a chunk's end
    assert [textscan.holds_keyword(b"x" * n + b"tok" + b"en", words) for n in range(8)] == [True] * 8
    assert not textscan.holds_keyword(b"x = 1\n" * 10 + b"tok", words)


def test_lines_are_found_in_the_utf8_bytes_with_character_offsets_and_the_unicode_assumptions_hold():
    # The keywords are searched in the text's UTF-8 bytes (A-Z lowered): offsets must come back in characters.
    text = "é😀 x\nnaïve AKIA ü\n" + "ß" * 70_000 + "\nΣ private KEY Σ\nplain\n"
    lines = textscan.keyword_lines(text, KEYWORDS, len(text))
    assert [lines.line(i) for i in range(len(lines.starts))] == ["naïve AKIA ü", "Σ private KEY Σ"]
    assert lines.numbers == [2, 4] and [text[o : o + 5] for o in lines.origins] == ["naïve", "Σ pri"]
    # Which letters lower-case to ASCII or to more letters, in this Python's Unicode tables: bytes miss a
    # keyword only through those, and keyword_lines handles each of them.
    to_ascii = {c for c in map(chr, range(0x80, 0x110000)) if any(x.isascii() for x in c.lower())}
    longer = {c for c in map(chr, range(0x110000)) if len(c.lower()) != 1}
    assert longer == set(textscan._LENGTHENS) and to_ascii <= set(textscan._FOLDS_TO_ASCII) | longer
