"""The HEAD secret scan in worker processes finds what the in-process scan finds, in the same order.

Every key and password in this file is fake, for tests only.
"""

from __future__ import annotations

import pytest

from harness import redact
from harness.model import Outcome
from harness.probes import repository, secret_pool
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


def _pooled(monkeypatch: pytest.MonkeyPatch, batch_bytes: int = 200_000) -> None:
    monkeypatch.setattr(secret_pool, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(secret_pool, "BATCH_BYTES", batch_bytes)


def test_a_value_found_by_a_worker_is_masked_in_the_verifying_process(make_repo, monkeypatch) -> None:
    token = "ghp_" + "Zx9Lm2Qr7Tw4Yp8Kb3Nc6Vd1Hf5Gj0Sa2Ue4i"
    repo = make_repo()
    for i in range(8):
        repo.write(f"src/m{i}.py", f"a = {i}\n" * 20_000)
    repo.write("src/m4z.py", f'TOKEN = "{token}"\n').commit("tree")
    _pooled(monkeypatch, 100_000)
    snap = repository.snapshot(repo.path)
    files = [(f, False) for f in snap.files]
    assert token not in redact._known  # found only in a worker below
    results = [r for _, _, r in secret_pool.scan_files(snap, iter(files), 10**9, 10**9, lambda: None)]
    paths = [f.path for f, _ in files]
    assert [len(r) for r in results] == [0 if p != "src/m4z.py" else 1 for p in paths]  # one per file, in order
    assert results[paths.index("src/m4z.py")][0].path == "src/m4z.py"
    assert token not in redact.text(f"leaked {token}")


def test_on_a_large_tree_the_workers_read_the_blobs_not_the_verifying_process(make_repo, monkeypatch) -> None:
    # Reading hundreds of MB through pipes in the verifying process gives up the GIL at every read and waits
    # behind the other checks' threads to get it back: the workers read from git themselves.
    repo = make_repo()
    _tree(repo)
    _pooled(monkeypatch)
    read: list[str] = []
    read_bytes, blobs = repository.RepoSnapshot.read_bytes, repository.RepoSnapshot.blobs

    def counted_read(self, path, limit=None):
        read.append(path)
        return read_bytes(self, path, limit)

    def counted_blobs(self, files, limit=None):
        read.extend(f.path for f in files)
        return blobs(self, files, limit)

    monkeypatch.setattr(repository.RepoSnapshot, "read_bytes", counted_read)
    monkeypatch.setattr(repository.RepoSnapshot, "blobs", counted_blobs)
    findings = run_check("repo.secrets", repo.path)
    assert not [p for p in read if p.startswith("venv/lib/site-packages/pkg")]
    fails = [f.subject for f in findings if f.outcome is Outcome.FAIL]
    assert "venv/lib/site-packages/pkg07/creds.py" in fails and "app/settings.py" in fails


def test_a_missing_or_damaged_blob_is_reported_unread_by_the_workers_as_in_process(make_repo, monkeypatch) -> None:
    # A blob absent from the object store (a partial mirror) or one git cannot inflate: git says "missing" for
    # the first and stops at the second; the files after it in the batch are still read and scanned.
    repo = make_repo()
    _tree(repo)
    repo.write("venv/lib/site-packages/pkg03/gone.py", "absent = 1\n")
    repo.write("venv/lib/site-packages/pkg05/bad.py", "damaged = 1\n").commit("two more")
    for path, damage in (("venv/lib/site-packages/pkg03/gone.py", None), ("venv/lib/site-packages/pkg05/bad.py", b"x")):
        oid = repo.git("rev-parse", f"HEAD:{path}").strip()
        loose = repo.path / ".git" / "objects" / oid[:2] / oid[2:]
        loose.chmod(0o644)
        if damage is None:
            loose.unlink()
        else:
            loose.write_bytes(damage)
    monkeypatch.setattr(secret_pool, "POOL_MIN_BYTES", 10**12)
    alone = run_check("repo.secrets", repo.path)
    _pooled(monkeypatch, 1_000_000)
    pooled = run_check("repo.secrets", repo.path)
    assert _outcomes(pooled) == _outcomes(alone)
    unread = next(e for f in pooled for e in f.evidence if e.kind == "metric").data["not_read"]
    assert "venv/lib/site-packages/pkg03/gone.py (unreadable)" in unread
    assert any(u.startswith("venv/lib/site-packages/pkg05/bad.py") for u in unread)
    assert "venv/lib/site-packages/pkg07/creds.py" in [f.subject for f in pooled if f.outcome is Outcome.FAIL]
