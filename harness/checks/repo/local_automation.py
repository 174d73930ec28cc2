"""repo.local-automation: one command sets the project up locally and one runs its tests, and both exist."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import inventory
from harness.probes.repository import RepoSnapshot

ID = "repo.local-automation"
SETUP = re.compile(
    r"^(setup|set-up|install|bootstrap|init|up|dev|start|run|demo|deps|venv|env|all|provision|build-local"
    r"|local|serve|compose-up|deploy-local)([-_:].*)?$",
    re.I,
)
TEST = re.compile(r"^(test|tests|check|ci|verify|unit|pytest|lint-and-test|coverage)([-_:].*)?$", re.I)
MAKE_TARGET = re.compile(r"^([A-Za-z0-9_.\-/]+)\s*:(?!=)\s*([^#]*)$")
JUST_RECIPE = re.compile(r"^@?([A-Za-z0-9_-]+)(\s+[^:=]*)?:(?!=)\s*([^#]*)$")
SCRIPT_DIRS = ("scripts/", "bin/", "script/", "tools/")
NPM_NO_TEST = "no test specified"
README_CMD = re.compile(
    r"(?:^|[\s`$])(?P<cmd>make\s+(?P<make>[\w.-]+)|just\s+(?P<just>[\w-]+)|npm\s+run\s+(?P<npm>[\w:-]+)"
    r"|yarn\s+(?P<yarn>[\w:-]+)|(?P<script>\./[\w./-]+\.(?:sh|ps1|py)|(?:scripts|bin)/[\w./-]+)"
    r"(?:[ \t]+(?P<sub>[A-Za-z][\w:-]*))?|docker[- ]compose\s+up|tox\b|nox\b)"
)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# A shell script that dispatches on its first argument: `case "${1:-}" in test) ... ;; esac`.
_CASE = re.compile(r"""^\s*case\s+["']?\$\{?(1|@|\*)\b[^}\s"']*\}?["']?\s+in\b""")
_ARM = re.compile(r"^\s*\(?\s*([^()\s#][^()#]*?)\s*\)\s*(.*)$")
_FUNCTION = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*(?:\(\s*\))?\s*\{")
_DISPATCH_ALL = re.compile(r"""^\s*["']?\$(@|\{@\}|\{1\}|1)["']?(\s+["']?\$\{?@:?2?\}?["']?)?\s*$""")
TEST_RUNNER = re.compile(
    r"\b(pytest|py\.test|unittest|tox|nox|(npm|yarn|pnpm)\s+(run\s+)?test|go\s+test|cargo\s+test"
    r"|mvnw?\s+([\w:.=-]+\s+)*(test|verify)|gradlew?\s+([\w:.=-]+\s+)*(test|check)|jest|vitest|mocha|bats|phpunit"
    r"|rspec|dotnet\s+test|ctest|make\s+(test|check))\b"
)


@dataclass(frozen=True)
class SubCommand:
    line: int
    body: str  # the arm's commands, with the bodies of the script's functions it calls


@dataclass(frozen=True)
class Dispatch:
    """The sub-commands a script dispatches on; `open` when unknown ones fall through to something that runs."""

    commands: dict[str, SubCommand]
    open: bool


@dataclass(frozen=True)
class Task:
    path: str
    line: int
    name: str
    role: str  # setup, test
    how: str


def _role(name: str) -> str | None:
    base = PurePosixPath(name).stem.lower()
    if TEST.match(base) or base.startswith("test") or base.endswith(("-test", "_test", "-tests", "_tests")):
        return "test"
    if SETUP.match(base) or base.endswith(("-setup", "_setup", "-up", "_up")):
        return "setup"
    return None


def _functions(lines: list[str]) -> dict[str, tuple[int, str]]:
    """Shell function name -> (line, body), for functions whose body closes with a `}` line."""
    out: dict[str, tuple[int, str]] = {}
    i = 0
    while i < len(lines):
        m = _FUNCTION.match(lines[i])
        if m and m.group(1) not in ("if", "for", "while", "case", "then", "do"):
            body = [lines[i][m.end() :]]
            j = i + 1
            one_liner = body[0].rstrip().endswith("}")  # log() { printf ...; }
            while not one_liner and j < len(lines) and not lines[j].startswith("}") and lines[j].strip() != "}":
                body.append(lines[j])
                j += 1
            out[m.group(1)] = (i + 1, "\n".join(body))
            i = j if not one_liner else i
        i += 1
    return out


