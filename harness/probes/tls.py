"""TLS facts about one endpoint: a verifying handshake (Python ssl) and an sslyze scan.

The handshake answers "does a normal client trust this?" against the system
trust store plus the configured CA bundle, with hostname checking on. sslyze
runs only the scan commands we judge (protocol/cipher suites and certificate
info), never the full battery, and is abandoned at the deadline.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

# Legacy TLS versions a modern OpenSSL can still try: one handshake says whether the server
# accepts the version at all, so sslyze only enumerates suites for versions that are accepted
# (enumerating a refused version costs about a second of rejected handshakes).
PRECHECK = {"TLSv1.0": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1}

PROTOCOL_COMMANDS = {
    "SSLv2": "SSL_2_0_CIPHER_SUITES",
    "SSLv3": "SSL_3_0_CIPHER_SUITES",
    "TLSv1.0": "TLS_1_0_CIPHER_SUITES",
    "TLSv1.1": "TLS_1_1_CIPHER_SUITES",
    "TLSv1.2": "TLS_1_2_CIPHER_SUITES",
    "TLSv1.3": "TLS_1_3_CIPHER_SUITES",
}


@dataclass
class CertFacts:
    subject: str
    issuer: str
    sha256: str
    not_before: str
    not_after: str
    days_left: float
    lifetime_days: float  # not_before to not_after: tells a short-lived certificate from an expiring one
    sans: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Handshake:
    ok: bool
    error: str = ""
    verify_error: str = ""  # set when the certificate (chain, hostname, dates) was refused
    protocol: str = ""
    cipher: str = ""
    leaf: CertFacts | None = None
    chain: list[CertFacts] = field(default_factory=list)  # as sent by the server, leaf first


@dataclass
class TlsScan:
    host: str
    port: int
    server_name: str
    handshake: Handshake
    accepted: dict[str, list[str]] = field(default_factory=dict)  # protocol -> accepted suites (IANA names)
    refused: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # scan command -> why it did not complete
    chain: list[CertFacts] = field(default_factory=list)
    path_validation: dict[str, str] = field(default_factory=dict)  # trust store -> "ok" or error
    duration_s: float = 0.0


def cert_facts(cert: x509.Certificate) -> CertFacts:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = [str(v) for v in ext.get_values_for_type(x509.DNSName)]
        sans += [str(v) for v in ext.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        sans = []
    after = cert.not_valid_after_utc
    return CertFacts(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=after.isoformat(),
        days_left=round((after - dt.datetime.now(dt.UTC)).total_seconds() / 86400, 2),
        lifetime_days=round((after - cert.not_valid_before_utc).total_seconds() / 86400, 2),
        sans=sans,
    )


def hostname_matches(name: str, sans: list[str]) -> bool:
    """RFC 6125 matching on subject alternative names (the common name is ignored, as browsers do)."""
    try:
        ip = ipaddress.ip_address(name)
        return any(_same_ip(ip, s) for s in sans)
    except ValueError:
        pass
    name = name.lower().rstrip(".")
    for san in sans:
        san = san.lower().rstrip(".")
        if san == name:
            return True
        if san.startswith("*.") and "." in name and name.split(".", 1)[1] == san[2:]:
            return True
    return False


def _same_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, san: str) -> bool:
    try:
        return ipaddress.ip_address(san) == ip
    except ValueError:
        return False


def handshake(host: str, port: int, server_name: str, ca_file: str | None, timeout: float) -> Handshake:
    """One verifying TLS handshake, the way a careful client does it."""
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            cipher = tls.cipher()
            chain = _chain(tls)
            return Handshake(
                ok=True,
                protocol=tls.version() or "",
                cipher=cipher[0] if cipher else "",
                leaf=chain[0] if chain else None,
                chain=chain,
            )
    except ssl.SSLCertVerificationError as exc:
        # The verdict stays "not trusted"; a second, explicitly non-verifying handshake only
        # reads the chain the server sends, so the finding can show what was refused.
        return Handshake(
            ok=True, verify_error=exc.verify_message or str(exc), chain=_read_chain(host, port, server_name, timeout)
        )
    except TimeoutError:
        return Handshake(ok=False, error=f"TLS handshake with {host}:{port} did not complete within {timeout:.1f} s")
    except ssl.SSLError as exc:
        return Handshake(ok=False, error=f"TLS handshake with {host}:{port} failed: {exc.reason or exc}")
    except OSError as exc:
        return Handshake(ok=False, error=f"cannot connect to {host}:{port}: {exc.strerror or exc}")


def _chain(sock: ssl.SSLSocket) -> list[CertFacts]:
    # Python 3.11 has the chain on the private _sslobj (public as get_unverified_chain in 3.13).
    obj = getattr(sock, "_sslobj", None)
    certs = obj.get_unverified_chain() if obj is not None and hasattr(obj, "get_unverified_chain") else None
    if not certs:
        der = sock.getpeercert(binary_form=True)
        return [cert_facts(x509.load_der_x509_certificate(der))] if der else []
    return [cert_facts(x509.load_der_x509_certificate(c.public_bytes(2))) for c in certs]  # 2: DER


def _read_chain(host: str, port: int, server_name: str, timeout: float) -> list[CertFacts]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # evidence only: the trust verdict came from the verifying handshake
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            return _chain(tls)
    except (OSError, ssl.SSLError):
        return []


def accepts_version(host: str, port: int, server_name: str, version: ssl.TLSVersion, timeout: float) -> bool | None:
    """Whether the server completes a handshake at exactly `version`, offering every suite; None: no answer."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # a protocol probe, not a trust decision
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = version
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=server_name),
        ):
            return True
    except ssl.SSLError:
        return False
    except OSError:
        return None


