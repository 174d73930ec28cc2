"""Bounded reads never block on a FIFO, device or socket, and never inflate a gzip bomb."""

from __future__ import annotations

import gzip
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from harness import fsutil
from harness.config import ConfigError, load_file
from harness.probes import repository
from harness.waivers import read_file


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "harness.toml"
    os.mkfifo(path)
    return path


def _within(seconds: float, fn, *args):
    """Run fn in a thread; fail (instead of hanging the suite) if it blocks."""
    out: dict[str, object] = {}

    def go() -> None:
        try:
            out["value"] = fn(*args)
        except BaseException as exc:  # handed back to the test
            out["error"] = exc

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        with open(args[0], "wb"):  # a writer end releases a blocked reader of the FIFO
            pass
        pytest.fail(f"{fn.__name__} blocked on a FIFO")
    return out


def test_read_bounded_refuses_a_fifo_without_blocking(fifo):
    out = _within(3, fsutil.read_bounded, fifo, 100)
    assert isinstance(out.get("error"), OSError) and "FIFO" in str(out["error"])


def test_read_bounded_refuses_a_device_and_a_socket(tmp_path):
    with pytest.raises(OSError, match="device"):
        fsutil.read_bounded(Path("/dev/zero"), 10)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s"))
    try:
        with pytest.raises(OSError):
            fsutil.read_bounded(tmp_path / "s", 10)
    finally:
        sock.close()


def test_config_and_waiver_files_that_are_fifos_give_a_clear_error(fifo):
    out = _within(3, load_file, fifo)
    assert isinstance(out.get("error"), ConfigError) and "FIFO" in str(out["error"])
    out = _within(3, read_file, fifo)
    assert "FIFO" in out["value"][0]["_error"]  # type: ignore[index]


def test_a_plain_folder_with_a_fifo_is_listed_without_it(tmp_path):
    (tmp_path / "app.py").write_text("X = 1\n")
    os.mkfifo(tmp_path / "settings.py")
    t0 = time.monotonic()
    snap = repository.snapshot(tmp_path)
    assert [f.path for f in snap.files] == ["app.py"]
    assert any("settings.py" in p and "not a regular file" in p for p in snap.problems)
    assert time.monotonic() - t0 < 3


def test_gunzip_bounded_stops_a_gzip_bomb():
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(OSError, match="more than"):
        fsutil.gunzip_bounded(bomb, 1_000_000)
    assert fsutil.gunzip_bounded(gzip.compress(b"{}"), 10) == b"{}"
    with pytest.raises(OSError, match="not gzip"):
        fsutil.gunzip_bounded(b"plain", 10)