def _expand(body: str, funcs: dict[str, tuple[int, str]]) -> str:
    """The body plus the bodies of the functions it calls, transitively: `test) setup; run_tests ;;`."""
    seen: set[str] = set()
    todo, parts = [body], []
    while todo:
        text = todo.pop()
        parts.append(text)
        for word in set(re.findall(r"[A-Za-z_][\w-]*", text)):
            if word in funcs and word not in seen:
                seen.add(word)
                todo.append(funcs[word][1])
    return "\n".join(parts)


def script_dispatch(text: str) -> Dispatch | None:
    """The sub-commands of a `case "$1" in` script, or of a script that ends by calling `"$@"` as a function."""
    lines = text.splitlines()
    funcs = _functions(lines)
    commands: dict[str, SubCommand] = {}
    open_ = False
    found = False
    i = 0
    while i < len(lines):
        if not _CASE.match(lines[i]):
            i += 1
            continue
        found = True
        depth, arm = 0, None
        j = i + 1
        while j < len(lines):
            ln = lines[j].strip()
            if re.match(r"case\b", ln):
                depth += 1
            elif re.match(r"esac\b", ln):
                if depth == 0:
                    break
                depth -= 1
            if arm is None and depth == 0 and (m := _ARM.match(ln)):
                arm = ([n.strip().strip("\"'") for n in m.group(1).split("|")], j + 1, [m.group(2)])
            elif arm is not None:
                arm[2].append(ln)
            if arm is not None and depth == 0 and ln.endswith(";;"):
                names, line, arm_lines = arm
                full = _expand("\n".join(arm_lines), funcs)
                for name in names:
                    if name == "*":
                        open_ = open_ or not re.search(r"\b(exit|return)\s+[1-9]|usage", full)
                    elif re.fullmatch(r"[\w.:-]+", name):
                        commands.setdefault(name, SubCommand(line, full))
                arm = None
            j += 1
        i = j + 1
    if not found and any(_DISPATCH_ALL.match(ln) for ln in lines):
        for name, (line, body) in funcs.items():
            commands[name] = SubCommand(line, _expand(body, funcs))
        found = bool(commands)
    return Dispatch(commands, open_) if found else None


def _make_targets(text: str) -> dict[str, tuple[int, bool]]:
    """Target -> (line, does something: has a recipe or prerequisites)."""
    out: dict[str, tuple[int, bool]] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = MAKE_TARGET.match(line)
        if not m or line.startswith("\t") or m.group(1).startswith("."):
            continue
        recipe = i + 1 < len(lines) and lines[i + 1].startswith(("\t", "    ")) and bool(lines[i + 1].strip())
        for name in m.group(1).split():
            out[name] = (i + 1, recipe or bool(m.group(2).strip()))
    return out


