"""Engine overhead: 200 trivial registered checks through harness.engine.run_checks.

Run: python bench/bench_engine.py [--checks 200] [--repeat 5] [--concurrency 8]
Target: under 1 s wall time. The checks are registered in this process only
(under the `bench.` prefix) and removed afterwards; nothing is written to disk.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness.checks.base import REGISTRY, Check, check, finding
from harness.config import Config
from harness.context import Context, Shared
from harness.engine import run_checks
from harness.model import Finding, Outcome

PREFIX = "bench.trivial-"
TARGET_S = 1.0


def register(n: int) -> list[Check]:
    ids = [f"{PREFIX}{i:04d}" for i in range(n)]
    for cid in ids:

        def run(ctx: Context, cid: str = cid) -> Iterator[Finding]:
            yield finding(cid, Outcome.PASS, "trivially true")

        check(
            cid,
            title="trivial",
            failure_title="trivial failed",
            proves="nothing: measures engine overhead",
            remediation="none",
            source="repository",
            timeout=10,
        )(run)
    return [REGISTRY[cid] for cid in ids]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    checks = register(args.checks)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Config(base_dir=Path(tmp))
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                outcome = run_checks(checks, Shared(config=config), concurrency=args.concurrency)
                times.append(time.perf_counter() - t0)
                assert outcome.complete and all(r.outcome is Outcome.PASS for r in outcome.results)
    finally:
        for c in checks:
            REGISTRY.pop(c.meta.id, None)
    median, worst = statistics.median(times), max(times)
    print(
        f"engine: {args.checks} checks, concurrency {args.concurrency}, {args.repeat} runs: "
        f"median {median:.3f} s, min {min(times):.3f} s, max {worst:.3f} s (target < {TARGET_S:g} s)"
    )
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
