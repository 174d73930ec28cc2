"""The signed evidence bundle: an untouched bundle verifies offline; any edit fails with a one-line reason."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from harness.cli import main


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real run of a real repository, bundled and signed with a fresh key."""
    from tests.conftest import RepoBuilder

    base = tmp_path_factory.mktemp("bundle")
    repo = RepoBuilder(base / "repo")
    repo.write(".gitignore", ".env\n").write("app.py", "print(1)\n").commit("init")
    run = base / "run"
    args = ["verify", "--repo", str(repo.path), "--only", "repo.gitignore", "--out", str(run)]
    assert main([*args, "--format", "json", "--format", "html", "--format", "signoff"]) in (0, 1)
    assert main(["keygen", "--out", str(base / "k")]) == 0
    assert main(["bundle", str(run), "--key", str(base / "k.key"), "--out", str(base / "b.tar")]) == 0
    return {"bundle": base / "b.tar", "pub": base / "k.pub", "key": base / "k.key", "base": base, "run": run}


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]


def repack(files: dict[str, bytes], out: Path) -> Path:
    with tarfile.open(out, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def verify(bundle: Path, pub: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["bundle", "verify", str(bundle), "--key", str(pub)])
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).strip()


def flip(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0x01
    return bytes(b)


def test_untouched_bundle_verifies(signed, capsys):
    code, out = verify(signed["bundle"], signed["pub"], capsys)
    assert code == 0 and out.startswith("bundle verifies: 4 files signed, commit ")
    names = set(members(signed["bundle"]))
    assert names == {
        "reports/harness-report.json",
        "reports/harness-report.html",
        "reports/harness-signoff.html",
        "manifest.json",
        "attestation.dsse.json",
    }


def test_rebundling_a_run_folder_takes_only_the_reports(signed, capsys, tmp_path):
    (signed["run"] / "notes.txt").write_text("not a report")
    again = signed["run"] / "harness-bundle.tar"
    assert main(["bundle", str(signed["run"]), "--key", str(signed["key"])]) == 0
    assert main(["bundle", str(signed["run"]), "--key", str(signed["key"])]) == 0  # the first bundle is not taken
    assert set(members(again)) == set(members(signed["bundle"]))


def test_statement_is_in_toto_v1_with_the_commit_and_every_file(signed):
    import base64

    envelope = json.loads(members(signed["bundle"])["attestation.dsse.json"])
    assert envelope["payloadType"] == "application/vnd.in-toto+json" and len(envelope["signatures"]) == 1
    stmt = json.loads(base64.b64decode(envelope["payload"]))
    assert stmt["_type"] == "https://in-toto.io/Statement/v1"
    doc = json.loads((signed["run"] / "harness-report.json").read_text())
    commit = doc["evidence_pack"]["target"]["commit"]
    assert {"gitCommit": commit} in [s["digest"] for s in stmt["subject"]]
    assert stmt["predicate"]["grade"]["am1"] == doc["grade"]["value"]


@pytest.mark.parametrize(
    "name",
    [
        "reports/harness-report.json",
        "reports/harness-report.html",
        "reports/harness-signoff.html",
        "manifest.json",
        "attestation.dsse.json",
    ],
)
def test_one_byte_edited_in_any_member_fails(signed, name, capsys, tmp_path):
    files = members(signed["bundle"])
    data = files[name]
    # In the envelope, edit a byte of the signature itself; elsewhere, a byte in the middle.
    at = data.index(b'"sig": "') + 12 if name == "attestation.dsse.json" else len(data) // 2
    files[name] = flip(data, at)
    code, out = verify(repack(files, tmp_path / "edited.tar"), signed["pub"], capsys)
    assert code == 1 and "\n" not in out and "does NOT verify" in out
    assert name in out or "attestation.dsse.json" in out


def test_a_byte_flipped_in_the_archive_itself_fails(signed, capsys, tmp_path):
    raw = signed["bundle"].read_bytes()
    for at in (100, 512 + 40, len(raw) // 2):  # a header name, the first file's content, somewhere in the middle
        bad = tmp_path / f"flip{at}.tar"
        bad.write_bytes(flip(raw, at))
        code, out = verify(bad, signed["pub"], capsys)
        assert code == 1 and "\n" not in out, (at, out)


def test_added_or_removed_files_and_a_foreign_key_fail(signed, capsys, tmp_path):
    files = members(signed["bundle"])
    extra = repack({**files, "reports/extra.txt": b"x"}, tmp_path / "extra.tar")
    assert verify(extra, signed["pub"], capsys) == (
        1,
        "harness: bundle does NOT verify: reports/extra.txt: in the bundle but not signed in the statement",
    )
    fewer = repack({k: v for k, v in files.items() if k != "reports/harness-report.html"}, tmp_path / "fewer.tar")
    code, out = verify(fewer, signed["pub"], capsys)
    assert code == 1 and "missing from the bundle" in out
    assert main(["keygen", "--out", str(tmp_path / "other")]) == 0
    code, out = verify(signed["bundle"], tmp_path / "other.pub", capsys)
    assert code == 1 and "signature does not verify" in out


def test_bad_input_gives_one_line_errors(signed, capsys, tmp_path):
    assert main(["keygen", "--out", str(signed["base"] / "k")]) == 2  # never overwrites a key
    assert "already exists" in capsys.readouterr().err
    (tmp_path / "junk.tar").write_bytes(b"not a tar")
    code, out = verify(tmp_path / "junk.tar", signed["pub"], capsys)
    assert code == 1 and "not a readable bundle archive" in out
    assert main(["bundle", str(tmp_path), "--key", str(signed["key"])]) == 2  # no run document there
    assert main(["bundle", "verify", str(signed["bundle"]), "--key", str(signed["key"])]) == 2  # a private key
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err
    assert oct((signed["base"] / "k.key").stat().st_mode & 0o777) == "0o600"
