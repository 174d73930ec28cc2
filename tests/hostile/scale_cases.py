"""Scale cases: a project big enough that harness scans it in worker processes.

- a committed virtualenv under its own name, 26 MB of text (over secret_pool.POOL_MIN_BYTES), with a token
  in a vendored file and a password in the author's own code: both found by the workers, neither shown.

Every key and password in this file is fake, for tests only.
"""

from __future__ import annotations

from typing import Any

from tests.hostile import Env, HostileCase, commit_all, findings, git

TOKEN = "ghp_" + "Hk3Lq9Wz2Rt7Yp4Mv8Nb1Xc6Df5Gs0Ja2Ke9u"  # split so scanners of this repository skip it
PASSWORD = "Qm7" + "rX2vK9wLp4Tz"


def _big_venv(env: Env) -> list[str]:
    repo = env.project
    git(repo, "init", "-q", "-b", "main")
    filler = "".join(f"value_{i} = {i} * 3  # plain vendored code\n" for i in range(25_000))  # about 1 MB
    for i in range(26):
        path = repo / "pyenv" / "lib" / f"pkg{i:02}" / "mod.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(filler + (f'TOKEN = "{TOKEN}"\n' if i == 13 else ""))
    (repo / "pyenv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (repo / "app").mkdir()
    (repo / "app" / "settings.py").write_text(f'db_password = "{PASSWORD}"\n')
    commit_all(repo, "app and its virtualenv")
    return ["--only", "repo.secrets"]


def _both_found(report: dict[str, Any] | None) -> str | None:
    reasons = " ".join(f.get("reason", "") for f in findings(report, "repo.secrets") if f.get("outcome") == "fail")
    missing = [p for p in ("pyenv/lib/pkg13/mod.py", "app/settings.py") if p not in reasons]
    return f"repo.secrets found no secret in {missing}" if missing else None


CASES = [
    HostileCase(
        name="a 26 MB committed virtualenv (scanned in worker processes) hides a token and a password",
        vector="leak",
        build=_big_venv,
        expect=_both_found,
        secrets=(TOKEN, PASSWORD),
    ),
]
