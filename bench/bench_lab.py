"""Lab benchmarks: bring-up (cold and warm), push-to-deploy lead time, failures during a redeploy, idle CPU,
p95 latency and CPU per request through TLS.

Run from the repository root, as root, with a Docker engine: `python bench/bench_lab.py [--cold] [--append]`.
--cold removes the lab's containers, volumes, images and the base image first (a bring-up from nothing
but the Debian mirror and the package registries). `--latency` measures only the running lab's idle CPU and
its latency under 50 wrk clients (Debian's wrk: a native client, its CPU reported beside the figures, as is
the CPU each part of the platform spent per request, which holds on a shared machine where wall time does not).
`--direct` also measures at Caddy's bridge address,
where clients from other hosts arrive through iptables DNAT, without the docker-proxy that relays loopback clients;
both figures are reported. The engine's own processes on the path (docker-proxy; dockerd, containerd and the shims
carrying the containers' log lines) are reported beside the containers' CPU, as `cpu_ms_path` in all.
`--redeploys N [--reads-only] [--retry-closed]` only counts failed requests over N redeploys under load.
Exits 1 if a figure misses its target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import loadtool  # noqa: E402 - bench/ is on sys.path when a script in it runs

from harness.lab.settings import LAB, Paths  # noqa: E402

BASE = "https://localhost:8443"
TARGETS = {
    "cold_s": 300.0,
    "warm_s": 60.0,
    "lead_time_s": 60.0,
    "redeploy_failures": 0,
    "p95_ms": 50.0,
    "p95_api_ms": 100.0,
    "idle_app_cpu_pct": 2.0,
    "api_server_cpu_ms_per_request": 1.55,  # half the 3.1 ms of issue 14
}
CMD_TIMEOUT_S = 1200


def harness(*args: str) -> float:
    """Run a harness command; returns its wall time."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "harness.cli", *args], check=True, timeout=CMD_TIMEOUT_S, cwd=REPO)
    return time.monotonic() - started


def session(ca: Path) -> requests.Session:
    s = requests.Session()
    s.verify = str(ca)
    adapter = requests.adapters.HTTPAdapter(pool_connections=64, pool_maxsize=64)
    s.mount("https://", adapter)
    return s


