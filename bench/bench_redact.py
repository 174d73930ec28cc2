"""Masking time on hostile strings (the shapes that made the old patterns backtrack), each 1-10 MB.

Run: python bench/bench_redact.py [--repeat 3]
Target: every input under 1 s (input is cut to redact.MAX_CHARS, then every pattern is linear).
The inputs are the ones tests/test_redact.py times; the old patterns took about a minute on
100 000 letters and never finished on a 10 MB commit subject.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import redact
from tests.test_redact import HOSTILE

TARGET_S = 1.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    worst = 0.0
    print(f"{'input':12} {'chars':>10} {'median s':>9}")
    for name, value in HOSTILE.items():
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            redact.text(value)
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"{name:12} {len(value):>10} {median:>9.3f}")
    print(f"worst median {worst:.3f} s (target < {TARGET_S:g} s): {'met' if worst < TARGET_S else 'NOT met'}")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
