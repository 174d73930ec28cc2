"""Bounded commands from the configuration: argument lists, never shell strings.

Redeploy, fault and restore commands are the project's own scripts; harness only
runs them with a timeout, keeps a redacted excerpt of their output as evidence,
and never lets one hang the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import typing
from dataclasses import dataclass
from pathlib import Path

from harness import redact
from harness.model import Evidence, now_iso

EXCERPT_CHARS = 1500


@dataclass
class CommandResult:
    argv: list[str]
    returncode: int | None  # None: did not start, or killed at its timeout
    stdout: str
    stderr: str
    started: str
    started_mono: float
    elapsed_s: float
    timed_out: bool = False
    error: str = ""  # why it did not start

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.error

    def describe(self) -> str:
        if self.error:
            return f"could not start: {self.error}"
        if self.timed_out:
            return f"killed after {self.elapsed_s:.1f} s (timeout)"
        return f"exit code {self.returncode} after {self.elapsed_s:.1f} s"

    def excerpt(self) -> str:
        parts = []
        for name, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            text = text.strip()
            if text:
                # The end of the output says most about how a deploy script ended.
                tail = text if len(text) <= EXCERPT_CHARS else "…" + text[-EXCERPT_CHARS:]
                parts.append(f"[{name}]\n{tail}")
        return redact.text("\n".join(parts)) or "(no output)"

    def evidence(self, summary: str) -> Evidence:
        return Evidence(
            kind="command",
            summary=f"{summary}: {self.describe()}",
            command=[redact.text(a) for a in self.argv],
            excerpt=self.excerpt(),
            timestamp=self.started,
            data={"returncode": self.returncode, "elapsed_s": round(self.elapsed_s, 3), "timed_out": self.timed_out},
        )


def run(argv: list[str], timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None) -> CommandResult:
    """Run `argv` for at most `timeout` seconds; on timeout the whole process group is killed."""
    started, t0 = now_iso(), time.monotonic()
    full_env = dict(os.environ)
    full_env.update(env or {})
    # Output goes to files, not pipes: a deploy script may leave daemons holding
    # its stdout open, and we wait for the script, not for them.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own group, so a timeout can kill its children too
            )
        except OSError as exc:
            return CommandResult(argv, None, "", "", started, t0, 0.0, error=str(exc))
        try:
            proc.wait(timeout=max(0.1, timeout))
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.wait(timeout=10)
            timed_out = True
        stdout, stderr = _read(out), _read(err)
    return CommandResult(
        argv=argv,
        returncode=None if timed_out else proc.returncode,
        stdout=stdout,
        stderr=stderr,
        started=started,
        started_mono=t0,
        elapsed_s=time.monotonic() - t0,
        timed_out=timed_out,
    )


def _read(f: typing.IO[bytes], limit: int = 200_000) -> str:
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(max(0, size - limit))  # keep the end: that is where scripts say how they ended
    return f.read().decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