def collect(
    ctx: Context, repo: RepoSnapshot
) -> tuple[list[Task], list[tuple[str, str]], dict[str, set[str]], dict[str, Dispatch]]:
    tasks: list[Task] = []
    dispatches: dict[str, Dispatch] = {}
    problems: list[tuple[str, str]] = []
    names: dict[str, set[str]] = {"make": set(), "just": set(), "npm": set()}
    for f in repo.files:
        if not f.is_regular or inventory.is_vendored(f.path):
            continue
        low = f.name.lower()
        if low in ("makefile", "gnumakefile") or f.suffix == ".mk" or low == "justfile" or low == ".justfile":
            text = repo.read_text(f.path)
            if text is None:
                continue
            tool = "just" if "justfile" in low else "make"
            if tool == "make":
                targets = _make_targets(text)
            else:
                targets = {}
                lines = text.splitlines()
                for i, recipe_line in enumerate(lines):
                    if (m := JUST_RECIPE.match(recipe_line)) and not recipe_line.startswith((" ", "\t")):
                        body = i + 1 < len(lines) and lines[i + 1].startswith((" ", "\t"))
                        targets[m.group(1)] = (i + 1, body or bool(m.group(3).strip()))
            names[tool] |= set(targets)
            for name, (line, acts) in targets.items():
                if acts and (role := _role(name)):
                    tasks.append(Task(f.path, line, name, role, f"{tool} {name}"))
        elif low == "package.json":
            p = inventory.parsed(ctx, repo, f)
            if p is None:
                continue
            if p.error or not p.docs or not isinstance(p.docs[0], dict):
                problems.append((f.path, p.error or "not a JSON object"))
                continue
            scripts = p.docs[0].get("scripts")
            for name, cmd in scripts.items() if isinstance(scripts, dict) else []:
                names["npm"].add(name)
                if isinstance(cmd, str) and cmd.strip() and NPM_NO_TEST not in cmd and (role := _role(name)):
                    line = inventory.line_of(p.text, re.compile(rf'"{re.escape(name)}"\s*:'))
                    tasks.append(Task(f.path, line, name, role, f"npm run {name}"))
        elif low in ("tox.ini", "noxfile.py"):
            text = repo.read_text(f.path) or ""
            if ("[testenv" in text or "[tox" in text) or "@nox.session" in text:
                tasks.append(Task(f.path, 1, low, "test", low.removesuffix("file.py").removesuffix(".ini")))
        elif low == "pyproject.toml":
            p = inventory.parsed(ctx, repo, f)
            if p is None:
                continue
            if p.error:
                problems.append((f.path, p.error))
                continue
            tool = p.docs[0].get("tool", {}) if p.docs and isinstance(p.docs[0], dict) else {}
            poe = tool.get("poe", {}).get("tasks", {}) if isinstance(tool.get("poe"), dict) else {}
            for name in poe if isinstance(poe, dict) else []:
                if role := _role(name):
                    line = inventory.line_of(p.text, re.compile(rf"^\s*{re.escape(name)}\s*=", re.M))
                    tasks.append(Task(f.path, line, name, role, f"poe {name}"))
            if "tox" in tool:
                tasks.append(Task(f.path, inventory.line_of(p.text, r"\[tool\.tox"), "tox", "test", "tox"))
        elif low in ("taskfile.yml", "taskfile.yaml"):
            p = inventory.parsed(ctx, repo, f)
            if p is None or p.error:
                if p is not None:
                    problems.append((f.path, p.error or ""))
                continue
            raw = p.docs[0].get("tasks") if p.docs and isinstance(p.docs[0], dict) else None
            for name in raw if isinstance(raw, dict) else []:
                if role := _role(str(name)):
                    line = inventory.line_of(p.text, re.compile(rf"^\s*{re.escape(str(name))}\s*:", re.M))
                    tasks.append(Task(f.path, line, str(name), role, f"task {name}"))
        elif (
            (f.path.startswith(SCRIPT_DIRS) or "/" not in f.path)
            and f.suffix in (".sh", ".ps1", ".bash", "")
            and (f.suffix or f.path.startswith(SCRIPT_DIRS))
        ):
            text = repo.read_text(f.path) or ""
            commands = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
            if f.suffix in (".sh", ".bash", "") and (dispatch := script_dispatch(text)):
                # A dispatching script is judged by its sub-commands, not by its file name.
                dispatches[f.path] = dispatch
                for name, sub in dispatch.commands.items():
                    role = _role(name)
                    if role == "test" and not TEST_RUNNER.search(sub.body):
                        continue  # a `test` arm that runs no test runner tests nothing
                    if role and sub.body.strip(" ;\n"):
                        tasks.append(Task(f.path, sub.line, name, role, f"./{f.path} {name}"))
            elif commands and (role := _role(f.name)):
                tasks.append(Task(f.path, 1, f.name, role, f"./{f.path}"))
    for c in inventory.compose_files(ctx, repo):
        if c.error:
            problems.append((c.path, c.error))
        elif c.services:
            tasks.append(Task(c.path, c.line_of_key("services"), "compose", "setup", f"docker compose -f {c.path} up"))
            for name, svc in c.services.items():
                if re.search(
                    r"\b(pytest|npm test|go test|tox|unittest|jest|vitest|mvn test)\b",
                    json.dumps(svc.get("command", "")),
                ):
                    tasks.append(Task(c.path, c.line_of_key(name, "services"), name, "test", f"compose service {name}"))
    return tasks, problems, names, dispatches


def _code(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, code, whole line) for fenced code and inline code spans: prose such as "make the grade" is
    not a command."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if m := _FENCE.match(line):
            if fence is None:
                fence = m.group(1)
            elif m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if fence is not None:
            yield number, re.sub(r"(^|\s)#.*$", "", line), line  # a shell comment is prose too
        else:
            for span in _INLINE_CODE.finditer(line):
                yield number, span.group(2), line


