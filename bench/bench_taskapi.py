"""Server CPU per request of the reference project's task API: the app under its own server (server.py), a real
PostgreSQL on loopback, wrk as the client (native, so the client's cost is small and reported apart).

    python bench/bench_taskapi.py --app-python VENV/bin/python [--project DIR] [--tasks 1000] [--seconds 10]

The app's interpreter needs the reference project's requirements (flask, granian, psycopg, prometheus-client;
gunicorn too for a --project copy from before server.py). CPU is read from /proc (utime + stime of the app server
and PostgreSQL process trees), so it holds on a shared machine where wall-clock latency does not."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import loadtool

from tests.pgserver import postgres

PROJECT = Path(__file__).resolve().parents[1] / "reference_project"
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, or None once it has gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def tree_cpu(root: int) -> float:
    stats = {int(p.name): _stat(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()}
    children: dict[int, list[int]] = {}
    for pid, st in stats.items():
        if st:
            children.setdefault(st[0], []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        st = stats.get(pid)
        total += st[1] if st else 0.0
        todo.extend(children.get(pid, []))
    return total


def postmaster_pid(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
    return int((Path(data_dir) / "postmaster.pid").read_text().split()[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # nosec B310 - loopback http
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} not ready within {timeout_s:.0f} s")


def server_command(project: Path, python: str, port: int) -> list[str]:
    """The app server as the image starts it (server.py), or gunicorn for an older copy that has its config."""
    if (project / "server.py").exists():
        return [python, "server.py"]
    conf = ["--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "--error-logfile", "/dev/null"]
    return [python, "-m", "gunicorn", *conf, "taskapp.wsgi:app"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-python", default=sys.executable)
    parser.add_argument("--project", type=Path, default=PROJECT, help="a reference_project folder (e.g. an older one)")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--path", action="append", default=[], help="paths to load (default /healthz, /api/tasks)")
    args = parser.parse_args()
    if not loadtool.available():
        print("wrk not found (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    import psycopg

    with postgres() as dsn:
        port = free_port()
        env = os.environ | {"DATABASE_URL": dsn, "FEATURE_DUE_DATES": "true", "PYTHONPATH": str(args.project)}
        server = subprocess.Popen(
            server_command(args.project, args.app_python, port),
            cwd=args.project,
            env=env | {"LISTEN_HOST": "127.0.0.1", "LISTEN_PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base + "/readyz")
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO tasks (title, due_date) SELECT 'task number ' || i, current_date + (i %% 30 - 10)"
                    " FROM generate_series(1, %s) AS i",
                    (args.tasks,),
                )
            pg = postmaster_pid(dsn)
            print(
                f"{args.tasks} tasks, {args.clients} clients, {args.seconds} s per path, load {os.getloadavg()[0]:.1f}"
            )
            for path in args.path or ["/healthz", "/api/tasks"]:
                loadtool.run(base + path, 2, args.clients)  # warm the pool and caches
                app0, pg0 = tree_cpu(server.pid), tree_cpu(pg)
                result = loadtool.run(base + path, args.seconds, args.clients)
                n = result.requests
                app_ms = (tree_cpu(server.pid) - app0) * 1000 / n
                pg_ms = (tree_cpu(pg) - pg0) * 1000 / n
                body = urllib.request.urlopen(base + path, timeout=5).read()  # nosec B310 - loopback http
                print(
                    f"{path:<12} {n:>7} req  CPU/req: app {app_ms:.2f} ms  postgres {pg_ms:.2f} ms"
                    f"  client (wrk) {result.client_ms_per_request:.2f} ms  body {len(body)} B"
                    f"  wall p95 {result.p95_ms:.0f} ms (under load)"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
