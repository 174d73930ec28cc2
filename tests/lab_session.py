"""One lab for the e2e modules in a row (tests/test_e2e_*.py), not one bring-up and tear-down each.

A test that asks for `lab` gets the normal lab: brought up by the first such test, and again only after a
test failed (it may have left a variant or a broken instance behind; `harness lab up` repairs either), since
every e2e module leaves the normal lab as it found it (the variants module restores it at its end). The lab
is taken down after the last test of a run of tests that use it, so the rest of the suite runs without it.
Each module still runs alone."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from harness.lab.settings import Paths

USES = "lab"
_running = {"lab": False}
_failed_when_up = {"count": -1}  # the session's failure count when the lab was last brought up


def harness(*args: str, timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=Paths.default().repo,
    )


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[Paths]:
    """The normal lab, up and serving."""
    failed = request.session.testsfailed
    if not _running["lab"] or failed != _failed_when_up["count"]:
        _running["lab"] = True  # from here on it needs taking down, even if bringing it up fails half-way
        up = harness("lab", "up", timeout=900)
        assert up.returncode == 0, up.stdout + up.stderr[-4000:]
        _failed_when_up["count"] = failed
    yield Paths.default()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    if _running["lab"] and (nextitem is None or USES not in getattr(nextitem, "fixturenames", ())):
        _running["lab"] = False
        down = harness("lab", "down", timeout=300)
        assert down.returncode == 0, down.stderr[-2000:]
