"""The alert drill's restore time: from the alert firing to the platform healthy again.

Kept apart from live.alert-fires (which injects the fault and watches the alert) so that check stays
small. "Healthy again" is the alert resolved and, with live.urls, the health endpoint answering 2xx.
"""

from __future__ import annotations

import time
from typing import Any

from harness.context import Context
from harness.model import Evidence
from harness.probes.delivery import live_metric
from harness.probes.http import HttpFailure, client_for, join

POLL_S = 0.5


def health_green(ctx: Context, until: float) -> float | None:
    """The monotonic time the health endpoint first answers 2xx (now, when live.urls is not set); None if never."""
    live = ctx.config.live
    if not live.urls:
        return time.monotonic()
    http = client_for(ctx)
    url = join(live.urls[0].rstrip("/"), live.health_path)
    try:
        while not ctx.cancelled:
            try:
                if 200 <= http.get(url, deadline=time.monotonic() + ctx.bounded(5)).status < 300:
                    return time.monotonic()
            except HttpFailure:
                pass
            if time.monotonic() >= until:
                return None
            time.sleep(POLL_S)
        return None
    finally:
        http.close()


def restore_metric(fired: dict[str, Any] | None, healthy_at: float | None, with_health: bool) -> Evidence | None:
    """The restore time as metric evidence (None when the alert never fired or health never came back)."""
    if not fired or healthy_at is None:
        return None
    return live_metric(
        "restore_time",
        max(0.0, healthy_at - fired["at"]),
        alert=fired["key"],
        health_checked=with_health,
    )
