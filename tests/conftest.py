"""Shared fixtures: real git repositories in temporary folders."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.config import Config
from harness.context import Context, Shared
from tests.lab_session import lab, pytest_runtest_teardown  # noqa: F401 - the e2e modules share one lab


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """harness caches reports (bandit's) under XDG_CACHE_HOME: tests start from an empty one, never the user's."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    # ...and read no operator config.toml but the one a test writes (harness.config.user_config_path).
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full_env = dict(os.environ)
    full_env.update(
        GIT_AUTHOR_NAME="Ada Apprentice",
        GIT_AUTHOR_EMAIL="ada@example.org",
        GIT_COMMITTER_NAME="Ada Apprentice",
        GIT_COMMITTER_EMAIL="ada@example.org",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_SYSTEM="/dev/null",
    )
    full_env.update(env or {})
    out = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=full_env, timeout=60
    )
    return out.stdout.strip()


class RepoBuilder:
    """Builds a real git repository file by file and commit by commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "-b", "main")

    def write(self, rel: str, content: str | bytes) -> RepoBuilder:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        return self

    def remove(self, rel: str) -> RepoBuilder:
        git(self.path, "rm", "-q", rel)
        return self

    def commit(self, message: str = "change", author: str | None = None, date: str | None = None) -> str:
        env = {}
        if author:
            name, _, email = author.partition(" <")
            env.update(
                GIT_AUTHOR_NAME=name,
                GIT_AUTHOR_EMAIL=email.rstrip(">"),
                GIT_COMMITTER_NAME=name,
                GIT_COMMITTER_EMAIL=email.rstrip(">"),
            )
        if date:
            env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message, env=env)
        return git(self.path, "rev-parse", "HEAD")

    def git(self, *args: str) -> str:
        return git(self.path, *args)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], RepoBuilder]:
    def factory(name: str = "repo") -> RepoBuilder:
        return RepoBuilder(tmp_path / name)

    return factory


def context_for(repo: Path, config: Config | None = None, check_id: str = "test", timeout: float = 60) -> Context:
    import time

    cfg = config or Config(base_dir=repo)
    cfg.project.repo = str(repo)
    shared = Shared(config=cfg, selected=frozenset({check_id}))  # as a run of this check alone
    return Context(shared=shared, check_id=check_id, deadline=time.monotonic() + timeout)


def run_check(check_id: str, repo: Path, config: Config | None = None) -> list:
    """Run one registered check directly against `repo` and return its findings."""
    from harness.checks.base import load_all

    registry = load_all()
    return list(registry[check_id].fn(context_for(repo, config, check_id)))
