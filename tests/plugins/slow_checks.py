"""Checks loaded through HARNESS_EXTRA_CHECKS by the CLI tests: one quick, one that never ends."""

import time

from harness.checks.base import check, finding
from harness.model import Outcome


@check("test.quick", title="q", failure_title="q", proves="q", remediation="q", source="repository", timeout=5)
def quick(ctx):
    yield finding("test.quick", Outcome.PASS, "quick check finished")


@check("test.forever", title="f", failure_title="f", proves="f", remediation="f", source="repository", timeout=120)
def forever(ctx):
    time.sleep(120)
    yield finding("test.forever", Outcome.PASS, "never reached")
