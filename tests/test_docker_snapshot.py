"""The engine snapshot during a rollout: a container retired between the list and its inspection is gone, not an
engine failure (unit test of that logic; the real engine is exercised by the lab and redeploy tests)."""

from __future__ import annotations

from typing import Any

import docker
import pytest
from docker.errors import NotFound

from harness.probes import docker_engine


class _Container:
    def __init__(self, name: str, gone: bool) -> None:
        self.id, self.name, self.gone = f"id-{name}", name, gone
        self.attrs: dict[str, Any] = {"Names": [f"/{name}"]}

    def reload(self) -> None:
        if self.gone:
            raise NotFound("No such container")
        self.attrs = {"Name": f"/{self.name}", "Image": "sha256:abc", "State": {"StartedAt": "now"}, "Config": {}}

    def diff(self) -> list[dict[str, str]]:
        return []


class _Client:
    def __init__(self, **_: Any) -> None:
        self.containers = self
        self.images = self

    def list(self, filters: dict[str, str], sparse: bool = False) -> list[_Container]:
        assert sparse, "a full list inspects every container and fails on one retired meanwhile"
        return [_Container("old", gone=True), _Container("new", gone=False)]

    def get(self, _: str) -> Any:
        raise NotFound("no image")

    def close(self) -> None:
        pass


def test_a_container_removed_between_list_and_inspect_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker, "DockerClient", _Client)
    found = docker_engine.snapshot("unix:///nowhere.sock", "com.example=app")
    assert [c.name for c in found] == ["new"]
