"""Bench: harness on real public projects, against an assessor's hand verdicts.

For each project of `bench/real_projects.toml` (owner/name, the commit judged, and one
verdict per AM1 criterion), makes a work tree of that commit from the local mirror
(`/work/.mirror/OWNER+NAME/repo`, as the `fetch` tool leaves it; full history, or a
depth-1 clone where the entry says `shallow = true`), runs this checkout's harness on it:

    python -m harness verify --repo TREE --scope repository --format json --gate none --out TMP

and compares each criterion's status with the hand verdict. Prints one row per project
(criteria agreeing, disagreeing, wall time) and, with `--details`, every disagreement
with harness's reason. A project whose mirror or commit is absent is skipped with a line
saying so: this is a bench tool for a machine that holds the mirrors, not a test.

    python bench/real_projects.py [--details] [--markdown] [--only NAME ...] [--save DIR]
                                  [--corpus FILE] [--mirrors DIR]

Verdicts: met, not_met, assessor ("Explains ..." criteria), undetermined (the repository
cannot tell, e.g. live-only criteria). With --scope repository a criterion harness
reports `out_of_scope` agrees with an `undetermined` verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / "real_projects.toml"
MIRRORS = Path("/work/.mirror")
VERDICTS = {"met", "not_met", "assessor", "undetermined"}
SLOW_S = 10.0
TIMEOUT_S = 600.0


@dataclass
class Project:
    name: str
    commit: str
    stack: str
    ci: str
    shallow: bool
    verdicts: dict[str, str]
    reasons: dict[str, str]


@dataclass
class Result:
    project: Project
    wall_s: float = 0.0
    exit_code: int | None = None
    statuses: dict[str, str] = field(default_factory=dict)
    harness_reasons: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    skipped: str | None = None
    absent_files: int = 0

    def unjudged(self) -> list[str]:
        return [cid for cid in self.statuses if cid not in self.project.verdicts]

    def disagreements(self) -> list[tuple[str, str, str, str]]:
        rows = []
        for cid, mine in self.project.verdicts.items():
            theirs = self.statuses.get(cid, "missing")
            if not agrees(mine, theirs):
                rows.append((cid, mine, theirs, self.harness_reasons.get(cid, "")))
        return rows


def agrees(mine: str, theirs: str) -> bool:
    return mine == theirs or (mine == "undetermined" and theirs == "out_of_scope")


def load_corpus(path: Path) -> list[Project]:
    """The corpus file's projects; a file that cannot be used stops the run with one line naming why."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SystemExit(f"{path}: cannot read the corpus: {exc}") from None
    defaults = data.get("defaults", {}).get("verdicts", {})
    projects = []
    for number, entry in enumerate(data.get("project", []), 1):
        name, commit = entry.get("name"), entry.get("commit")
        if not isinstance(name, str) or "/" not in name or not isinstance(commit, str):
            raise SystemExit(f'{path}: project {number} needs `name = "owner/name"` and `commit`')
        verdicts = {**defaults, **entry.get("verdicts", {})}
        bad = {k: v for k, v in verdicts.items() if v not in VERDICTS}
        if bad:
            raise SystemExit(f"{path}: {name}: unknown verdicts {bad} (use {', '.join(sorted(VERDICTS))})")
        projects.append(
            Project(
                name=name,
                commit=commit,
                stack=entry.get("stack", ""),
                ci=entry.get("ci", ""),
                shallow=bool(entry.get("shallow", False)),
                verdicts=verdicts,
                reasons=dict(entry.get("reasons", {})),
            )
        )
    return projects


def git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def mirror_of(mirrors: Path, name: str) -> Path:
    return mirrors / name.replace("/", "+", 1) / "repo"


