"""End to end, broken on purpose: each `harness lab up --break VARIANT` must fail exactly the criteria the
variant breaks, and no other. The lab is brought up warm (images reused) once per variant, then the cheap live
checks run with the variant's own exclusive checks; the criteria `not_met` are compared with the criteria the
catalogue maps the expected failing checks to. It starts from the lab the e2e modules share (tests/lab_session.py)
and restores the normal lab at its end."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from harness.lab.settings import Paths
from tests.lab_session import harness
from tests.test_e2e_lab import docker_available

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

# Live checks cheap enough to run for every variant, and not exclusive (they run side by side).
CHEAP = [
    "live.tls",
    "live.https-redirect",
    "live.health",
    "live.availability",
    "live.load",
    "live.metrics",
    "live.custom-metrics",
    "live.prometheus-targets",
    "live.alert-rules",
    "live.alertmanager",
]
# variant -> (its exclusive checks to add, the checks it must fail). Switching order keeps restarts few:
# platform-only variants first, then the app variants, the database last.
VARIANTS: dict[str, tuple[list[str], set[str]]] = {
    "plain-http": ([], {"live.tls", "live.https-redirect"}),
    "no-alert-rules": ([], {"live.alert-rules"}),
    # No /metrics: Prometheus scrapes no app target either.
    "no-metrics": ([], {"live.metrics", "live.custom-metrics", "live.prometheus-targets"}),
    "one-replica": ([], {"live.availability"}),
    "in-place": (["live.immutable-redeploy"], {"live.immutable-redeploy"}),
    "no-db-volume": (["live.persistence"], {"live.persistence"}),
}
AVAILABILITY_WINDOW_S = 5


def criteria_of(checks: set[str]) -> set[str]:
    """The criteria the catalogue maps any of `checks` to."""
    doc = yaml.safe_load((Paths.default().repo / "harness/data/catalogue.yaml").read_text(encoding="utf-8"))
    return {c["id"] for c in doc["criteria"] if checks & set(c.get("checks", []))}


def verify(paths: Paths, only: list[str], out: Path) -> dict:
    # The lab's own config, with a short availability window: the variants are judged on instances, not stamina.
    config = out.with_suffix(".toml")
    config.write_text(
        paths.config.read_text(encoding="utf-8") + f"\n[live.availability]\nwindow_s = {AVAILABILITY_WINDOW_S}\n",
        encoding="utf-8",
    )
    argv = ["verify", "--repo", str(paths.repo), "--config", str(config), "--scope", "live"]
    argv += [a for c in only for a in ("--only", c)] + ["--format", "json", "--out", str(out)]
    done = harness(*argv, timeout=600)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads((out / "harness-report.json").read_text(encoding="utf-8"))


@pytest.mark.skipif(not docker_available(), reason="needs a Docker engine")
def test_each_broken_variant_fails_exactly_its_criteria(tmp_path: Path, lab: Paths) -> None:
    paths = lab
    results: dict[str, tuple[set[str], set[str], set[str], set[str]]] = {}
    timings: dict[str, str] = {}
    try:
        for variant, (exclusive, failing) in VARIANTS.items():
            started = time.monotonic()
            up = harness("lab", "up", "--break", variant, timeout=900)
            assert up.returncode == 0, f"{variant}: " + up.stdout + up.stderr[-4000:]
            brought_up = time.monotonic() - started
            # The exclusive checks redeploy; in one run the cheap checks may follow them and see Prometheus still
            # dropping the retired instances' targets, so they run separately, after the cheap ones.
            docs = [verify(paths, CHEAP, tmp_path / variant)]
            docs += [verify(paths, exclusive, tmp_path / f"{variant}-exclusive")] if exclusive else []
            timings[variant] = f"up {brought_up:.0f} s, verify {time.monotonic() - started - brought_up:.0f} s"
            failed = {c["id"] for doc in docs for c in doc["checks"] if c["outcome"] == "fail"}
            not_met = {c["id"] for doc in docs for c in doc["criteria"] if c["status"] == "not_met"}
            results[variant] = (failed, failing, not_met, criteria_of(failing))
            print(f"\n{variant} ({timings[variant]}): failed {sorted(failed)}; not met {sorted(not_met)}")
            for c in (c for doc in docs for c in doc["checks"]):
                if c["outcome"] not in ("pass", "warn"):
                    print(f"  {c['outcome']:16} {c['id']}: " + "; ".join(f["reason"] for f in c["findings"])[:400])
    finally:
        started = time.monotonic()
        restored = harness("lab", "up", timeout=900)
        print(f"\nnormal lab restored in {time.monotonic() - started:.0f} s")
        assert restored.returncode == 0, restored.stdout + restored.stderr[-4000:]
    wrong = {
        variant: {"failed": sorted(f), "expected": sorted(failing), "not_met": sorted(nm), "expected_nm": sorted(e)}
        for variant, (f, failing, nm, e) in results.items()
        if f != failing or nm != e
    }
    assert not wrong, wrong
