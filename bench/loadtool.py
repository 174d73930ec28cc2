"""wrk (Debian's native HTTP load tool) as the benches' client: percentiles from its own histogram, and its CPU.

A Python client spends more CPU per request than the platform spends on a cheap route, so on a shared 2-core
machine it would measure mostly itself; wrk costs a small fraction of a millisecond per request. Its --latency
table has no 95th percentile, so a Lua `done` hook prints the ones the targets use. wrk does not verify TLS
certificates: it measures a loopback endpoint the bench deployed itself.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

REPORT = """done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d socket_errors=%d status_errors=%d p50=%.3f p95=%.3f p99=%.3f seconds=%.3f\\n",
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.duration / 1e6))
end
"""
LINE = re.compile(r"^WRK (.*)$", re.MULTILINE)
# Connect to another address than the URL's host, which stays the TLS server name and the Host header.
CONNECT = """local addrs = wrk.lookup("{host}", "{port}")
function setup(thread)
  thread.addr = addrs[1]
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    socket_errors: int
    status_errors: int  # answers other than 2xx/3xx
    p50_ms: float
    p95_ms: float
    p99_ms: float
    seconds: float
    client_cpu_s: float  # wrk's own user + system CPU

    @property
    def client_ms_per_request(self) -> float:
        return self.client_cpu_s * 1000 / self.requests if self.requests else 0.0


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str, seconds: int = 10, clients: int = 50, threads: int = 2, connect: tuple[str, int] | None = None
) -> WrkResult:
    """One wrk run of `clients` keep-alive connections for `seconds`; `connect` (host, port) overrides the address."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", encoding="utf-8") as script:
        script.write(REPORT + (CONNECT.format(host=connect[0], port=connect[1]) if connect else ""))
        script.flush()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = LINE.search(out)
    if match is None:
        raise RuntimeError(f"wrk printed no summary for {url}: {out[-500:]}")
    values = dict(pair.split("=", 1) for pair in match.group(1).split())
    return WrkResult(
        requests=int(values["requests"]),
        socket_errors=int(values["socket_errors"]),
        status_errors=int(values["status_errors"]),
        p50_ms=float(values["p50"]),
        p95_ms=float(values["p95"]),
        p99_ms=float(values["p99"]),
        seconds=float(values["seconds"]),
        client_cpu_s=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )
