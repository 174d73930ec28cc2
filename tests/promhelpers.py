"""Real monitoring servers and a redeployable app, as separate processes on loopback.

- `start_prometheus`, `start_alertmanager`, `start_node_exporter`: Debian's binaries
  with temporary configs, 1 s scrape and evaluation intervals;
- `App`: a small prometheus-client app run as its own process (`python promhelpers.py app`),
  so that fault and redeploy commands can flip, restart or replace it. It serves
  /, /healthz, /version (version, commit, instance_id), /metrics, /fault?on=1|0 and
  /store/<key> (file-backed with --store-file, else in memory). It listens with
  SO_REUSEPORT so that a redeploy can start the new process before stopping the old.
- `python promhelpers.py redeploy|inplace|fault ...`: the commands the checks run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
HERE = Path(__file__).resolve()
PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"
NODE_EXPORTER = "prometheus-node-exporter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def need(binary: str) -> str:
    path = shutil.which(binary)
    if not path:
        raise AssertionError(
            f"{binary} is not installed: install Debian's prometheus, prometheus-alertmanager and "
            "prometheus-node-exporter packages (run.sh does this in CI)"
        )
    return path


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    end = time.monotonic() + timeout
    last = ""
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{url}: the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready within {timeout:g} s: {last}")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    folder: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _spawn(argv: list[str], folder: Path, name: str) -> subprocess.Popen[bytes]:
    log = open(folder / f"{name}.log", "wb")  # noqa: SIM115 - kept open for the child's lifetime
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder)


def start_prometheus(
    folder: Path, jobs: dict[str, list[str]], rules: str, alertmanager: str | None = None, interval_s: int = 1
) -> Server:
    """Prometheus scraping `jobs` (job -> ["127.0.0.1:port", ...]) every `interval_s`, with `rules` loaded."""
    binary = need(PROMETHEUS)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yml").write_text(rules)
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": f"{interval_s}s",
            "evaluation_interval": "1s",
            "scrape_timeout": f"{interval_s * 900}ms",
        },
        "rule_files": [str(folder / "rules.yml")],
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": t}]} for job, t in jobs.items()],
    }
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    (folder / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    proc = _spawn(
        [
            binary,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--log.level=warn",
        ],
        folder,
        "prometheus",
    )
    url = f"http://{LOOPBACK}:{port}"
    wait_http(url + "/-/ready", proc=proc)
    return Server(proc, url, port, folder)


def start_alertmanager(folder: Path, receivers: list[dict[str, Any]] | None = None) -> Server:
    binary = need(ALERTMANAGER)
    folder.mkdir(parents=True, exist_ok=True)
    receivers = receivers or [{"name": "ops", "webhook_configs": [{"url": f"http://{LOOPBACK}:9/hook"}]}]
    config = {"route": {"receiver": receivers[0]["name"], "group_wait": "1s"}, "receivers": receivers}
    (folder / "alertmanager.yml").write_text(json.dumps(config))
    port = free_port()
    proc = _spawn(
        [
            binary,
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--storage.path={folder / 'am-data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--cluster.listen-address=",  # no gossip: nothing leaves loopback
            "--log.level=warn",
        ],
        folder,
        "alertmanager",
    )
    url = f"http://{LOOPBACK}:{port}"
    wait_http(url + "/-/ready", proc=proc)
    return Server(proc, url, port, folder)


def start_node_exporter(folder: Path) -> Server:
    binary = need(NODE_EXPORTER)
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = _spawn([binary, f"--web.listen-address={LOOPBACK}:{port}"], folder, "node-exporter")
    url = f"http://{LOOPBACK}:{port}"
    wait_http(url + "/metrics", proc=proc)
    return Server(proc, url, port, folder)


# --- the app ------------------------------------------------------------------------


class App:
    """One app 'deployment' on a fixed port; the pid file always names the serving process."""

    def __init__(self, folder: Path, version: str = "1.0.0", store_file: Path | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.pidfile = folder / "app.pid"
        self.store_file = store_file
        self.version = version
        self.commit_file = folder / "commit.txt"
        self.version_file = folder / "version.txt"
        self.version_file.write_text(version)

    def args(self) -> list[str]:
        out = [
            "--port", str(self.port), "--pidfile", str(self.pidfile), "--version-file", str(self.version_file),
            "--commit-file", str(self.commit_file),
        ]  # fmt: skip
        if self.store_file:
            out += ["--store-file", str(self.store_file)]
        return out

    def start(self) -> App:
        subprocess.run(self.command("start"), check=True, timeout=30)
        return self

    def command(self, action: str, *extra: str) -> list[str]:
        """The argument list a check runs to act on this app (start, redeploy, inplace, fault)."""
        return [sys.executable, str(HERE), action, *self.args(), *extra]

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(self.pidfile.read_text()), signal.SIGTERM)

    @property
    def target(self) -> str:
        return f"{LOOPBACK}:{self.port}"


def _serve(opts: argparse.Namespace) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from prometheus_client import REGISTRY, Counter, generate_latest

    instance_id = opts.instance_id or uuid.uuid4().hex[:12]
    requests_total = Counter("http_requests_total", "Requests served", ["code"])
    for code in ("200", "500", "503"):
        requests_total.labels(code)  # present from the start, so error-rate rules have data
    # The version is fixed at start, as in an image; only /patch (an in-place change) alters it.
    state: dict[str, Any] = {"failing": False, "memory": {}, "version": Path(opts.version_file).read_text().strip()}
    store_file = Path(opts.store_file) if opts.store_file else None

    def store() -> dict[str, str]:
        if store_file is None:
            return state["memory"]  # type: ignore[no-any-return]
        try:
            return json.loads(store_file.read_text())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def reply(self, code: int, body: bytes, ctype: str = "application/json") -> None:
            requests_total.labels(str(code)).inc()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Instance-Id", instance_id)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path == "/patch":
                state["version"] = query.partition("=")[2]
                self.reply(200, b"{}")
            elif path == "/fault":
                state["failing"] = query == "on=1"
                self.reply(200, b'{"failing": %s}' % (b"true" if state["failing"] else b"false"))
            elif state["failing"]:
                self.reply(503, b'{"error": "fault injected"}')
            elif path == "/metrics":
                self.reply(200, generate_latest(REGISTRY), "text/plain; version=0.0.4")
            elif path == "/version":
                commit = Path(opts.commit_file).read_text().strip() if Path(opts.commit_file).exists() else ""
                doc = {"version": state["version"], "commit": commit, "instance_id": instance_id}
                self.reply(200, json.dumps(doc).encode())
            elif path.startswith("/store/"):
                value = store().get(path[7:])
                self.reply(200 if value is not None else 404, json.dumps({"value": value}).encode())
            else:
                self.reply(200, b'{"status": "ok"}')

        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            if not self.path.startswith("/store/"):
                self.reply(404, b"{}")
                return
            data = store()
            data[self.path[7:]] = json.loads(body or b"{}").get("value", "")
            if store_file is not None:
                store_file.write_text(json.dumps(data))
            else:
                state["memory"] = data
            self.reply(201, b'{"stored": true}')

        do_POST = do_PUT

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def server_bind(self) -> None:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            super().server_bind()

    server = Server((LOOPBACK, opts.port), Handler)

    def stop(*_: Any) -> None:
        # Stop accepting at once (close the listening socket) so the new process takes every connection.
        server.socket.close()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    Path(opts.pidfile).write_text(str(os.getpid()))
    server.serve_forever(poll_interval=0.05)


def _launch(opts: argparse.Namespace, instance_id: str) -> int:
    argv = [sys.executable, str(HERE), "serve", *_pass_through(opts), "--instance-id", instance_id]
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    end = time.monotonic() + 20
    while time.monotonic() < end:
        with contextlib.suppress(OSError, ValueError):
            if get_json(f"http://{LOOPBACK}:{opts.port}/version")["instance_id"] == instance_id:
                return proc.pid
        time.sleep(0.05)
    raise SystemExit("the new instance did not come up")


def _pass_through(opts: argparse.Namespace) -> list[str]:
    out = ["--port", str(opts.port), "--pidfile", opts.pidfile, "--version-file", opts.version_file]
    out += ["--commit-file", opts.commit_file]
    if opts.store_file:
        out += ["--store-file", opts.store_file]
    return out


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("action", choices=["serve", "start", "redeploy", "inplace", "fault", "restore"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pidfile", required=True)
    p.add_argument("--version-file", required=True)
    p.add_argument("--commit-file", required=True)
    p.add_argument("--store-file", default="")
    p.add_argument("--instance-id", default="")
    p.add_argument("--new-version", default="")
    opts = p.parse_args(argv)
    if opts.action == "serve":
        _serve(opts)
    elif opts.action == "start":
        _launch(opts, uuid.uuid4().hex[:12])
    elif opts.action == "redeploy":
        # Immutable: a new process (new instance id) takes over, then the old one stops.
        old = int(Path(opts.pidfile).read_text())
        if opts.new_version:
            Path(opts.version_file).write_text(opts.new_version)
        time.sleep(0.5)  # a short deploy window the samplers see
        _launch(opts, uuid.uuid4().hex[:12])
        with contextlib.suppress(OSError):
            os.kill(old, signal.SIGTERM)
        print(f"replaced pid {old}")
    elif opts.action == "inplace":
        # Mutable: the running process is changed under its users (same instance id, new version).
        version = opts.new_version or "9.9.9-hotfix"
        with urllib.request.urlopen(f"http://{LOOPBACK}:{opts.port}/patch?version={version}", timeout=5) as resp:
            resp.read()
        print("patched in place")
    elif opts.action in ("fault", "restore"):
        on = "1" if opts.action == "fault" else "0"
        with urllib.request.urlopen(f"http://{LOOPBACK}:{opts.port}/fault?on={on}", timeout=5) as resp:
            print(resp.read().decode())


if __name__ == "__main__":
    main(sys.argv[1:])


@contextlib.contextmanager
def running(*servers: Server | App) -> Iterator[None]:
    try:
        yield
    finally:
        for s in servers:
            s.stop()
