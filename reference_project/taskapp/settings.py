"""Settings read once from the environment (twelve-factor), so one image serves every environment."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field

TRUE = {"1", "true", "yes", "on"}


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in TRUE


def _instance_id() -> str:
    # Hostname alone repeats when a container restarts; the start time makes each start unique.
    return f"{socket.gethostname()}-{int(time.time() * 1000):x}"


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    feature_due_dates: bool = False
    commit: str = "unknown"
    build_time: str = "unknown"
    image_digest: str = "unknown"
    instance_id: str = field(default_factory=_instance_id)
    db_pool_size: int = 8
    # Both exist for the harness's broken lab variants; neither is set in a normal deployment.
    metrics_route: bool = True
    version_file: str = ""
    # While this file exists /readyz answers 503, so the proxy's health checks take the instance out of
    # rotation before it is stopped (a blue/green redeploy drains the old colour this way).
    drain_file: str = ""

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL", ""),
            feature_due_dates=_flag("FEATURE_DUE_DATES"),
            commit=os.environ.get("GIT_SHA", "unknown") or "unknown",
            build_time=os.environ.get("BUILD_TIME", "unknown") or "unknown",
            image_digest=os.environ.get("IMAGE_DIGEST", "unknown") or "unknown",
            db_pool_size=int(os.environ.get("DB_POOL_SIZE", "8")),
            metrics_route=os.environ.get("METRICS_ROUTE", "on").strip().lower() != "off",
            version_file=os.environ.get("VERSION_FILE", ""),
            drain_file=os.environ.get("DRAIN_FILE", ""),
        )