@dataclass
class Sample:
    ok: int = 0
    failed: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retried: int = 0  # GETs sent again after the proxy closed their kept-alive connection unanswered
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, ok: bool, ms: float, error: str = "") -> None:
        with self.lock:
            self.latencies_ms.append(ms)
            if ok:
                self.ok += 1
            else:
                self.failed += 1
                self.errors.append(error)

    def p95(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[94] if len(self.latencies_ms) > 1 else 0.0


RETRY_CLOSED = False  # --retry-closed
CLOSED = ("RemoteDisconnected", "ConnectionResetError", "BrokenPipeError")


def one(s: requests.Session, path: str, sample: Sample, write: bool = False) -> None:
    started = time.perf_counter()
    try:
        # verify= on each call: an environment CA bundle would otherwise win over the session's.
        if write:
            resp = s.post(BASE + path, json={"title": "bench"}, timeout=(3, 15), verify=s.verify)
        else:
            try:
                resp = s.get(BASE + path, timeout=(3, 15), verify=s.verify)
            except requests.ConnectionError as exc:
                # As browsers, curl and Go's client do (RFC 9112, 9.3.1): an idempotent request whose kept-alive
                # connection the server closed without answering is sent again, once, on a new connection.
                if not RETRY_CLOSED or not cause(exc).endswith(CLOSED):
                    raise
                with sample.lock:
                    sample.retried += 1
                resp = s.get(BASE + path, timeout=(3, 15), verify=s.verify)
        sample.record(resp.status_code in (200, 201), (time.perf_counter() - started) * 1000, str(resp.status_code))
    except requests.RequestException as exc:
        sample.record(False, (time.perf_counter() - started) * 1000, cause(exc))


def cause(exc: BaseException) -> str:
    """The exception and its innermost cause (`ConnectionError: RemoteDisconnected`): what failed, not just where."""
    inner: BaseException = exc
    for _ in range(10):  # bounded: a chain may loop
        nxt = (
            inner.__context__ or inner.__cause__ or next((a for a in inner.args if isinstance(a, BaseException)), None)
        )
        if nxt is None:
            break
        inner = nxt
    return type(exc).__name__ + (f": {type(inner).__name__}" if inner is not exc else "")


def paced(
    s: requests.Session, path: str, rate: float, stop: threading.Event, minimum: int, write_every: int = 5
) -> Sample:
    """Requests at `rate` per second (one in `write_every` a write) until `stop` is set and `minimum` were sent."""
    sample = Sample()
    with ThreadPoolExecutor(max_workers=32) as pool:
        sent, started = 0, time.monotonic()
        while not stop.is_set() or sent < minimum:
            pool.submit(one, s, path, sample, sent % write_every == 0)
            sent += 1
            time.sleep(max(0.0, started + sent / rate - time.monotonic()))
    return sample


def during_redeploy(ca: Path, rate: float, minimum: int) -> tuple[Sample, float]:
    s, stop = session(ca), threading.Event()
    result: list[Sample] = []
    worker = threading.Thread(target=lambda: result.append(paced(s, "/api/tasks", rate, stop, minimum)))
    worker.start()
    time.sleep(2)
    took = harness("lab", "redeploy")
    stop.set()
    worker.join(timeout=600)
    return result[0], took


def many_redeploys(ca: Path, rate: float, redeploys: int, reads_only: bool = False) -> tuple[Sample, float]:
    """`redeploys` redeploys back to back under paced load (one in five a write unless `reads_only`)."""
    s, stop = session(ca), threading.Event()
    result: list[Sample] = []
    every = 10**9 if reads_only else 5
    worker = threading.Thread(target=lambda: result.append(paced(s, "/api/tasks", rate, stop, 0, every)))
    worker.start()
    time.sleep(2)
    started = time.monotonic()
    for _ in range(redeploys):
        harness("lab", "redeploy")
    took = time.monotonic() - started
    time.sleep(2)
    stop.set()
    worker.join(timeout=600)
    return result[0], took


def container_cpu_s() -> dict[str, float]:
    """CPU seconds used so far by the lab's running containers, summed by role (the engine's cgroup counters)."""
    import docker

    out: dict[str, float] = {}
    for container in docker.from_env(timeout=60).containers.list(filters={"label": "com.harness.lab"}):
        role = container.labels.get("com.harness.lab.role", "?")
        usage = container.stats(stream=False, one_shot=True)["cpu_stats"]["cpu_usage"]["total_usage"]
        out[role] = out.get(role, 0.0) + usage / 1e9
    return out


# Host processes on the path that no container's counters include: docker-proxy relays each loopback connection
# into Caddy's container (clients from other hosts arrive through iptables DNAT instead), and the shims, containerd
# and dockerd carry every log line the containers write to their stdout into the engine's log files.
ENGINE_PROCESSES = {"docker-proxy": "docker-proxy", "dockerd": "engine", "containerd": "engine"}
SHIM = "containerd-shim"  # containerd-shim-runc-v2, cut to 15 characters in /proc/PID/stat
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def host_cpu_s() -> dict[str, float]:
    """CPU seconds used so far by the engine's own processes on this host, by part ("docker-proxy", "engine")."""
    out = {"docker-proxy": 0.0, "engine": 0.0}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:  # gone since the listing
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        part = "engine" if name.startswith(SHIM) else ENGINE_PROCESSES.get(name)
        if part:
            fields = stat[stat.rfind(")") + 2 :].split()
            out[part] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    return out


def caddy_address() -> tuple[str, int]:
    """Caddy's address on the lab's front network: what iptables DNAT delivers remote clients to."""
    import docker

    networks = docker.from_env(timeout=60).containers.get(f"{LAB}-caddy").attrs["NetworkSettings"]["Networks"]
    return next(n["IPAddress"] for n in networks.values() if n.get("IPAddress")), 8443  # its HTTPS_PORT inside


def through_tls(
    path: str, seconds: int = 10, clients: int = 50, connect: tuple[str, int] | None = None
) -> dict[str, float]:
    """wrk through Caddy and TLS: percentiles, the client's CPU and each role's CPU per request.

    `connect` sends wrk's connections to that address (still named localhost for TLS) instead of the published
    loopback port, so docker-proxy is not on the path."""
    loadtool.run(BASE + path, 2, clients, connect=connect)  # warm connections, pools and caches
    before, host_before = container_cpu_s(), host_cpu_s()
    result = loadtool.run(BASE + path, seconds, clients, connect=connect)
    host_after, after = host_cpu_s(), container_cpu_s()  # this order: dockerd's work on the stats is not counted
    n = max(1, result.requests)
    per_role = {
        f"cpu_ms_{role}": (after[role] - before.get(role, 0.0)) * 1000 / n for role in ("app", "caddy", "postgres")
    }
    per_host = {f"cpu_ms_{part}": (host_after[part] - host_before[part]) * 1000 / n for part in host_after}
    return {
        "requests": result.requests,
        "rps": result.requests / result.seconds,
        "errors": result.socket_errors + result.status_errors,
        "p50_ms": result.p50_ms,
        "p95_ms": result.p95_ms,
        "p99_ms": result.p99_ms,
        "cpu_ms_client_wrk": result.client_ms_per_request,
        **per_role,
        "cpu_ms_server": sum(per_role.values()),
        **per_host,
        # Everything on the request's path but the client: the server's containers and the engine's processes.
        "cpu_ms_path": sum(per_role.values()) + sum(per_host.values()),
    }


def idle_app_cpu_pct(seconds: float = 60) -> float:
    """The app instances' CPU together, in % of one core, over `seconds` with no traffic."""
    before = container_cpu_s()
    time.sleep(seconds)
    return (container_cpu_s()["app"] - before["app"]) * 100 / seconds


def lead_time(paths: Paths, ca: Path, timeout_s: float = 300) -> float:
    """Commit a canary in a clone of the lab's remote, push it, and time until /version reports it."""
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "c"
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run([*git, "clone", "-q", str(paths.remote), str(clone)], check=True, timeout=60)
        (clone / ".harness-canary").write_text(dt.datetime.now(dt.UTC).isoformat(), encoding="utf-8")
        subprocess.run([*git, "-C", str(clone), "add", ".harness-canary"], check=True, timeout=60)
        subprocess.run([*git, "-C", str(clone), "commit", "-qm", "bench canary"], check=True, timeout=60)
        sha = subprocess.run(
            ["git", "-C", str(clone), "rev-parse", "HEAD"], check=True, capture_output=True, text=True, timeout=60
        ).stdout.strip()
        started = time.monotonic()
        subprocess.run([*git, "-C", str(clone), "push", "-q", "origin", "HEAD:main"], check=True, timeout=120)
    while time.monotonic() - started < timeout_s:
        try:
            if requests.get(BASE + "/version", verify=str(ca), timeout=5).json().get("commit") == sha:
                return time.monotonic() - started
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{sha[:12]} not live after {timeout_s:.0f} s")


def cold_reset() -> None:
    import docker

    harness("lab", "down", "--volumes", "--images")
    client = docker.from_env(timeout=120)
    for image in client.images.list(filters={"label": "com.harness.lab.role=base"}):
        client.images.remove(image.id, force=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold", action="store_true", help="start from no images at all (removes the lab's)")
    parser.add_argument("--append", action="store_true", help="append the figures to bench/README.md")
    parser.add_argument("--rate", type=float, default=25.0, help="requests/s during the redeploy")
    parser.add_argument("--requests", type=int, default=1000, help="minimum requests during the redeploy")
    parser.add_argument("--redeploys", type=int, default=0, help="only: N redeploys under load on the running lab")
    parser.add_argument("--reads-only", action="store_true", help="with --redeploys: GETs only")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="how long the idle CPU is measured")
    parser.add_argument("--latency", action="store_true", help="only: idle CPU and wrk through TLS on the running lab")
    parser.add_argument(
        "--direct",
        action="store_true",
        help="with --latency: also measure at Caddy's bridge address, as remote clients arrive (no docker-proxy)",
    )
    parser.add_argument(
        "--retry-closed",
        action="store_true",
        help="send a GET again, once, when the proxy closed its kept-alive connection unanswered (as browsers do)",
    )
    args = parser.parse_args()
    global RETRY_CLOSED
    RETRY_CLOSED = args.retry_closed
    urllib3.disable_warnings()
    paths = Paths.default()
    if args.redeploys:
        sample, took = many_redeploys(paths.ca_cert, args.rate, args.redeploys, args.reads_only)
        print(f"{args.redeploys} redeploys in {took:.0f} s, {sample.ok + sample.failed} requests at {args.rate}/s")
        print(f"failed: {sample.failed} {sorted(set(sample.errors))}  p95 {sample.p95():.0f} ms (under load)")
        print(f"GETs sent again after the proxy closed their kept-alive connection: {sample.retried}")
        return 1 if sample.failed else 0
    figures: dict[str, float] = {}
    if args.latency:
        return report(latency_figures(args.idle_seconds, args.direct), args.append)
    if args.cold:
        cold_reset()
        figures["cold_s"] = harness("lab", "up")
    harness("lab", "down")  # containers only: images and volumes stay
    figures["warm_s"] = harness("lab", "up")
    ca = paths.ca_cert
    figures["lead_time_s"] = lead_time(paths, ca)
    sample, took = during_redeploy(ca, args.rate, args.requests)
    figures |= {"redeploy_s": took, "redeploy_requests": sample.ok + sample.failed}
    figures |= {"redeploy_failures": sample.failed, "redeploy_p95_ms": sample.p95()}
    if sample.errors:
        print("redeploy errors:", sorted(set(sample.errors)))
    return report(figures | latency_figures(args.idle_seconds), args.append)


def latency_figures(idle_seconds: float, direct: bool = False) -> dict[str, float]:
    """Idle CPU of the app instances, then 50 wrk clients through TLS on each path (loaded machine: see CPU).

    `direct` measures each path a second time at Caddy's bridge address (keys with a `direct_` prefix)."""
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    figures = {"idle_app_cpu_pct": idle_app_cpu_pct(idle_seconds)}
    routes: list[tuple[str, tuple[str, int] | None]] = [("", None)] + ([("direct_", caddy_address())] if direct else [])
    for prefix, connect in routes:
        for path, key in (("/healthz", "healthz"), ("/api/tasks", "api")):
            measured = through_tls(path, connect=connect)
            print(f"{prefix}{path}", json.dumps({k: round(v, 3) for k, v in measured.items()}))
            figures[prefix + ("p95_ms" if key == "healthz" else "p95_api_ms")] = measured["p95_ms"]
            figures[f"{prefix}{key}_failures_at_50_clients"] = measured["errors"]
            figures[f"{prefix}{key}_server_cpu_ms_per_request"] = measured["cpu_ms_server"]
            figures[f"{prefix}{key}_path_cpu_ms_per_request"] = measured["cpu_ms_path"]
            figures[f"{prefix}{key}_client_cpu_ms_per_request"] = measured["cpu_ms_client_wrk"]
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return figures


def report(figures: dict[str, float], append: bool) -> int:
    missed = [k for k, target in TARGETS.items() if k in figures and figures[k] > target]
    print(json.dumps({k: round(v, 2) for k, v in figures.items()}, indent=2))
    print("missed targets:", ", ".join(missed) if missed else "none")
    if append:
        append_readme(figures, missed, " ".join(shlex.quote(a) for a in sys.argv))
    return 1 if missed else 0


def append_readme(figures: dict[str, float], missed: list[str], command: str) -> None:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"\n### Lab ({when}): `python {command}`\n", "| figure | value | target |", "|---|---|---|"]
    units = {"_s": " s", "_ms": " ms", "_pct": " %", "_per_request": " ms"}
    for key, value in figures.items():
        unit = next((u for suffix, u in units.items() if key.endswith(suffix)), "")
        target = TARGETS.get(key)
        lines.append(f"| {key} | {value:.1f}{unit} | {'' if target is None else f'≤ {target:g}{unit}'} |")
    lines.append(f"\nMissed: {', '.join(missed) or 'none'}. Shared 2-core VM, other engineers' work running.\n")
    with open(REPO / "bench" / "README.md", "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
