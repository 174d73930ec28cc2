"""Benchmark: `harness verify --scope repository` on a large generated repository.

Builds (with `git fast-import`) a repository of N commits touching M files, with
feature branches merged back every so often, then runs harness on it as a
subprocess, measuring wall time, CPU and the child's peak RSS. Each cold run gets an
empty cache folder (XDG_CACHE_HOME), so bandit's cache never helps it, and is
interleaved with a run of the floor: the unavoidable work, `git log --numstat
--summary` over the history then `bandit -r` over the tree. Then warm runs (the
cache kept) alternate with runs after a commit changing one file. Prints the
slowest checks of the last cold run. Exits 1 if a median misses a target.

    python bench/bench_repo.py [--commits 10000] [--files 5000] [--repo PATH] [--repeat 3] [--edits 3]
                               [--keep] [--skip CHECK_ID]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 10.0
TARGET_MB = 300.0
TARGET_FLOOR = 1.3  # cold run against the floor measured beside it (issue 14)
TARGET_EDIT = 1.5  # a run after a one-file commit against a warm run
AUTHOR = "Ada Apprentice <ada@example.org>"
START = 1_700_000_000
MERGE_EVERY = 50  # one feature branch merged back per this many commits


def _blob(text: str) -> bytes:
    data = text.encode()
    return b"data %d\n" % len(data) + data + b"\n"


def _content(path: str, version: int) -> str:
    body = "".join(f"    value_{i} = {version * 7 + i}\n" for i in range(12))
    return f'"""{path}"""\n\n\ndef handler_{version}():\n{body}    return value_0\n'


def fast_import_stream(commits: int, files: int, seed: int = 1) -> bytes:
    """A fast-import stream: one commit creating the files, then small changes, branches and merges."""
    rng = random.Random(seed)
    paths = [f"src/pkg{i // 100:03d}/module_{i:05d}.py" for i in range(files)]
    versions = dict.fromkeys(paths, 0)
    out: list[bytes] = []
    mark = 0

    def commit(ref: str, message: str, changes: list[str], parents: list[int]) -> int:
        nonlocal mark
        mark += 1
        when = START + mark * 3600
        out.append(f"commit {ref}\nmark :{mark}\n".encode())
        out.append(f"author {AUTHOR} {when} +0000\ncommitter {AUTHOR} {when} +0000\n".encode())
        out.append(_blob(message))
        if parents:
            out.append(f"from :{parents[0]}\n".encode())
            out.extend(f"merge :{p}\n".encode() for p in parents[1:])
        for path in changes:
            versions[path] += 1
            out.append(f"M 100644 inline {path}\n".encode() + _blob(_content(path, versions[path])))
        return mark

    main = commit("refs/heads/main", "Initial project layout", paths[:], [])
    made = 1
    while made < commits:
        if made % MERGE_EVERY == 0 and made + 3 <= commits:
            ref = f"refs/heads/feature-{made}"
            tip = commit(ref, f"feature {made}: part 1", rng.sample(paths, 2), [main])
            tip = commit(ref, f"feature {made}: part 2", rng.sample(paths, 1), [tip])
            main = commit("refs/heads/main", f"Merge branch 'feature-{made}'", [], [main, tip])
            made += 3
            continue
        verb = "fix: handle empty input in" if made % 37 == 0 else "update"
        main = commit("refs/heads/main", f"{verb} module {made}", rng.sample(paths, rng.randint(1, 3)), [main])
        made += 1
    out.append(b"reset refs/heads/main\nfrom :%d\n\n" % main)
    return b"".join(out)


def build(path: Path, commits: int, files: int) -> float:
    t0 = time.monotonic()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, timeout=60)
    stream = fast_import_stream(commits, files)
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=stream, check=True, timeout=600)
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "-f", "main"], check=True, timeout=300)
    return time.monotonic() - t0


def measure(repo: Path, out: Path, extra: list[str]) -> None:
    """Run harness once; print [wall s, peak RSS MB, exit code, stderr tail, CPU s] as JSON."""
    # This checkout's harness (not whichever one the interpreter has installed), started outside the project.
    cmd = [sys.executable, "-P", "-m", "harness", "verify", "--repo", str(repo), "--scope", "repository"]
    cmd += ["--format", "json", "--out", str(out), "--gate", "none", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")} | {"PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, timeout=600, env=env, cwd=out.parent)
    wall = time.monotonic() - t0
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss_mb = use.ru_maxrss / 1024  # KiB on Linux
    err = proc.stderr.decode(errors="replace")[-2000:]
    print(json.dumps([wall, rss_mb, proc.returncode, err, use.ru_utime + use.ru_stime]))


def measure_floor(repo: Path) -> None:
    """The unavoidable work, one after the other: the history pass and bandit over the tree, each as its
    tool runs by default (`git log --numstat --summary` over every ref; one `bandit -r` process).
    Prints [wall s, CPU s, git wall s, bandit wall s] as JSON."""
    t0 = time.monotonic()
    log = ["git", "-C", str(repo), "log", "--all", "--numstat", "--summary", "--format=%H %P %an %ae %aI %cI %s"]
    subprocess.run(log, stdout=subprocess.PIPE, check=True, timeout=600)
    t1 = time.monotonic()
    with tempfile.TemporaryDirectory() as cwd:  # bandit started outside the project, as harness starts it
        bandit = [sys.executable, "-I", "-m", "bandit", "-f", "json", "-q", "-r", str(repo)]
        subprocess.run(bandit, stdout=subprocess.PIPE, cwd=cwd, timeout=600)  # exit 1: it found low issues
    t2 = time.monotonic()
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps([t2 - t0, use.ru_utime + use.ru_stime, t1 - t0, t2 - t1]))


def commit_one_file(repo: Path, n: int) -> None:
    """A commit changing one Python file (the case bandit's per-content cache is for)."""
    path = repo / "src" / "pkg000" / "module_00000.py"
    path.write_text(path.read_text() + f"\n\ndef edited_{n}():\n    return {n}\n")
    ident = ["-c", "user.name=Ada Apprentice", "-c", "user.email=ada@example.org"]
    subprocess.run(["git", "-C", str(repo), *ident, "commit", "-q", "-am", f"edit {n}"], check=True, timeout=60)


def main() -> int:
    if len(sys.argv) >= 4 and sys.argv[1] == "--measure":
        measure(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:])
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "--floor":
        measure_floor(Path(sys.argv[2]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=10_000)
    ap.add_argument("--files", type=int, default=5_000)
    ap.add_argument("--repo", type=Path, help="measure a clone of this repository instead of generating one")
    ap.add_argument("--keep", action="store_true", help="keep the generated repository")
    ap.add_argument("--skip", action="append", default=[], metavar="CHECK_ID", help="passed to harness verify")
    ap.add_argument("--repeat", type=int, default=3, help="cold runs, each beside a floor run (medians judged)")
    ap.add_argument("--edits", type=int, default=3, help="one-file commit runs, each after a warm run")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="harness-bench-repo-"))
    try:
        repo, out = tmp / "repo", tmp / "report"
        if args.repo:
            subprocess.run(["git", "clone", "-q", str(args.repo), str(repo)], check=True, timeout=600)
            print(f"repository: a clone of {args.repo}")
        else:
            built = build(repo, args.commits, args.files)
            print(f"repository: {args.commits} commits, {args.files} files, built in {built:.1f} s")
        print(f"machine speed: a reference Python loop takes {_reference_loop():.2f} s (shared VMs vary)")
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return _runs(args, tmp, repo, out)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept: {tmp / 'repo'}")