def _readme_refs(
    repo: RepoSnapshot, names: dict[str, set[str]], dispatches: dict[str, Dispatch]
) -> tuple[list[Evidence], list[Evidence]]:
    """README commands whose target exists, and those that point at nothing."""
    ok: list[Evidence] = []
    broken: list[Evidence] = []
    for f in repo.files:
        if not (f.name.lower().startswith("readme") and "/" not in f.path):
            continue
        text = repo.read_text(f.path) or ""
        for number, code, line in _code(text):
            for m in README_CMD.finditer(code):
                make, just, npm, yarn, sub = m["make"], m["just"], m["npm"], m["yarn"], m["sub"]
                path = (m["script"] or "").removeprefix("./").rstrip(".")
                dispatch = dispatches.get(path)
                missing = (
                    (make and make not in names["make"])
                    or (just and just not in names["just"])
                    or ((npm or yarn) and (npm or yarn) not in names["npm"] and (yarn or npm) not in ("install", "ci"))
                    or (path and not repo.exists(path))
                    or (dispatch and sub and not dispatch.open and sub not in dispatch.commands)
                )
                shown = m["cmd"].strip()
                what = f"no sub-command {sub!r} in {path}" if repo.exists(path) and missing else None
                ev = inventory.evidence_at(
                    repo, f.path, number, f"README documents `{shown}`" + (f": {what}" if what else ""), line
                )
                (broken if missing else ok).append(ev)
    return ok, broken


@check(
    ID,
    title="One command sets the project up locally and one runs all its tests",
    failure_title="No automated local set-up or test command",
    proves="Anyone can build, start and test the whole project from scratch on their machine without manual steps "
    "(AU-1).",
    remediation=(
        "Add automation for both: e.g. Makefile targets `setup`/`up` and `test`, scripts/setup.sh and scripts/test.sh, "
        "a compose file for the stack and tox/nox or package.json scripts for the tests; document them in the README."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    tasks, problems, names, dispatches = collect(ctx, repo)
    setup = [t for t in tasks if t.role == "setup"]
    test = [t for t in tasks if t.role == "test"]
    evidence = [
        inventory.evidence_at(repo, t.path, t.line, f"{t.role}: `{t.how}`", data={"role": t.role})
        for t in (setup[:5] + test[:5])
    ]
    documented, broken = _readme_refs(repo, names, dispatches)
    evidence += documented[:5]
    for path, why in problems:
        yield finding(
            ID,
            Outcome.WARN,
            f"{path} could not be parsed ({why}); its tasks were not counted",
            [inventory.evidence_at(repo, path, 1, why)],
            remediation=f"Fix the syntax of {path}.",
            subject=path,
        )
    if broken:
        yield finding(
            ID,
            Outcome.WARN,
            f"the README documents {len(broken)} command(s) that point at no target, script or sub-command in the "
            "tree: " + ", ".join(e.summary.removeprefix("README documents ") for e in broken[:3]),
            broken[:10],
            remediation="Make the README commands match the Makefile targets, scripts and sub-commands that exist.",
            subject="README",
        )
    scattered = _per_service_only(setup)
    if scattered:
        yield finding(
            ID,
            Outcome.FAIL,
            f"no local set-up of the project as a whole: only each service's own package.json scripts ({scattered}), "
            "run one folder at a time by hand",
            evidence,
            remediation="Add one command that sets every service up from scratch (a compose file, a Makefile target, "
            "a script or a root package.json) and document it in the README.",
        )
        return
    missing = [name for name, found in (("set-up", setup), ("test", test)) if not found]
    if missing:
        yield finding(
            ID,
            Outcome.FAIL,
            f"no local {' or '.join(missing)} automation found"
            + (f" (found: {', '.join(sorted({t.how for t in tasks}))})" if tasks else ""),
            evidence,
        )
        return
    yield finding(
        ID,
        Outcome.PASS,
        f"set-up: {', '.join(t.how for t in setup[:3])}; test: {', '.join(t.how for t in test[:3])}",
        evidence,
    )


def _per_service_only(setup: list[Task]) -> str:
    """The folders, when the only set-up is package.json scripts spread over several of them and none at the root.

    Several services each with its own `npm run start` (a client, a server, a worker) and nothing that ties them
    together is no set-up of the project from scratch (AU-1): someone has to know which to run, where, in which
    order. One package.json, wherever it is, is the project itself; a root one (workspaces) ties the rest."""
    if not setup or any(not t.path.endswith("package.json") for t in setup):
        return ""
    folders = sorted({t.path.rpartition("/")[0] for t in setup})
    if len(folders) < 2 or "" in folders:
        return ""
    return ", ".join(f"{d}/package.json" for d in folders[:4]) + (" ..." if len(folders) > 4 else "")
