"""A signed evidence bundle: the reports of a run, a manifest of SHA-256 digests, and an in-toto
attestation statement in a DSSE envelope signed with an Ed25519 key, in one tar archive.

`verify` needs only the archive and the public key (offline) and fails, with one line saying why,
on any edited, added or removed file, an edited manifest or statement, or a bad signature.
The statement and envelope formats come from in-toto-attestation and securesystemslib.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from google.protobuf import json_format
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from harness import epa_grade
from harness.fsutil import write_atomic
from harness.reports import FILE_FORMATS

RUN_FILE = "harness-report.json"
MANIFEST = "manifest.json"
ENVELOPE = "attestation.dsse.json"
PREFIX = "reports/"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://harness.invalid/evidence-bundle/v1"  # harness's own predicate, no registry behind it
MAX_MEMBER_BYTES = 300_000_000
MAX_MEMBERS = 200


class BundleError(Exception):
    """A bundle cannot be built, or does not verify (the message is the one-line reason)."""


def keygen(prefix: Path) -> tuple[Path, Path]:
    """Write PREFIX.key (PEM PKCS#8, owner-only) and PREFIX.pub (PEM); refuses to overwrite."""
    key_path, pub_path = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")
    for path in (key_path, pub_path):
        if path.exists():
            raise BundleError(f"{path}: already exists; not overwritten")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_atomic(pub_path, public.decode("ascii"))
    pub_path.chmod(0o644)
    return key_path, pub_path


def _read_key(path: Path) -> bytes:
    try:
        return path.read_bytes()[:100_000]
    except OSError as exc:
        raise BundleError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_signer(path: Path) -> CryptoSigner:
    try:
        key = serialization.load_pem_private_key(_read_key(path), password=None)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"{path}: not an Ed25519 private key (make one with `harness keygen`)")
    return CryptoSigner(key)


def load_public(path: Path) -> SSlibKey:
    try:
        key = serialization.load_pem_public_key(_read_key(path))
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(f"{path}: not an Ed25519 public key")
    return SSlibKey.from_crypto(key)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def statement(doc: dict[str, Any], digests: dict[str, str]) -> dict[str, Any]:
    """The in-toto statement: subjects are the verified commit and every report file."""
    pack = doc.get("evidence_pack") or {}
    target = pack.get("target") or {}
    subjects = []
    if target.get("commit"):
        where = target.get("remote") or doc.get("run", {}).get("target", {}).get("name", "")
        subjects.append(ResourceDescriptor(name=f"git+{where}", digest={"gitCommit": target["commit"]}).pb)
    subjects += [ResourceDescriptor(name=name, digest={"sha256": d}).pb for name, d in sorted(digests.items())]
    grade, run = doc.get("grade", {}), doc.get("run", {})
    am2 = str(run.get("am2") or "")
    predicate = {
        "harness_version": str(doc.get("tool", {}).get("version", "")),
        "catalogue_version": str(doc.get("catalogue", {}).get("version", "")),
        "report_schema_version": str(doc.get("schema_version", "")),
        "run": {k: run.get(k) for k in ("started", "finished", "complete", "scope", "gate")},
        "grade": {"am1": grade.get("value"), "provisional": grade.get("provisional"), "summary": grade.get("summary")},
        "am2": am2,
        "overall": epa_grade.overall(str(grade.get("value", "")), am2) or "",
        "submission": (pack.get("prerequisites") or {}).get("summary", ""),
    }
    stmt = Statement(subjects, PREDICATE_TYPE, predicate)
    stmt.validate()
    return dict(json_format.MessageToDict(stmt.pb))


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644  # reproducible: no clock, no owner
    tar.addfile(info, io.BytesIO(data))


