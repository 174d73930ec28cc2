"""Small file helpers: atomic writes and bounded reads."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


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
        st = os.fstat(fh.fileno())
        if stat.S_ISREG(st.st_mode) and st.st_size:  # size the read: read(limit) allocates `limit` bytes
            return fh.read(min(limit, st.st_size + 1))[:limit]
        return fh.read(limit)


def read_regular(path: Path, limit: int) -> bytes | None:
    """At most `limit` bytes of a regular file; None for symlinks, devices, FIFOs, folders and errors."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        # Size the read to the file: read(limit) would allocate `limit` bytes for every small file.
        want = min(limit, st.st_size + 1)  # +1 notices a file that grew since the stat
        chunks: list[bytes] = []
        while want > 0:
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            want -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