def make_tree(mirror: Path, commit: str, tree: Path, shallow: bool) -> tuple[str | None, int]:
    """Check out `commit` of `mirror` into `tree`: (why it could not or None, files left out).

    A mirror may lack its largest blobs; `git checkout` then stops at the first and leaves
    most of the tree unwritten, so every file that can be is written with checkout-index
    and the ones absent are counted.
    """
    if shallow:
        # file:// makes git use the pack protocol, so --depth applies; the local
        # upload-pack may serve any commit by id.
        steps = [
            ("init", "-q", str(tree)),
            ("-C", str(tree), "fetch", "-q", "--depth", "1",
             "--upload-pack", "git -c uploadpack.allowAnySHA1InWant=true upload-pack",
             mirror.resolve().as_uri(), commit),
            ("-C", str(tree), "checkout", "-q", "--detach", "FETCH_HEAD"),
        ]  # fmt: skip
    else:
        steps = [
            ("clone", "-q", "--no-checkout", str(mirror), str(tree)),
            ("-C", str(tree), "checkout", "-q", "--detach", commit),
        ]
    for step in steps:
        done = git(*step)
        if done.returncode != 0:
            return f"git {step[0] if step[0] != '-C' else step[2]} failed: {done.stderr.strip()[:200]}", 0
    git("read-tree", "HEAD", cwd=tree)
    git("checkout-index", "--all", "--force", cwd=tree)
    status = git("status", "--porcelain", "--untracked-files=no", cwd=tree).stdout
    return None, sum(1 for line in status.splitlines() if line[:2].strip() == "D")


def run_harness(tree: Path, out: Path, cache: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    cmd = [sys.executable, "-m", "harness", "verify", "--repo", str(tree), "--scope", "repository",
           "--format", "json", "--gate", "none", "--out", str(out)]  # fmt: skip
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))  # a cold run: no cached bandit report
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    return time.perf_counter() - start, done


def judge(project: Project, mirrors: Path, save: Path | None = None) -> Result:
    result = Result(project)
    mirror = mirror_of(mirrors, project.name)
    if not (mirror / "HEAD").is_file():
        result.skipped = f"mirror {mirror} absent"
        return result
    if git("cat-file", "-e", f"{project.commit}^{{commit}}", cwd=mirror).returncode != 0:
        result.skipped = f"commit {project.commit[:12]} not in {mirror}"
        return result
    with tempfile.TemporaryDirectory(prefix="real-projects-") as tmp:
        tree, out, cache = Path(tmp, "tree"), Path(tmp, "out"), Path(tmp, "cache")
        problem, result.absent_files = make_tree(mirror, project.commit, tree, project.shallow)
        if problem:
            result.error = problem
            return result
        try:
            result.wall_s, done = run_harness(tree, out, cache)
        except subprocess.TimeoutExpired:
            result.error = f"harness did not finish in {TIMEOUT_S:.0f} s"
            return result
        result.exit_code = done.returncode
        report = out / "harness-report.json"
        if not report.is_file():
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            result.error = f"no report (exit {done.returncode}): {tail[:200]}"
            return result
        text = report.read_text(encoding="utf-8")
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            name = project.name.replace("/", "+") + (".shallow" if project.shallow else "")
            (save / f"{name}.json").write_text(text, encoding="utf-8")
        document = json.loads(text)
    for criterion in document.get("criteria", []):
        cid = criterion["id"]
        result.statuses[cid] = criterion["status"]
        held = criterion.get("held_back_by") or []
        why = "; ".join(f"{h['check_id']} {h['outcome']}: {h['reason']}" for h in held[:3])
        result.harness_reasons[cid] = why or criterion.get("reason", "")
    return result


def label(project: Project) -> str:
    return project.name + (" (shallow)" if project.shallow else "")


def notes(r: Result) -> str:
    found = [f"SLOW (> {SLOW_S:.0f} s)"] if r.wall_s > SLOW_S else []
    if r.absent_files:
        found.append(f"{r.absent_files} large files absent from the mirror")
    if r.unjudged():
        found.append("no verdict for " + ", ".join(r.unjudged()))
    return "; ".join(found)


