"""Small file helpers: atomic writes and bounded reads."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import zlib
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
    """At most `limit` bytes of a regular file (symlinks followed).

    Raises OSError as open/read do, and for a FIFO, socket, device or folder: opened
    non-blocking and checked before any read, so a FIFO placed in a project never blocks.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"not a regular file ({_kind(mode)})", str(path))
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        return _read_sized(fh, limit)


def read_text_bounded(path: Path, limit: int) -> str:
    """`read_bounded` decoded as UTF-8; raises ValueError past `limit` bytes, UnicodeDecodeError, OSError."""
    data = read_bounded(path, limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit} bytes")
    return data.decode("utf-8")


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """Decompress gzip data, refusing (OSError) output over `limit` bytes: a gzip bomb stops there."""
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise OSError(errno.EINVAL, f"not gzip data: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise OSError(errno.EFBIG, f"decompresses to more than {limit} bytes")
    return out


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"


def read_regular(path: str | Path, limit: int) -> bytes | None:
    """At most `limit` bytes of a regular file; None for symlinks, devices, FIFOs, folders and errors.

    Plain os calls, one fstat: a caller compares thousands of small files this way.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        # Sized from the stat (+1 notices a file that grew since); a size of 0 may be a file that does not say.
        want = min(limit, st.st_size + 1) if st.st_size else limit
        chunks: list[bytes] = []
        got = 0
        while got < want and (chunk := os.read(fd, want - got)):
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_sized(fh: BinaryIO, limit: int) -> bytes:
    st = os.fstat(fh.fileno())
    if stat.S_ISREG(st.st_mode) and st.st_size:  # size the read: read(limit) allocates `limit` bytes
        return fh.read(min(limit, st.st_size + 1))[:limit]  # +1 notices a file that grew since the stat
    return fh.read(limit)
