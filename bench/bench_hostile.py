"""The hostile-project suite as a table: case, vector, outcome, wall, peak RSS.

python bench/bench_hostile.py [--markdown]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hostile import all_cases, run_case


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    rows, bad = [], 0
    for case in all_cases():
        if args.k not in case.name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            r = run_case(case, Path(tmp))
        bad += bool(r.problems)
        rows.append((r.case, r.vector, r.outcome, f"{r.wall_s:.1f} s", f"{r.peak_rss_bytes / 1e6:.0f} MB"))
        if not args.markdown:
            print(" | ".join(rows[-1]), flush=True)
    if args.markdown:
        print("| case | vector | outcome | wall | peak RSS |\n|---|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    print(f"{len(rows)} cases, {bad} not as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
