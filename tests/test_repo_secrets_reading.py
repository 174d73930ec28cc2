"""repo.secrets reads what it claims, and judges values as an assessor would.

Every key and password in this file is fake, for tests only.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from harness.checks.repo import secrets
from harness.model import Outcome
from harness.probes import history_patches
from harness.probes.secret_scan import scan_text
from tests.conftest import run_check

GH_TOKEN = "ghp_" + "r8Tq2LmZ0xW4vYk9PaB7nC3dE5fG1hJ6sU8o"  # split so scanners of this repository skip it
REAL = "Zq7" + "vR2mK9xLp4Tw"  # a real-looking password


def by_outcome(findings) -> dict[Outcome, list]:
    out: dict[Outcome, list] = {}
    for f in findings:
        out.setdefault(f.outcome, []).append(f)
    return out


def text_of(findings) -> str:
    return json.dumps([f.to_dict() for f in findings])


# -- every line and file is read, or said not to be ----------------------------------


def test_a_secret_on_a_very_long_line_is_found_at_head(make_repo):
    repo = make_repo()
    line = "window.CONFIG = {" + ", ".join(f'"k{i}": {i}' for i in range(900)) + f', "token": "{GH_TOKEN}"}}\n'
    assert len(line) > 8000
    repo.write("static/config.js", line).commit("config")
    found = by_outcome(run_check("repo.secrets", repo.path))
    assert [f.subject for f in found.get(Outcome.FAIL, [])] == ["static/config.js"]
    assert Outcome.PASS not in found
    excerpt = found[Outcome.FAIL][0].evidence[0].excerpt
    assert "ghp_***" in excerpt and len(excerpt) < 300  # a window around the value, not the whole line


def test_a_secret_at_the_end_of_a_large_file_is_found_at_head_not_reported_as_history(make_repo):
    repo = make_repo()
    bulk = "".join(f"row_{i} = {i}\n" for i in range(200_000))  # ~2.6 MB: over the per-file read limit
    repo.write("data/seed.py", bulk + f'GITHUB_TOKEN = "{GH_TOKEN}"\n').commit("seed")
    findings = run_check("repo.secrets", repo.path)
    found = by_outcome(findings)
    assert [f.subject for f in found.get(Outcome.FAIL, [])] == ["data/seed.py"], [f.reason for f in findings]
    assert Outcome.WARN not in found and Outcome.PASS not in found
    assert GH_TOKEN not in text_of(findings)


def test_a_secret_late_in_a_large_patch_is_found_in_history(make_repo):
    repo = make_repo()
    bulk = "".join(f"row_{i} = {i}\n" for i in range(120_000))  # ~1.5 MB of added lines in one patch
    repo.write("data/seed.py", bulk + f'GITHUB_TOKEN = "{GH_TOKEN}"\n').commit("seed")
    repo.remove("data/seed.py").commit("drop seed")
    found = by_outcome(run_check("repo.secrets", repo.path))
    assert [f.subject for f in found.get(Outcome.WARN, [])] == ["data/seed.py"]
    assert Outcome.PASS not in found


def test_files_too_large_to_read_make_the_scan_incomplete_not_clean(make_repo, monkeypatch):
    monkeypatch.setattr(secrets, "HEAD_MAX_BYTES", 50_000)
    monkeypatch.setattr(history_patches, "BIG_FILE_BYTES", 50_000)
    repo = make_repo()
    repo.write("app.py", "X = 1\n").write("dump.sql", "INSERT INTO t VALUES (1);\n" * 4000).commit("dump")
    repo.write("old.csv", "a,b\n" * 20_000).commit("old data")
    repo.remove("old.csv").commit("drop old data")
    findings = run_check("repo.secrets", repo.path)
    outcomes = {f.outcome for f in findings}
    assert outcomes == {Outcome.COULD_NOT_CHECK}, [f.reason for f in findings]
    reason = findings[0].reason
    assert "dump.sql" in reason and "old.csv" in reason
    assert "dump.sql (0 MB, over the 0 MB limit)" in findings[0].evidence[0].data["not_read"]


def test_binary_and_lock_files_are_listed_but_do_not_spoil_a_pass(make_repo):
    repo = make_repo()
    repo.write("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    repo.write("package-lock.json", '{"lockfileVersion": 3}\n').write("app.py", "X = 1\n").commit("assets")
    findings = run_check("repo.secrets", repo.path)
    assert [f.outcome for f in findings] == [Outcome.PASS]
    data = findings[0].evidence[0].data
    assert data["binary_files"] == ["logo.png"] and data["skipped_by_type"] == ["package-lock.json"]
    assert data["not_read"] == []


# -- judged as an assessor would --------------------------------------------------------


@pytest.mark.parametrize(
    "path, line",
    [
        ("app/settings.py", f'SECRET_KEY = os.environ.get("SECRET_KEY", "{REAL}")'),
        ("app/db.py", 'password = os.getenv("DB_PASSWORD", "hunter2")'),
        ("web/server.js", f'const secret = process.env.SESSION_SECRET || "{REAL}";'),
        ("web/db.ts", f'const pw = process.env["DB_PASSWORD"] ?? "{REAL}";'),
        ("deploy/run.sh", f'psql "postgres://app:${{DB_PASSWORD:-{REAL}}}@db/app"'),
    ],
)
def test_a_real_looking_fallback_secret_in_production_code_fails(path, line):
    hits = scan_text(path, line + "\n")
    assert [(h.rule, h.severity) for h in hits] == [("fallback-secret", "fail")], hits


@pytest.mark.parametrize(
    "line",
    [
        'SECRET_KEY = os.environ.get("SECRET_KEY", "dev")',
        'API_TOKEN = os.getenv("API_TOKEN", "changeme")',
        'const secret = process.env.JWT_SECRET || "secret";',
    ],
)
def test_a_dev_default_fallback_warns(line):
    assert [(h.rule, h.severity) for h in scan_text("app/config.py", line + "\n")] == [("fallback-secret", "warn")]


@pytest.mark.parametrize(
    "path, text",
    [
        ("app/config.py", 'SECRET_KEY = os.environ.get("SECRET_KEY", "")\nDEBUG = os.getenv("DEBUG", "false")\n'),
        ("app/config.py", 'PASSWORD = os.environ["DB_PASSWORD"]\ntoken = ""\napi_key = None\n'),
        (".env", "DB_PASSWORD=\nAPI_KEY=\n"),
        (".env.test", f"DB_PASSWORD={REAL}\nSECRET_KEY=test-{REAL}\n"),
        ("config/app.yml.j2", f"db:\n  password: {{{{ db_password }}}}\n  api_key: {REAL}\n"),
        ("deploy/settings.tmpl", f"SECRET_KEY={REAL}\n"),
        ("config/settings.example.py", f'SECRET_KEY = "{REAL}"\n'),
        ("example.env", f"DB_PASSWORD={REAL}\n"),
        ("config.yml.sample", f"password: {REAL}\n"),
        ("tests/fixtures/users.json", f'{{"password": "{REAL}"}}\n'),
        ("tests/test_login.py", f'client.login(password=os.getenv("TEST_PASSWORD", "{REAL}"))\n'),
        ("compose.yaml", "environment:\n  POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n  TOKEN: ${TOKEN:-}\n"),
        ("README.md", "Set `API_KEY=<your-key>` and `DB_PASSWORD=xxx`.\n"),
    ],
)
def test_placeholders_fixtures_templates_and_empty_values_are_not_secrets(path, text):
    assert [h for h in scan_text(path, text) if h.severity == "fail"] == []


def test_dev_default_fallback_warns_but_the_check_still_credits_no_credentials(make_repo):
    repo = make_repo()
    repo.write("app/config.py", 'import os\n\nSECRET_KEY = os.environ.get("SECRET_KEY", "dev")\n')
    repo.write(".env.test", f"DB_PASSWORD={REAL}\n").commit("config")
    found = by_outcome(run_check("repo.secrets", repo.path))
    assert set(found) == {Outcome.WARN, Outcome.PASS}
    assert "app/config.py:3" in found[Outcome.WARN][0].reason and "'dev'" in found[Outcome.WARN][0].reason


def test_a_fallback_secret_fails_the_check(make_repo):
    repo = make_repo()
    repo.write("app/db.py", 'import os\n\nPASSWORD = os.getenv("DB_PASSWORD", "hunter2")\n').commit("db")
    findings = run_check("repo.secrets", repo.path)
    found = by_outcome(findings)
    assert [f.subject for f in found.get(Outcome.FAIL, [])] == ["app/db.py"]
    assert "hunter2" not in text_of(findings)


def test_a_shallow_clone_never_claims_a_clean_history(make_repo, tmp_path):
    repo = make_repo()
    repo.write("config.py", 'AWS_ACCESS_KEY_ID = "AKIAQ3EGRQ7X5ZJT2MNB"\n').commit("oops")
    repo.write("config.py", "import os\nKEY = os.environ['AWS_SECRET_ACCESS_KEY']\n").commit("read it from the env")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow)], check=True, timeout=60)
    full = run_check("repo.secrets", repo.path)
    assert any(f.outcome is Outcome.WARN and "history" in f.reason for f in full), [f.reason for f in full]
    found = run_check("repo.secrets", shallow)
    assert not any(f.outcome is Outcome.PASS for f in found), [(f.outcome, f.reason) for f in found]
    assert any(f.outcome is Outcome.COULD_NOT_CHECK and "shallow clone" in f.reason for f in found)