def _runs(args: argparse.Namespace, tmp: Path, repo: Path, out: Path) -> int:
    colds, floors = [], []
    for i in range(max(1, args.repeat)):
        for kind in ("floor", "cold") if i % 2 == 0 else ("cold", "floor"):  # interleaved: same machine state
            if kind == "floor":
                floor = _floor_in_child(repo)
                floors.append(floor)
                print(f"  floor:    {floor[0]:.2f} s wall ({floor[2]:.2f} git log + {floor[3]:.2f} bandit), "
                      f"{floor[1]:.1f} s CPU")  # fmt: skip
                continue
            shutil.rmtree(tmp / "cache", ignore_errors=True)
            run = _measure_in_child(repo, out, tmp / "cache", args.skip)
            if run is None:
                return 1
            colds.append(run)
            print(f"  cold run: {run[0]:.2f} s wall, {run[3]:.1f} s CPU, peak RSS {run[1]:.0f} MB, exit {run[2]}")
    doc = json.loads((out / "harness-report.json").read_text())
    warms, edits = [], []
    for n in range(max(1, args.edits)):
        for kind in ("warm", "one-file commit"):
            if kind != "warm":
                commit_one_file(repo, n)
            run = _measure_in_child(repo, out, tmp / "cache", args.skip)
            if run is None:
                return 1
            (warms if kind == "warm" else edits).append(run)
            print(f"  {kind} run: {run[0]:.2f} s wall, {run[3]:.1f} s CPU, exit {run[2]}")
    cold = statistics.median(r[0] for r in colds)
    floor = statistics.median(f[0] for f in floors)
    peak = max(r[1] for r in colds)
    warm, edit = statistics.median(r[0] for r in warms), statistics.median(r[0] for r in edits)
    cpu = statistics.median(r[3] for r in colds) / statistics.median(f[1] for f in floors)
    checks = sorted(doc["checks"], key=lambda c: c["duration_s"], reverse=True)
    print(
        f"harness verify --scope repository, cold: median {cold:.2f} s (min {min(r[0] for r in colds):.2f}, "
        f"max {max(r[0] for r in colds):.2f}) over {len(colds)} runs, peak RSS {peak:.0f} MB"
    )
    print(f"floor (git log --numstat --summary, then bandit -r): median {floor:.2f} s; "
          f"cold/floor {cold / floor:.2f}x wall, {cpu:.2f}x CPU")  # fmt: skip
    print(f"one-file commit: median {edit:.2f} s against warm {warm:.2f} s: {edit / warm:.2f}x")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"targets: < {TARGET_S:g} s, < {TARGET_MB:g} MB, cold/floor <= {TARGET_FLOOR:g}x, "
          f"one-file/warm <= {TARGET_EDIT:g}x; {len(checks)} checks; slowest (last cold run):")  # fmt: skip
    for c in checks[:8]:
        print(f"  {c['duration_s']:7.3f} s  {c['id']:<28} {c['outcome']}  {c['status']}")
    ok = cold < TARGET_S and peak < TARGET_MB and cold / floor <= TARGET_FLOOR and edit / warm <= TARGET_EDIT
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


