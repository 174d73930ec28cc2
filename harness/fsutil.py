"""Small file helpers: atomic writes and bounded reads."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_bounded(path: Path, limit: int) -> bytes:
    """At most `limit` bytes of a file (raises OSError as open/read do)."""
    with open(path, "rb") as fh:
        return _read_sized(fh, limit)


def read_regular(path: Path, limit: int) -> bytes | None:
    """At most `limit` bytes of a regular file; None for symlinks, devices, FIFOs, folders and errors."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        regular = False
    if not regular:  # checked before fdopen, which refuses a folder
        os.close(fd)
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            return _read_sized(fh, limit)
    except OSError:
        return None


def _read_sized(fh: BinaryIO, limit: int) -> bytes:
    st = os.fstat(fh.fileno())
    if stat.S_ISREG(st.st_mode) and st.st_size:  # size the read: read(limit) allocates `limit` bytes
        return fh.read(min(limit, st.st_size + 1))[:limit]  # +1 notices a file that grew since the stat
    return fh.read(limit)
