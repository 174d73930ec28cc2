"""Live verification timings against a local HTTPS endpoint (loopback only).

Starts the test app over HTTPS (trustme CA, intermediate cipher list, Prometheus
metrics) and a plain-HTTP redirector, then times, one after the other:
  1. `harness verify --only live.tls` (the TLS check alone, CLI, process start included);
  2. `python -m sslyze localhost:PORT` (sslyze's full default scan);
  3. `testssl --fast` (if the testssl binary is installed);
  4. the whole live verification of DS-1/PR-2/OP-1/OP-D1 (availability window 5 s).
Targets: (1) <= (2); (4) < 10 s. Prints figures; exits 1 if a target is missed.

    python bench/bench_live.py [--repeat N] [--append-readme]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.livehelpers import TlsCA, serve_app, serve_redirect  # noqa: E402

LIVE_CHECKS = [
    "live.tls",
    "live.https-redirect",
    "live.health",
    "live.availability",
    "live.load",
    "live.metrics",
    "live.custom-metrics",
]
OPTIONAL = ["live.prometheus-targets", "live.alert-rules"]  # other engineers' checks, if registered


def registered(ids: list[str]) -> list[str]:
    from harness.checks.base import load_all

    known = load_all()
    return [i for i in ids if i in known]


def timed(cmd: list[str], timeout: float = 600) -> tuple[float, int, str]:
    t0 = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    return time.monotonic() - t0, done.returncode, (done.stdout + done.stderr)[-400:]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--append-readme", action="store_true", help="append the figures to bench/README.md")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-live-"))
    ca = TlsCA(work / "ca")
    app = serve_app(ca.server_context(ciphers="ECDHE+AESGCM:ECDHE+CHACHA20"))
    plain = serve_redirect(lambda path: app.url + path, 301)
    (work / "project").mkdir()
    config = work / "harness.toml"
    config.write_text(
        f"""[project]
repo = "{work / "project"}"

[run]
formats = ["json"]
out = "{work / "out"}"

[live]
urls = ["{app.url}"]
http_urls = ["{plain.url}/"]
ca_bundle = "{ca.ca_file}"

[live.availability]
window_s = 5
"""
    )
    harness = [sys.executable, "-m", "harness.cli", "verify", "--config", str(config), "--scope", "live"]
    only = [x for cid in LIVE_CHECKS + registered(OPTIONAL) for x in ("--only", cid)]
    jobs: dict[str, list[str]] = {
        "harness live.tls (CLI)": [*harness, "--only", "live.tls"],
        "sslyze full scan (CLI)": [sys.executable, "-m", "sslyze", f"localhost:{app.port}", "--quiet"],
    }
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    if testssl:
        jobs["testssl --fast"] = [
            testssl, "--fast", "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none",
            "--ip", "127.0.0.1", "--openssl-timeout", "5", f"https://localhost:{app.port}",
        ]  # fmt: skip
    jobs["harness live verification"] = [*harness, *only]
    results: dict[str, list[float]] = {}
    try:
        for name, cmd in jobs.items():
            for _ in range(1 if name.startswith("testssl") else args.repeat):
                elapsed, rc, tail = timed(cmd)
                if name.startswith("harness") and rc not in (0, 1):
                    print(f"{name}: exit {rc}\n{tail}", file=sys.stderr)
                    return 1
                results.setdefault(name, []).append(elapsed)
    finally:
        app.stop()
        plain.stop()
        shutil.rmtree(work, ignore_errors=True)

    lines = [f"live checks timed: {', '.join(LIVE_CHECKS + registered(OPTIONAL))}"]
    for name, values in results.items():
        lines.append(
            f"{name:28s} median {statistics.median(values):6.2f} s  min {min(values):6.2f}  max {max(values):6.2f}"
            f"  ({len(values)} runs)"
        )
    tls_ours = statistics.median(results["harness live.tls (CLI)"])
    tls_sslyze = statistics.median(results["sslyze full scan (CLI)"])
    whole = statistics.median(results["harness live verification"])
    ok_tls, ok_whole = tls_ours <= tls_sslyze, whole < 10
    lines.append(f"target live.tls <= sslyze: {'met' if ok_tls else 'MISSED'} ({tls_ours:.2f} vs {tls_sslyze:.2f} s)")
    lines.append(f"target live verification < 10 s: {'met' if ok_whole else 'MISSED'} ({whole:.2f} s)")
    report = "\n".join(lines)
    print(report)
    if args.append_readme:
        append_readme(report, args.repeat)
    return 0 if ok_tls and ok_whole else 1


def append_readme(report: str, repeat: int) -> None:
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    if "## Live verification" not in text:
        text += (
            "\n## Live verification (`bench/bench_live.py`)\n\n"
            "A local HTTPS app (trustme CA, Mozilla intermediate ciphers, Prometheus metrics) and a plain-HTTP "
            "redirector on 127.0.0.1. Times the `live.tls` check alone (CLI), sslyze's full default scan and "
            "`testssl --fast` on the same endpoint, then the whole live verification (DS-1, PR-2, OP-1, OP-D1) "
            "with the availability window shortened to 5 s. Targets: live.tls <= sslyze; whole < 10 s.\n"
        )
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text += f"\n```\n$ python bench/bench_live.py --repeat {repeat}   # {stamp}\n{report}\n```\n"
    readme.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