def accepts_sslv3(host: str, port: int, timeout: float) -> bool | None:
    """Whether the server answers an SSLv3 ClientHello with an SSLv3 ServerHello; None: no answer.

    Modern OpenSSL cannot speak SSLv3 at all, and sslyze spends a second enumerating refusals;
    one hand-built hello (every suite code 0x0001-0x00ff offered) answers the question.
    """
    import os

    suites = b"".join(i.to_bytes(2, "big") for i in range(1, 256))
    body = b"\x03\x00" + os.urandom(32) + b"\x00" + len(suites).to_bytes(2, "big") + suites + b"\x01\x00"
    hello = b"\x01" + len(body).to_bytes(3, "big") + body
    record = b"\x16\x03\x00" + len(hello).to_bytes(2, "big") + hello
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(record)
            head = b""
            while len(head) < 11:
                chunk = sock.recv(11 - len(head))
                if not chunk:
                    break
                head += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:  # servers without SSLv3 may just drop the connection
        return False
    except OSError:
        return None
    # record type 22 (handshake), handshake type 2 (ServerHello), server_version 3.0
    return len(head) >= 11 and head[0] == 0x16 and head[5] == 0x02 and head[9:11] == b"\x03\x00"


def resolve(host: str, port: int) -> str:
    return str(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0])


def sslyze_scan(scan: TlsScan, ca_file: str | None, timeout: float) -> None:
    """Fill `scan` with accepted protocols/suites and the certificate chain; bounded by `timeout`."""
    done = threading.Event()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = _run_sslyze(scan, ca_file, timeout)
        except Exception as exc:  # reported as a scan error, never a crash of the check
            box["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            done.set()

    threading.Thread(target=work, name="sslyze", daemon=True).start()
    if not done.wait(timeout):
        scan.errors["sslyze"] = f"the scan did not finish within {timeout:.1f} s"
        return
    if "error" in box:
        scan.errors["sslyze"] = box["error"]
        return
    _read_result(scan, box["result"])


def _run_sslyze(scan: TlsScan, ca_file: str | None, timeout: float) -> Any:
    from sslyze import (
        CertificateInfoExtraArgument,
        ScanCommand,
        ScanCommandsExtraArguments,
        Scanner,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
    )

    wanted = [p for p in PROTOCOL_COMMANDS if p not in scan.refused]
    commands = {getattr(ScanCommand, PROTOCOL_COMMANDS[p]) for p in wanted}
    if not scan.chain:  # the handshake could not read the chain: let sslyze fetch it
        commands.add(ScanCommand.CERTIFICATE_INFO)
    with_ca = ca_file if ca_file and ScanCommand.CERTIFICATE_INFO in commands else None
    extra = ScanCommandsExtraArguments(
        certificate_info=CertificateInfoExtraArgument(custom_ca_file=Path(with_ca)) if with_ca else None
    )
    request = ServerScanRequest(
        server_location=ServerNetworkLocation(scan.server_name, scan.port, ip_address=resolve(scan.host, scan.port)),
        network_configuration=ServerNetworkConfiguration(
            tls_server_name_indication=scan.server_name,
            network_timeout=max(1, min(5, int(timeout))),
            network_max_retries=1,
        ),
        scan_commands=commands,
        scan_commands_extra_arguments=extra,
    )
    scanner = Scanner(per_server_concurrent_connections_limit=10)
    scanner.queue_scans([request])
    return next(iter(scanner.get_results()))


def _read_result(scan: TlsScan, result: Any) -> None:
    from sslyze import ScanCommandAttemptStatusEnum, ServerScanStatusEnum

    if result.scan_status != ServerScanStatusEnum.COMPLETED:
        trace = result.connectivity_error_trace
        scan.errors["connectivity"] = str(trace).splitlines()[-1] if trace else "sslyze could not connect"
        return
    attempts = result.scan_result
    for proto, command in PROTOCOL_COMMANDS.items():
        if proto in scan.refused:
            continue
        attempt = getattr(attempts, command.lower())
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
            scan.errors[proto] = str(attempt.error_reason or "not completed")
            continue
        suites = [s.cipher_suite.name for s in attempt.result.accepted_cipher_suites]
        if suites:
            scan.accepted[proto] = suites
        else:
            scan.refused.append(proto)
    info = attempts.certificate_info
    if scan.chain:
        return
    if info.status != ScanCommandAttemptStatusEnum.COMPLETED or not info.result.certificate_deployments:
        scan.errors["certificate_info"] = str(info.error_reason or "no certificate received")
        return
    deployment = info.result.certificate_deployments[0]
    scan.chain = [cert_facts(c) for c in deployment.received_certificate_chain]
    for pv in deployment.path_validation_results:
        scan.path_validation[pv.trust_store.name] = "ok" if pv.was_validation_successful else str(pv.validation_error)


def probe(host: str, port: int, server_name: str, ca_file: str | None, timeout: float) -> TlsScan:
    """Handshake first (fast, and it stops a dead endpoint early), then the sslyze scan."""
    t0 = time.monotonic()
    hs = handshake(host, port, server_name, ca_file, min(timeout, 10.0))
    scan = TlsScan(host=host, port=port, server_name=server_name, handshake=hs, chain=list(hs.chain))
    if hs.ok:
        for proto, version in PRECHECK.items():
            if accepts_version(host, port, server_name, version, min(timeout, 5.0)) is False:
                scan.refused.append(proto)
        if accepts_sslv3(host, port, min(timeout, 5.0)) is False:
            scan.refused.append("SSLv3")
        sslyze_scan(scan, ca_file, max(1.0, timeout - (time.monotonic() - t0)))
    scan.duration_s = time.monotonic() - t0
    return scan
