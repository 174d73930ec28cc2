"""Bounded git subprocesses."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_TIMEOUT_S = 60.0


class GitError(Exception):
    pass


def git_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never prompt, never read the user's pager or editor; stable, untranslated output.
    env.update(GIT_TERMINAL_PROMPT="0", GIT_PAGER="cat", LC_ALL="C", GIT_OPTIONAL_LOCKS="0")
    return env


def run(repo: Path, args: list[str], timeout: float = GIT_TIMEOUT_S, check: bool = True) -> bytes:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            timeout=timeout,
            env=git_env(),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args[:2])} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from None
    if check and proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])} failed: {msg[-1] if msg else proc.returncode}")
    return proc.stdout


def is_work_tree(path: Path) -> bool:
    try:
        return run(path, ["rev-parse", "--is-inside-work-tree"], timeout=10).strip() == b"true"
    except GitError:
        return False


def toplevel(path: Path) -> Path | None:
    try:
        return Path(run(path, ["rev-parse", "--show-toplevel"], timeout=10).decode().strip())
    except GitError:
        return None


def head(path: Path) -> str | None:
    try:
        return run(path, ["rev-parse", "--verify", "-q", "HEAD^{commit}"], timeout=10).decode().strip() or None
    except GitError:
        return None
