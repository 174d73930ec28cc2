"""Bounded git subprocesses that run nothing the repository configures.

The project's `.git/config` (and anything it includes) is the author's: it can
name programs git would run (gpg.program with log.showSignature, core.fsmonitor,
diff.external, textconv and filter drivers, pagers, hooks, ssh and credential
helpers). Every git call goes through `argv`/`git_env`: no system or global
configuration, command-line overrides for every key that can run a program or
change the output, `--no-pager`, and replace refs ignored.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from harness import sandbox
from harness.context import DeadlineExceeded

GIT_TIMEOUT_S = 60.0

# Command-line configuration wins over every configuration file, includes too.
SAFE_CONFIG = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "core.sshCommand=false",
    "core.askPass=",
    "core.attributesFile=/dev/null",
    "core.untrackedCache=false",
    "core.quotePath=false",
    "credential.helper=",
    "log.showSignature=false",
    "gpg.program=false",
    "gpg.ssh.program=false",
    "gpg.x509.program=false",
    "diff.external=",
    "diff.noprefix=false",
    "diff.mnemonicPrefix=false",
    "diff.relative=false",
    "color.ui=false",
    "log.decorate=false",
    "log.mailmap=false",
    "log.follow=false",
    "protocol.allow=never",
    "i18n.logOutputEncoding=UTF-8",
)


class GitError(Exception):
    pass


def git_env() -> dict[str, str]:
    # None of the caller's GIT_* variables (GIT_DIR, GIT_EXTERNAL_DIFF, GIT_CONFIG_*...) leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",  # never prompt
        GIT_PAGER="cat",
        LC_ALL="C",  # stable, untranslated output
        GIT_OPTIONAL_LOCKS="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_ATTR_NOSYSTEM="1",
        GIT_NO_REPLACE_OBJECTS="1",  # refs/replace could show a history other than the real one
        GIT_NO_LAZY_FETCH="1",
    )
    return env


def argv(repo: Path, args: list[str]) -> list[str]:
    """`git` with the repository's executable configuration neutralised, then `args`."""
    cmd = ["git", "--no-pager", "-C", str(repo)]
    # Trust exactly this repository even when another user owns it (not safe.directory=*):
    # with the overrides above, reading it runs nothing of its owner's.
    cmd += ["-c", f"safe.directory={Path(repo).absolute()}"]
    for item in SAFE_CONFIG:
        cmd += ["-c", item]
    return [*cmd, *args]


def run(
    repo: Path, args: list[str], timeout: float = GIT_TIMEOUT_S, check: bool = True, input: bytes | None = None
) -> bytes:
    try:
        proc = sandbox.run(argv(repo, args), timeout=timeout, env=git_env(), input=input)
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args[:2])} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from None
    if sandbox.stopped():  # killed at a check's deadline: not a property of the repository (and not memoised)
        raise DeadlineExceeded(f"git {' '.join(args[:2])} was stopped at the check's deadline")
    if check and proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])} failed: {msg[-1] if msg else proc.returncode}")
    return proc.stdout


def unquote_path(path: str) -> str:
    """A path as git printed it: git C-quotes unusual paths even with core.quotePath=false (tabs, quotes, newlines)."""
    if len(path) >= 2 and path[0] == '"' and path[-1] == '"':
        raw = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        return raw.encode("latin-1", "replace").decode("utf-8", "replace")
    return path


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
