"""The HEAD secret scan in worker processes finds what the in-process scan finds, in the same order.

Every key and password in this file is fake, for tests only.
"""

from __future__ import annotations

import pytest

from harness import redact
from harness.model import Outcome
from harness.probes import secret_pool
from tests.conftest import run_check

GH_TOKEN = "ghp_" + "Wq8Tr2LmZ0xW4vYk9PaB7nC3dE5fG1hJ6sU8o"  # split so scanners of this repository skip it
AWS_ID = "AKIA" + "Q7ZR4MXW2BNL5TPE"
PASSWORD = "Vb4" + "nQ8rT2kLp9Zs"


def _tree(repo) -> None:
    for i in range(30):  # several batches, the secrets spread across them
        repo.write(f"venv/lib/site-packages/pkg{i:02}/mod.py", "x = 1\n" * 60_000)
    repo.write("venv/pyvenv.cfg", "home = /usr/bin\n")
    repo.write("venv/lib/site-packages/pkg07/creds.py", f'KEY = "{AWS_ID}"\npassword = "{PASSWORD}"\n')
    repo.write("app/settings.py", f'GITHUB_TOKEN = "{GH_TOKEN}"\ndb_password = "{PASSWORD}"\n')
    repo.write("jenkins_home/cfg.xml", f"<token>{GH_TOKEN[:-1]}X</token>\n").commit("tree")


def _outcomes(findings) -> list[tuple[Outcome, str, str]]:
    return [(f.outcome, f.subject or "", f.reason) for f in findings]


def test_the_pool_finds_the_same_secrets_in_the_same_order(make_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo()
    _tree(repo)
    monkeypatch.setattr(secret_pool, "POOL_MIN_BYTES", 10**12)
    alone = run_check("repo.secrets", repo.path)
    monkeypatch.setattr(secret_pool, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(secret_pool, "BATCH_BYTES", 200_000)
    pooled = run_check("repo.secrets", repo.path)
    assert _outcomes(pooled) == _outcomes(alone)
    fails = [f.subject for f in pooled if f.outcome is Outcome.FAIL]
    assert "app/settings.py" in fails and "venv/lib/site-packages/pkg07/creds.py" in fails
    # in the vendored venv only the token format counts, not the password assignment
    assert not any(PASSWORD in f.reason for f in pooled)


def test_a_value_found_by_a_worker_is_masked_in_the_verifying_process(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "ghp_" + "Zx9Lm2Qr7Tw4Yp8Kb3Nc6Vd1Hf5Gj0Sa2Ue4i"
    items = [(f"src/m{i}.py", b"a = 1\n" * 20_000, False) for i in range(8)]
    items.insert(5, ("src/conf.py", f'TOKEN = "{token}"\n'.encode(), False))
    monkeypatch.setattr(secret_pool, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(secret_pool, "BATCH_BYTES", 100_000)
    assert token not in redact._known  # found only in a worker below
    hits = list(secret_pool.scan_all(iter(items), 10**9, lambda: None))
    assert [len(h) for h in hits] == [0] * 5 + [1] + [0] * 3  # one result per text, in order
    assert hits[5][0].path == "src/conf.py"
    assert token not in redact.text(f"leaked {token}")