def build(run_dir: Path, signer: CryptoSigner, out: Path) -> Path:
    """Bundle every report file of RUN_DIR (its harness-report.json is required)."""
    if not (run_dir / RUN_FILE).is_file():
        raise BundleError(f"{run_dir}: no {RUN_FILE} (run `harness verify --format json --out {run_dir}` first)")
    # The report files harness writes, and only those: never an earlier bundle or a stray file.
    names = sorted(str(importlib.import_module(m).FILENAME) for m in FILE_FORMATS.values())
    files = {name: (run_dir / name).read_bytes() for name in names if (run_dir / name).is_file()}
    try:
        doc = json.loads(files[RUN_FILE])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{run_dir / RUN_FILE}: not a harness JSON report: {exc}") from None
    digests = {PREFIX + name: sha256(data) for name, data in files.items()}
    manifest = json.dumps({"algorithm": "sha256", "files": digests}, indent=2, sort_keys=True).encode()
    digests[MANIFEST] = sha256(manifest)
    payload = json.dumps(statement(doc, digests), sort_keys=True, separators=(",", ":")).encode()
    envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    envelope.sign(signer)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            _add(tar, PREFIX + name, data)
        _add(tar, MANIFEST, manifest)
        _add(tar, ENVELOPE, json.dumps(envelope.to_dict(), indent=2, sort_keys=True).encode())
    write_atomic(out, buf.getvalue())
    return out


@dataclass
class Verified:
    files: int
    commit: str
    am1: str


def _members(path: Path) -> dict[str, bytes]:
    """The archive's regular files, read into memory (nothing is extracted to disk)."""
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:") as tar:
            for i, member in enumerate(tar):
                if i >= MAX_MEMBERS:
                    raise BundleError(f"{path}: more than {MAX_MEMBERS} members")
                if not member.isfile() or member.size > MAX_MEMBER_BYTES:
                    raise BundleError(f"{path}: member {member.name!r} is not a regular file of a sane size")
                if member.name in out:
                    raise BundleError(f"{path}: member {member.name!r} appears twice")
                fh = tar.extractfile(member)
                out[member.name] = fh.read() if fh else b""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundleError(f"{path}: not a readable bundle archive: {exc}") from None
    return out


def verify(path: Path, key: SSlibKey) -> Verified:
    members = _members(path)
    raw = members.pop(ENVELOPE, None)
    if raw is None:
        raise BundleError(f"{path}: no {ENVELOPE}: not a signed bundle")
    try:
        envelope = Envelope.from_dict(json.loads(raw))
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{ENVELOPE}: not a DSSE envelope: {exc}") from None
    try:
        envelope.verify([key], 1)
    except Exception as exc:  # securesystemslib raises VerificationError and others; all mean "not signed by key"
        raise BundleError(f"{ENVELOPE}: signature does not verify with the given key ({type(exc).__name__})") from None
    if envelope.payload_type != PAYLOAD_TYPE:
        raise BundleError(f"{ENVELOPE}: payload type {envelope.payload_type!r} is not an in-toto statement")
    try:
        stmt = json.loads(envelope.payload)
        subjects = {s["name"]: s["digest"] for s in stmt["subject"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{ENVELOPE}: the signed statement is malformed: {exc}") from None
    signed = {name: d["sha256"] for name, d in subjects.items() if "sha256" in d}
    for name in sorted(set(members) | set(signed)):
        if name not in members:
            raise BundleError(f"{name}: signed in the statement but missing from the bundle")
        if name not in signed:
            raise BundleError(f"{name}: in the bundle but not signed in the statement")
        if sha256(members[name]) != signed[name]:
            raise BundleError(f"{name}: SHA-256 differs from the signed statement: the file was edited")
    try:
        listed = json.loads(members[MANIFEST])["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{MANIFEST}: malformed: {exc}") from None
    if listed != {n: d for n, d in signed.items() if n != MANIFEST}:
        raise BundleError(f"{MANIFEST}: does not list exactly the signed report files")
    commit = next((d["gitCommit"] for d in subjects.values() if "gitCommit" in d), "")
    am1 = str(stmt.get("predicate", {}).get("grade", {}).get("am1", ""))
    return Verified(files=len(members), commit=commit, am1=am1)
