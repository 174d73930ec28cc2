"""`promtool check rules` on a rule file as committed at HEAD."""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from harness.probes.monitoring_model import RuleFile


@dataclass
class PromtoolResult:
    command: list[str]
    ok: bool | None  # None: promtool could not run
    output: str


PROMTOOL_TIMEOUT_S = 30.0


def promtool_path() -> str | None:
    return shutil.which("promtool") or ("/usr/bin/promtool" if os.access("/usr/bin/promtool", os.X_OK) else None)


def promtool_check_rules(rule: RuleFile, timeout: float = PROMTOOL_TIMEOUT_S) -> PromtoolResult:
    """`promtool check rules` on the rule text taken from HEAD, written to a private temp dir."""
    exe = promtool_path()
    shown = ["promtool", "check", "rules", rule.loc.path]
    if exe is None:
        return PromtoolResult(shown, None, "promtool is not installed (Debian package: prometheus)")
    with tempfile.TemporaryDirectory(prefix="harness-promtool-") as tmp:
        target = os.path.join(tmp, posixpath.basename(rule.loc.path) or "rules.yml")
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(rule.text)
        try:
            proc = subprocess.run(
                [exe, "check", "rules", target],
                capture_output=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            return PromtoolResult(shown, None, f"promtool did not finish within {timeout:g} s")
        except OSError as exc:
            return PromtoolResult(shown, None, f"cannot run promtool: {exc}")
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace").replace(target, rule.loc.path)
        return PromtoolResult(shown, proc.returncode == 0, out.strip()[:4000])
