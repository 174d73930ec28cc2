"""`harness init`: write a harness.toml from what the project contains."""

from __future__ import annotations

from pathlib import Path

from harness.config import CONFIG_NAME, ConfigError
from harness.fsutil import write_atomic


def detect(repo: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ("prometheus.yml", "prometheus/prometheus.yml", "monitoring/prometheus.yml"):
        if (repo / name).is_file():
            found["prometheus_config"] = name
    if (repo / "Pulumi.yaml").is_file() or (repo / "infra" / "Pulumi.yaml").is_file():
        found["pulumi"] = "infra" if (repo / "infra" / "Pulumi.yaml").is_file() else "."
    if (repo / ".pulumi").is_dir():
        found["pulumi_state"] = ".pulumi"
    return found


def render(repo: Path) -> str:
    found = detect(repo)
    lines = [
        "# harness configuration, written by `harness init`. Every key is optional.",
        "# This file describes the project. Settings that run commands, push, send credentials or change",
        "# the verdict or its limits (the [run] table, live.redeploy.command, ...) are taken from here only",
        "# with `harness verify --trust-project`; otherwise put them in ~/.config/harness/config.toml.",
        "[project]",
        f'name = "{repo.name}"',
        "",
        "# [run]                   # operator-only (needs --trust-project)",
        '# gate = "pass"          # none | pass | distinction',
        '# formats = ["terminal", "json", "html"]',
        "",
        "[live]",
        "# The public base URL(s) of the deployed service; live checks need at least one.",
        "urls = []",
        '# ca_bundle = "ca.pem"',
        'health_path = "/healthz"',
        'version_path = "/version"',
        '# metrics_url = "https://localhost:8443/metrics"',
        '# prometheus_url = "http://localhost:9090"',
        '# alertmanager_url = "http://localhost:9093"',
    ]
    if "pulumi_state" in found:
        lines.append(f'pulumi_state = "{found["pulumi_state"]}"')
    else:
        lines.append('# pulumi_state = ".pulumi"')
    lines += [
        "",
        "# [live.redeploy]            # operator-only (needs --trust-project)",
        '# command = ["./deploy.sh"]   # an argument list, never a shell string',
        "",
    ]
    return "\n".join(lines)


def write_config(repo: Path, force: bool = False) -> Path:
    path = repo / CONFIG_NAME
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists (use --force to overwrite)")
    write_atomic(path, render(repo))
    return path
