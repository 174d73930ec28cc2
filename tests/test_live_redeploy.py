"""live.immutable-redeploy and live.persistence against local app processes redeployed by real commands.

The app (tests/promhelpers.py) is a separate process; `redeploy` starts a new process
with a new instance id on the same port (SO_REUSEPORT) and then stops the old one;
`inplace` changes the running process's version (the mutable anti-pattern).
Docker-engine judging is unit-tested on snapshots (no image can be pulled here).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import Config, HttpRequestConfig
from harness.model import Outcome
from harness.probes.docker_engine import ContainerInfo, by_digest, judge_hardening, judge_replacement
from tests.conftest import run_check
from tests.promhelpers import App


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(tmp_path / "app").start()
    yield a
    a.stop()


def redeploy_config(tmp_path: Path, app: App, *command: str) -> Config:
    cfg = Config(base_dir=tmp_path)
    cfg.live.urls = [app.url]
    cfg.live.metrics_url = app.url + "/metrics"
    cfg.live.redeploy.command = app.command(*command)
    cfg.live.redeploy.timeout_s = 30
    return cfg


@pytest.mark.live
def test_redeploy_replaces_the_instance(tmp_path: Path, app: App) -> None:
    findings = run_check(
        "live.immutable-redeploy", tmp_path, redeploy_config(tmp_path, app, "redeploy", "--new-version", "2.0.0")
    )
    subjects = {f.subject: f for f in findings}
    assert subjects["instances"].outcome == Outcome.PASS, subjects["instances"].reason
    assert subjects["process"].outcome == Outcome.PASS, subjects["process"].reason
    # Connections queued on the old process when it stops may be reset: a WARN at most.
    assert subjects["availability"].outcome in (Outcome.PASS, Outcome.WARN), subjects["availability"].reason
    sampled = subjects["instances"].evidence[1].data
    assert any("2.0.0" in k for k in sampled["after"]) and any("1.0.0" in k for k in sampled["before"])
    assert all(f.outcome != Outcome.FAIL for f in findings)


@pytest.mark.live
def test_in_place_change_fails(tmp_path: Path, app: App) -> None:
    findings = run_check(
        "live.immutable-redeploy", tmp_path, redeploy_config(tmp_path, app, "inplace", "--new-version", "1.0.1")
    )
    fails = [f.reason for f in findings if f.outcome == Outcome.FAIL]
    assert any("1.0.0 then 1.0.1" in r and "changed in place" in r for r in fails), fails
    assert any("not replaced" in r for r in fails)


@pytest.mark.live
def test_failing_redeploy_command_fails(tmp_path: Path, app: App) -> None:
    import sys

    cfg = redeploy_config(tmp_path, app, "inplace")
    cfg.live.redeploy.command = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]
    findings = run_check("live.immutable-redeploy", tmp_path, cfg)
    command = next(f for f in findings if f.subject == "command")
    assert command.outcome == Outcome.FAIL and "exit code 3" in command.reason
    assert "boom" in (command.evidence[0].excerpt or "")


def test_redeploy_not_configured(tmp_path: Path) -> None:
    for check_id, setting in (
        ("live.immutable-redeploy", "live.redeploy.command"),
        ("live.persistence", "live.persistence"),
    ):
        findings = run_check(check_id, tmp_path, Config(base_dir=tmp_path))
        assert findings[0].outcome == Outcome.COULD_NOT_CHECK and setting in findings[0].reason


def persistence_config(tmp_path: Path, app: App) -> Config:
    cfg = redeploy_config(tmp_path, app, "redeploy")
    cfg.live.persistence.write = HttpRequestConfig(method="PUT", path="/store/{token}", json={"value": "{token}"})
    cfg.live.persistence.read = HttpRequestConfig(method="GET", path="/store/{token}", expect_status=[200])
    return cfg


@pytest.mark.live
def test_file_backed_store_survives_redeploy(tmp_path: Path) -> None:
    app = App(tmp_path / "app", store_file=tmp_path / "volume" / "store.json")
    (tmp_path / "volume").mkdir()
    app.start()
    try:
        findings = run_check("live.persistence", tmp_path, persistence_config(tmp_path, app))
        assert [f.outcome for f in findings] == [Outcome.PASS], [f.reason for f in findings]
    finally:
        app.stop()


@pytest.mark.live
def test_in_memory_store_loses_data_on_redeploy(tmp_path: Path, app: App) -> None:
    findings = run_check("live.persistence", tmp_path, persistence_config(tmp_path, app))
    assert [f.outcome for f in findings] == [Outcome.FAIL]
    assert "is gone after it" in findings[0].reason and "HTTP 404" in findings[0].reason


def container(cid: str, started: str = "2026-01-01T00:00:00Z", **kw: object) -> ContainerInfo:
    base: dict[str, object] = dict(
        name=f"app-{cid}", config_image="registry/app@sha256:" + "a" * 64, image_id="sha256:1"
    )
    base.update(kw)
    return ContainerInfo(id=cid * 12, started_at=started, **base)  # type: ignore[arg-type]


def test_docker_judging_replaced_restarted_untouched() -> None:
    assert judge_replacement([container("a")], [container("b")])[0][0] == Outcome.PASS
    restarted = judge_replacement([container("a")], [container("a", started="2026-01-02T00:00:00Z")])
    assert restarted[0][0] == Outcome.FAIL and "restarted, not replaced" in restarted[0][1]
    kept = judge_replacement([container("a")], [container("a")])
    assert kept[0][0] == Outcome.FAIL and "not replaced" in kept[0][1]
    assert judge_replacement([], [container("b")])[0][0] == Outcome.COULD_NOT_CHECK


def test_docker_judging_digest_and_hardening() -> None:
    assert by_digest(container("a"))[0] == Outcome.PASS
    assert by_digest(container("a", config_image="app:latest", repo_digests=["app@sha256:1"]))[0] == Outcome.WARN
    assert by_digest(container("a", config_image="app:latest"))[0] == Outcome.FAIL
    assert judge_hardening([container("a", readonly_rootfs=True)])[0][0] == Outcome.PASS
    warned = judge_hardening([container("a", diff=["/app/main.py", "/tmp"])])
    assert [o for o, _ in warned] == [Outcome.WARN, Outcome.WARN] and "/app/main.py" in warned[1][1]


# --- against a real Docker engine, when one answers (never started or stopped by these tests) ---

DOCKER_HOST = "unix:///var/run/docker.sock"


def docker_client() -> object:
    docker = pytest.importorskip("docker")
    try:
        client = docker.DockerClient(base_url=DOCKER_HOST, timeout=10)
        client.ping()
    except Exception as exc:
        pytest.skip(f"no Docker engine at {DOCKER_HOST} ({exc}): docker judging is covered by the unit tests above")
    return client


@pytest.mark.live
def test_docker_snapshot_tells_replaced_from_restarted() -> None:
    import uuid

    from harness.probes.docker_engine import snapshot

    client: Any = docker_client()
    images = [i for i in client.images.list() if i.tags]
    if not images:
        pytest.skip("the Docker engine has no local image to run (nothing can be pulled here)")
    image = images[0].id  # by image id: a content reference, like a digest
    label = f"harness.test={uuid.uuid4().hex[:8]}"
    key, _, value = label.partition("=")
    created: list[Any] = []

    def start() -> Any:
        c = client.containers.run(
            image, ["sleep", "600"], detach=True, labels={key: value}, network_mode="none", read_only=True,
            entrypoint=[],
        )  # fmt: skip
        created.append(c)
        c.reload()
        if c.status != "running":
            pytest.skip(f"{images[0].tags[0]} cannot run `sleep`")
        return c

    try:
        first = start()
        before = snapshot(DOCKER_HOST, label)
        assert [c.id for c in before] == [first.id] and before[0].readonly_rootfs
        assert by_digest(before[0])[0] == Outcome.PASS
        first.restart(timeout=1)
        restarted = judge_replacement(before, snapshot(DOCKER_HOST, label))
        assert restarted[0][0] == Outcome.FAIL and "restarted, not replaced" in restarted[0][1]
        first.remove(force=True)
        second = start()
        after = snapshot(DOCKER_HOST, label)
        assert judge_replacement(before, after)[0][0] == Outcome.PASS
        assert [c.id for c in after] == [second.id]
        assert judge_hardening(after)[0][0] == Outcome.PASS  # read-only, nothing written
    finally:
        for c in created:
            with contextlib.suppress(Exception):
                c.remove(force=True)
