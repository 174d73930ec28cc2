"""The lab's pure parts: base image naming, mirror discovery, the generated harness.toml and git hook."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docker.models.containers import Container

from harness.config import load_file
from harness.lab import baseimage, bluegreen, containers, endpoints, remote
from harness.lab.settings import (
    APP_COLOURS,
    VARIANTS,
    Paths,
    app_instances,
    base_image_name,
    colour_alias,
    repo_root,
    slot_alias,
)

PROJECT = repo_root() / "reference_project"


def test_every_dockerfile_builds_from_the_one_pinned_base_image() -> None:
    names = {base_image_name(p) for p in [PROJECT / "Dockerfile", *(PROJECT / "platform").glob("*.Dockerfile")]}
    assert len(names) == 1
    (name,) = names
    assert ":" in name and not name.endswith(":latest")


def test_host_mirrors_reads_deb822_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\nURIs: http://mirror.example/debian-security\n"
    real_read = Path.read_text

    def fake_read(self: Path, *args: object, **kwargs: object) -> str:
        if str(self).startswith("/etc/apt/sources.list"):
            return text if self.name.endswith(".sources") else ""
        return real_read(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", fake_read)
    monkeypatch.setattr(Path, "glob", lambda self, pattern: iter([Path("/etc/apt/sources.list.d/x.sources")]))
    assert baseimage.host_mirrors() == ("http://mirror.example/debian", "http://mirror.example/debian-security")


def test_generated_config_is_valid_and_points_at_the_lab(tmp_path: Path) -> None:
    paths = Paths(repo=repo_root(), state=tmp_path)
    paths.ca_cert.write_text("dummy", encoding="utf-8")
    endpoints.write_config(paths)
    config = load_file(paths.config)
    live = config.live
    assert live.urls == [endpoints.BASE_URL]
    assert config.repo_path == repo_root()
    assert live.redeploy.command == endpoints.harness_command("lab", "redeploy")
    assert live.fault.command and live.fault.restore_command
    assert live.persistence.write is not None and "{token}" in str(live.persistence.write.json)
    assert live.source_to_user.remote == str(paths.remote) and live.source_to_user.allow_protected
    assert live.docker_label == "com.harness.lab.role=app"


def test_push_hook_deploys_main_in_the_background_with_a_bound() -> None:
    hook = remote.HOOK.format(log="/tmp/x.log", timeout=600, python="/usr/bin/python3", repo="/srv/harness")
    assert "refs/heads/main" in hook and "timeout 600" in hook and hook.rstrip().endswith("done")
    assert "lab redeploy --git-dir" in hook and '>> "$LOG"' in hook and "&\n" in hook


def test_generated_commands_run_without_harness_on_path(tmp_path: Path) -> None:
    """harness started by its interpreter's full path, PATH bare: the lab's commands still start harness."""
    bare = {"PATH": "/nonexistent", "PYTHONPATH": str(repo_root()), "HOME": str(tmp_path)}
    script = (
        "from pathlib import Path\nfrom harness.lab import endpoints\n"
        "from harness.lab.settings import Paths, repo_root\n"
        f"p = Paths(repo=repo_root(), state=Path({str(tmp_path)!r}))\n"
        "p.ca_cert.write_text('x')\nendpoints.write_config(p)\n"
    )
    subprocess.run([sys.executable, "-c", script], env=bare, check=True, timeout=60, cwd=tmp_path)
    live = load_file(Paths(repo=repo_root(), state=tmp_path).config).live
    commands = [live.redeploy.command, live.fault.command, live.fault.restore_command]
    for command in commands:
        assert command is not None and Path(command[0]).is_absolute() and command[1:3] == ["-m", "harness"]
        # Run as the probe runs it (an argv, PATH inherited): each resolves to harness's own lab subcommand.
        done = subprocess.run([*command, "--help"], env=bare, capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"lab {command[4]}" in done.stdout


def test_push_hook_runs_the_harness_of_the_checkout_that_owns_the_lab(tmp_path: Path) -> None:
    # `python -m harness.cli` imports from the current folder first; run from anywhere else, an interpreter whose
    # virtualenv installs another checkout (a git worktree sharing it) deploys with that checkout's lab secrets.
    seen = tmp_path / "seen"
    fake_python = tmp_path / "python"
    fake_python.write_text(f'#!/bin/bash\necho "$PWD $*" > {seen}\n', encoding="utf-8")
    fake_python.chmod(0o755)
    repo = tmp_path / "checkout"
    repo.mkdir()
    hook = tmp_path / "post-receive"
    hook.write_text(
        remote.HOOK.format(log=tmp_path / "deploy.log", timeout=60, python=fake_python, repo=repo), encoding="utf-8"
    )
    hook.chmod(0o755)
    elsewhere = tmp_path / "remote.git"
    elsewhere.mkdir()
    subprocess.run(
        [str(hook)], input=f"{'0' * 40} {'1' * 40} refs/heads/main\n", text=True, cwd=elsewhere, check=True, timeout=30
    )
    for _ in range(100):  # the deploy runs in the background
        if seen.exists() and seen.read_text():
            break
        time.sleep(0.05)
    where, _, args = seen.read_text().partition(" ")
    assert where == str(repo)
    assert args.startswith("-m harness.cli lab redeploy --git-dir " + str(elsewhere))


CADDY_UPSTREAMS = re.compile(r"^\s*to \{\$APP_UPSTREAMS(?::([^}]*))?\}", re.MULTILINE)


def test_every_caddy_the_lab_runs_routes_to_each_instance_slot() -> None:
    # plain-http served from one instance when its Caddy named a colour, not each instance: whatever the
    # variant, Caddy's upstreams must be exactly the slots the instances join under (bluegreen.promote).
    slots = {f"{slot_alias(colour, i)}:8000" for colour in APP_COLOURS for i in range(app_instances())}
    assert len(slots) == len(APP_COLOURS) * app_instances() == 4
    caddyfile = (PROJECT / "platform" / "Caddyfile").read_text()
    [default] = CADDY_UPSTREAMS.findall(caddyfile)
    assert set(default.split()) == slots  # the reference project's own default, used outside the lab
    secrets = {"POSTGRES_PASSWORD": "x", "APP_DB_PASSWORD": "y"}
    for variant in ("", *VARIANTS):
        env = containers.platform_kwargs("caddy", secrets, variant)[1]["environment"]
        assert set(env["APP_UPSTREAMS"].split()) == slots, variant
        config = env.get("CADDYFILE", caddyfile)  # the plain-http variant's own Caddyfile
        assert CADDY_UPSTREAMS.findall(config), variant
        assert "app-blue:" not in config and "app-green:" not in config, variant


def _app(*aliases: str) -> Container:
    # A container as the engine describes it (inspect's attrs); no engine needed to read its aliases.
    return Container(attrs={"NetworkSettings": {"Networks": {containers.FRONT: {"Aliases": [*aliases, "0123abcd"]}}}})


def test_a_redeploy_alternates_colours() -> None:
    blue, green = (colour_alias(c) for c in APP_COLOURS)
    assert bluegreen.idle_colour([]) == "blue"  # the first deploy
    assert bluegreen.idle_colour([_app("app", blue, f"{blue}-1"), _app("app", blue, f"{blue}-2")]) == "green"
    assert bluegreen.idle_colour([_app("app", green, f"{green}-1")]) == "blue"
    assert containers.colour_of(_app("app", "app-0123")) == ""  # an instance from before blue/green
    # Before per-instance slots: Caddy does not route to a colour-wide name any more, so it is replaced.
    assert containers.colour_of(_app("app", blue)) == ""
    caddyfile = (PROJECT / "platform" / "Caddyfile").read_text()
    assert "health_uri /readyz" in caddyfile and "dynamic" not in caddyfile  # static upstreams, no reload
    assert containers.app_kwargs("a", "sha256:x", "c", {"APP_DB_PASSWORD": "p"})["environment"]["DRAIN_FILE"]
