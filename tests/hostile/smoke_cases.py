"""A baseline: an empty-ish project runs cleanly through the suite's runner."""

from __future__ import annotations

from tests.hostile import Env, HostileCase, commit_all


def _plain(env: Env) -> list[str]:
    (env.project / "README.md").write_text("# nothing here\n")
    commit_all(env.project)
    return ["--scope", "repository"]


CASES = [HostileCase("baseline-empty-project", "crash", _plain, deadline_s=120)]