def _floor_in_child(repo: Path) -> tuple[float, float, float, float]:
    probe = subprocess.run(
        [sys.executable, __file__, "--floor", str(repo)], capture_output=True, text=True, timeout=900
    )
    wall, cpu, git_s, bandit_s = json.loads(probe.stdout.strip().splitlines()[-1])
    return float(wall), float(cpu), float(git_s), float(bandit_s)


def _reference_loop() -> float:
    """A fixed pure-Python workload, printed so that figures from a busy or throttled machine can be told apart."""
    t0 = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.perf_counter() - t0


def _measure_in_child(repo: Path, out: Path, cache: Path, skip: list[str]) -> tuple[float, float, int, float] | None:
    # Measured in a fresh child: RUSAGE_CHILDREN of this process would include git fast-import and earlier runs.
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    probe = subprocess.run(
        [sys.executable, __file__, "--measure", str(repo), str(out), *(f"--skip={c}" for c in skip)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    try:
        wall, rss_mb, code, stderr, cpu = json.loads(probe.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(f"measurement failed: {probe.stderr[-2000:]}")
        return None
    if not (out / "harness-report.json").is_file():
        print(f"no report (exit {code}): {stderr}")
        return None
    return float(wall), float(rss_mb), int(code), float(cpu)


if __name__ == "__main__":
    sys.exit(main())
