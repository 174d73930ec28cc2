"""Report rendering time for a run document with 500 findings (HTML, plus the other formats for reference).

Run: python bench/bench_html.py [--findings 500] [--repeat 5]
Target: HTML render under 1 s. The document goes through the real build_document
(waivers, grading, redaction) with synthetic findings spread over the catalogue's checks.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.catalogue import load as load_catalogue
from harness.checks.base import Check, CheckMeta
from harness.config import Config
from harness.engine import CheckResult, RunOutcome
from harness.model import Evidence, Finding, Outcome, now_iso
from harness.reports import render, terminal
from harness.run import build_document

TARGET_S = 1.0
OUTCOMES = [Outcome.FAIL, Outcome.WARN, Outcome.PASS, Outcome.COULD_NOT_CHECK, Outcome.NOT_APPLICABLE]
EXCERPT = "\n".join(f"line {i}: some <tag> & 'quoted' content" for i in range(12))


def build(n_findings: int, base: Path) -> dict[str, Any]:
    catalogue = load_catalogue()
    ids = sorted(catalogue.check_ids())
    results = []
    per_check = max(1, n_findings // len(ids))
    made = 0
    for k, cid in enumerate(ids):
        meta = CheckMeta(cid, f"{cid} ok", f"{cid} failed", "why it matters", "how to fix", "repository")
        count = per_check if k < len(ids) - 1 else n_findings - made
        findings = [
            Finding(
                cid,
                OUTCOMES[(k + i) % len(OUTCOMES)],
                f"finding {i} of {cid}",
                [Evidence("file", "lines", path=f"src/mod{i}.py", start_line=i + 1, end_line=i + 5, excerpt=EXCERPT)],
                remediation="do the thing",
                subject=f"src/mod{i}.py",
            )
            for i in range(count)
        ]
        made += count
        results.append(CheckResult(Check(meta, lambda ctx: []), findings, now_iso(), 0.01))
    config = Config(base_dir=base)
    config.project.repo = str(base)
    return build_document(config, catalogue, RunOutcome(results=results), catalogue.check_ids(), now_iso(), 1.0)


def timed(fmt: str, doc: dict[str, Any], repeat: int) -> tuple[float, float, int]:
    times, size = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        size = len(terminal.render(doc) if fmt == "terminal" else render(fmt, doc))
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        doc = build(args.findings, Path(tmp))
    total = sum(len(c["findings"]) for c in doc["checks"])
    status = 0
    for fmt in ("html", "json", "junit", "sarif", "terminal"):
        median, worst, size = timed(fmt, doc, args.repeat)
        note = f" (target < {TARGET_S:g} s)" if fmt == "html" else ""
        print(
            f"{fmt:>5}: {total} findings, {args.repeat} runs: median {median:.3f} s, max {worst:.3f} s, "
            f"{size / 1e6:.2f} MB{note}"
        )
        if fmt == "html" and worst >= TARGET_S:
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