def print_table(results: list[Result], details: bool) -> None:
    print(f"{'project':47} {'agree':>5} {'disagree':>8} {'wall s':>7}  note")
    agree_total = disagree_total = 0
    per_criterion: dict[str, int] = {}
    per_kind: dict[str, int] = {}
    for r in results:
        if r.skipped or r.error:
            why = f"skipped: {r.skipped}" if r.skipped else f"error: {r.error}"
            print(f"{label(r.project):47} {'-':>5} {'-':>8} {'-':>7}  {why}")
            continue
        rows = r.disagreements()
        agree = len(r.project.verdicts) - len(rows)
        agree_total += agree
        disagree_total += len(rows)
        for cid, mine, theirs, _ in rows:
            per_criterion[cid] = per_criterion.get(cid, 0) + 1
            per_kind[kind(mine, theirs)] = per_kind.get(kind(mine, theirs), 0) + 1
        print(f"{label(r.project):47} {agree:5d} {len(rows):8d} {r.wall_s:7.1f}  {notes(r)}")
        if details:
            for cid, mine, theirs, why in rows:
                print(f"    {cid:6} mine={mine:12} harness={theirs:12} {why[:300]}")
                if cid in r.project.reasons:
                    print(f"           my reason: {r.project.reasons[cid]}")
    judged = agree_total + disagree_total
    if judged:
        share = 100 * agree_total / judged
        print(f"total: {agree_total} of {judged} verdicts agree ({share:.0f} %), {disagree_total} disagree")
    if per_criterion:
        print("disagreements per criterion: " + ", ".join(f"{k} {v}" for k, v in sorted(per_criterion.items())))
        print("disagreements by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(per_kind.items())))


def kind(mine: str, theirs: str) -> str:
    """Which way a disagreement goes: a false pass is the one that matters most."""
    if theirs == "met":
        return "false pass"
    if mine == "met" and theirs == "not_met":
        return "false fail"
    if theirs in ("undetermined", "out_of_scope", "assessor"):
        return "harness undecided"
    return "harness decided what the repository cannot tell" if mine == "undetermined" else "other"


SHORT = {"met": "M", "not_met": "x", "undetermined": "?", "assessor": "A", "out_of_scope": "-", "missing": " "}


def print_markdown(results: list[Result]) -> None:
    """The criterion-by-criterion matrix: mine/harness's, marked where they differ."""
    done = [r for r in results if not (r.skipped or r.error)]
    if not done:
        return
    ids = list(done[0].statuses)
    print("| project | " + " | ".join(ids) + " |")
    print("|---|" + "---|" * len(ids))
    for r in done:
        cells = []
        for cid in ids:
            mine, theirs = r.project.verdicts.get(cid, "missing"), r.statuses.get(cid, "missing")
            cell = f"{SHORT[mine]}/{SHORT[theirs]}"
            cells.append(cell if agrees(mine, theirs) else f"**{cell}**")
        print(f"| {label(r.project)} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--mirrors", type=Path, default=MIRRORS)
    parser.add_argument("--only", action="append", default=[], help="a project name (repeatable)")
    parser.add_argument("--details", action="store_true", help="list every disagreement")
    parser.add_argument("--save", type=Path, help="keep each project's harness-report.json in this folder")
    parser.add_argument("--markdown", action="store_true", help="also print the verdict matrix as a Markdown table")
    args = parser.parse_args(argv)
    projects = load_corpus(args.corpus)
    if args.only:
        projects = [p for p in projects if p.name in args.only]
    one, five, fifteen = os.getloadavg()
    print(f"load average: {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores; harness from {ROOT}")
    results = []
    for project in projects:
        result = judge(project, args.mirrors, args.save)
        if result.skipped:
            print(f"skip {project.name}: {result.skipped}", file=sys.stderr)
        results.append(result)
    print_table(results, args.details)
    if args.markdown:
        print_markdown(results)
    one, five, fifteen = os.getloadavg()
    print(f"load average at the end: {one:.2f} {five:.2f} {fifteen:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
