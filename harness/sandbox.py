"""Running tools on a project without running the project's code, and stopping them at a deadline.

Python tools start as `python -I -m tool` (no working folder or user site on
sys.path, no PYTHON* variables) from a private temporary folder, so a committed
`bandit/` package or `sitecustomize.py` is never imported. Every child started
here is registered with the check that started it (the engine binds a list per
check thread), so the engine can kill it when the check overruns its deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

_local = threading.local()


class Children:
    """The processes one check started; killed together when the check overruns."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[Any]] = []
        self._lock = threading.Lock()
        self.killed = False

    def add(self, proc: subprocess.Popen[Any]) -> None:
        with self._lock:
            self._procs = [p for p in self._procs if p.poll() is None]
            self._procs.append(proc)
            killed = self.killed
        if killed:  # started after the deadline: stop it at once
            _kill(proc)

    def kill(self) -> int:
        """Kill every live child (and its process group); returns how many were running."""
        with self._lock:
            self.killed = True
            live = [p for p in self._procs if p.poll() is None]
        for proc in live:
            _kill(proc)
        return len(live)


def _kill(proc: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: children of the tool go too
    with contextlib.suppress(OSError):
        proc.kill()


def kill(proc: subprocess.Popen[Any]) -> None:
    """Kill a child started here (and its group) and reap it."""
    _kill(proc)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@contextlib.contextmanager
def bound(children: Children) -> Iterator[None]:
    """Register processes started by this thread in `children` (the engine does this per check)."""
    previous = getattr(_local, "children", None)
    _local.children = children
    try:
        yield
    finally:
        _local.children = previous


def stopped() -> bool:
    """Whether the engine killed this thread's processes (its check overran): their output is partial."""
    children = getattr(_local, "children", None)
    return children is not None and children.killed


def clean_env(extra: Mapping[str, str] | None = None, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment without PYTHON* variables (PYTHONPATH, PYTHONSTARTUP...) and without `drop` prefixes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", *drop))}
    env.update(extra or {})
    return env


def python_module(module: str, *args: str) -> list[str]:
    """argv running `module` with this interpreter, isolated from the working folder and user site."""
    return [sys.executable, "-I", "-m", module, *args]


def popen(argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """`subprocess.Popen` in its own session, registered with the current check."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    proc: subprocess.Popen[Any] = subprocess.Popen(argv, start_new_session=True, **kwargs)
    children = getattr(_local, "children", None)
    if children is not None:
        children.add(proc)
    return proc


def run(
    argv: list[str],
    *,
    timeout: float,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Like `subprocess.run(capture_output=True)`; raises TimeoutExpired after killing the process group."""
    proc = popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except BaseException:
        _kill(proc)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)
