"""Interleaved cold runs of two harness checkouts on one repository: wall, CPU and peak RSS per run, and the ratios.

    git worktree add /tmp/base-wt BASE_COMMIT
    python bench/bench_repo_compare.py REPO ROUNDS [BASE_TREE] [NEW_TREE]

REPO is any repository (e.g. the one `bench_repo.py --keep` builds). Each run has a fresh cache folder.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

repo, rounds = Path(sys.argv[1]), int(sys.argv[2])
here = str(Path(__file__).resolve().parents[1])
trees = {
    "base": sys.argv[3] if len(sys.argv) > 3 else "/tmp/base-wt",
    "new": sys.argv[4] if len(sys.argv) > 4 else here,
}
py = sys.executable
res = {k: [] for k in trees}
print(f"load average {os.getloadavg()}")
for r in range(rounds):
    for name, tree in list(trees.items()) if r % 2 == 0 else list(trees.items())[::-1]:
        tmp = Path(tempfile.mkdtemp())
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")} | {
            "PYTHONPATH": tree,
            "XDG_CACHE_HOME": str(tmp / "cache"),
            "XDG_CONFIG_HOME": str(tmp / "cfg"),
        }
        cmd = [
            py,
            "-P",
            "-c",
            "import resource,subprocess,sys,time,json;t=time.monotonic();"
            "p=subprocess.run(sys.argv[1:],capture_output=True);"
            "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
            "print(json.dumps([time.monotonic()-t,u.ru_maxrss/1024,p.returncode,u.ru_utime+u.ru_stime]))",
            py,
            "-P",
            "-m",
            "harness",
            "verify",
            "--repo",
            str(repo),
            "--scope",
            "repository",
            "--format",
            "json",
            "--out",
            str(tmp / "out"),
            "--gate",
            "none",
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp, timeout=900)
        wall, rss, code, cpu = json.loads(out.stdout.strip().splitlines()[-1])
        res[name].append((wall, rss, cpu))
        print(f"round {r} {name}: {wall:.2f} s, {cpu:.1f} s CPU, {rss:.0f} MB, exit {code}", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
for name, runs in res.items():
    w = [x[0] for x in runs]
    print(
        f"{name}: median {statistics.median(w):.2f} s (min {min(w):.2f}, max {max(w):.2f}), "
        f"CPU median {statistics.median(x[2] for x in runs):.1f} s, peak {max(x[1] for x in runs):.0f} MB"
    )
for i, what in ((0, "wall"), (2, "CPU")):
    ratio = statistics.median(x[i] for x in res["new"]) / statistics.median(x[i] for x in res["base"])
    print(f"ratio new/base (medians, {what}): {ratio:.2f}")
print(f"load average {os.getloadavg()}")
