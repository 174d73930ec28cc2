"""What a pipeline command runs indirectly: an image's CMD, a compose service's command, a make recipe.

`docker run app-test` runs whatever the Dockerfile stage that built `app-test` (in the same pipeline)
says in ENTRYPOINT/CMD; `docker compose run tests` runs the service's command, entrypoint or its image's
CMD; `make ci` runs the target's recipe. Each such command is recorded on the pipeline Command (`inner`)
with where it is defined, so that the classifier judges what really runs.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from typing import Any

from harness.probes.inventory import parse_dockerfile, split_image
from harness.probes.pipelines.model import Command, Pipeline, Step
from harness.probes.pipelines.package_scripts import package_script
from harness.probes.pipelines.paths import SCRIPT_SUFFIXES, Tree, script_path
from harness.probes.pipelines.shell import Simple, chdir, split
from harness.probes.pipelines.yamlio import as_str, load_yaml, mapping
from harness.probes.repository import RepoSnapshot

MAX_FILE_BYTES = 500_000
MAX_MAKE_DEPTH = 3
MAX_INDIRECT_DEPTH = 3  # an ENTRYPOINT that runs a script that runs make
MAX_INNER = 400
# Lines after a script's last real command that keep its status: `wait`, a bare `exit`, block ends, messages.
SCRIPT_TAIL = re.compile(r"wait|exit|fi|done|esac|\}|(echo|printf)\b.*")
COMPOSE_DEFAULTS = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
BUILD_VALUE_OPTS = {"-t", "--tag", "-f", "--file", "--target", "--build-arg", "--platform", "--label", "--secret"}
BUILD_VALUE_OPTS |= {"--cache-from", "--cache-to", "--network", "--progress", "--iidfile", "--output", "-o"}
# `NAME: value`, `NAME = 'value'`, `export NAME=value`, `env.NAME = "value"`: a variable a pipeline file sets.
# Blanks only within the line (`[ \t]`): a `\s*` after `^` would cross lines and backtrack on long blank runs.
ASSIGNED = re.compile(
    r"""^[ \t]*(?:-[ \t]*)?(?:export[ \t]+|env\.)?([A-Za-z_]\w*)[ \t]*[:=][ \t]*['"]?([^'"\s#,)}]+)""", re.M
)
MAKE_TARGET = re.compile(r"^([A-Za-z0-9_.%/ -]+?)\s*::?(?!=)(.*)$")


class _Files:
    """Reads and parses each file once per collection."""

    def __init__(self, repo: RepoSnapshot) -> None:
        self.repo = repo
        self.cache: dict[str, Any] = {}

    def text(self, path: str) -> str | None:
        path = posixpath.normpath(path).lstrip("/")
        if path not in self.cache:
            entry = self.repo.get(path)
            ok = entry is not None and entry.is_regular and entry.size <= MAX_FILE_BYTES
            self.cache[path] = self.repo.read_text(path, MAX_FILE_BYTES) if ok else None
        value = self.cache[path]
        return value if isinstance(value, str) else None

    def compose(self, path: str) -> dict[str, Any]:
        key = f"compose:{path}"
        if key not in self.cache:
            text = self.text(path)
            try:
                doc = load_yaml(text) if text else None
            except Exception:
                doc = None
            self.cache[key] = mapping(doc)
        value = self.cache[key]
        return value if isinstance(value, dict) else {}


def resolve(pipes: list[Pipeline], repo: RepoSnapshot) -> None:
    files = _Files(repo)
    tree = Tree(repo)
    for pipe in pipes:
        steps = [step for job in pipe.jobs for step in job.steps]
        commands = [c for step in steps for c in step.commands]
        for path in pipe.files or [pipe.path]:
            for name, value in ASSIGNED.findall(files.text(path) or ""):
                pipe.variables.setdefault(name, []).append(value)
        try:
            images = _built_images(commands)
            images.update(_action_images(steps))
            for cmd, simples in _with_cwd(steps):
                for simple, here in simples:
                    got = _inner(simple, images, files, cmd.text, here)
                    cmd.inner += got
                    if got and not simple.container:
                        cmd.defined[simple.text] = got[:MAX_INNER]
                    missing = tree.absent(simple, cmd.text) or tree.manifests_absent(simple)
                    if not simple.nested and missing:
                        cmd.absent[simple.text] = missing
                del cmd.inner[MAX_INNER:]
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError):
            continue  # what a file it names runs stays unknown: the command is judged by its own words


def _with_cwd(steps: list[Step]) -> list[tuple[Command, list[tuple[Simple, str | None]]]]:
    """Each command with its simple commands and the folder each runs in: the step's working directory, then
    any `cd` in it (which lasts to the step's end).

    None: a folder harness cannot tell (`cd $DIR`, `cd -`, outside the repository)."""
    out: list[tuple[Command, list[tuple[Simple, str | None]]]] = []
    for step in steps:
        cwd = chdir("", [step.workdir]) if step.workdir else ""
        for cmd in step.commands:
            simples: list[tuple[Simple, str | None]] = []
            for simple in cmd.simples:
                simples.append((simple, cwd))
                if simple.words[:1] == ("cd",) and not simple.nested:
                    cwd = chdir(cwd, list(simple.words[1:]))
            out.append((cmd, simples))
    return out


def _built_images(commands: list[Command]) -> dict[str, tuple[str, str]]:
    """Image name (no tag) → (Dockerfile path, target stage) for each `docker build` in the pipeline."""
    out: dict[str, tuple[str, str]] = {}
    for cmd in commands:
        for s in cmd.simples:
            w = list(s.words)
            if w[:2] not in (["docker", "build"], ["podman", "build"], ["buildah", "bud"]) and w[:3] not in (
                ["docker", "buildx", "build"],
                ["docker", "image", "build"],
            ):
                continue
            tags, dockerfile, target, context = [], "", "", "."
            i = 3 if w[1] in ("buildx", "image") else 2
            while i < len(w):
                opt = w[i]
                key, eq, val = opt.partition("=")
                if eq and key in BUILD_VALUE_OPTS:
                    opt, value, i = key, val, i + 1
                elif opt in BUILD_VALUE_OPTS and i + 1 < len(w):
                    value, i = w[i + 1], i + 2
                else:
                    if not opt.startswith("-"):
                        context = opt
                    i += 1
                    continue
                if opt in ("-t", "--tag"):
                    tags.append(value)
                elif opt in ("-f", "--file"):
                    dockerfile = value
                elif opt == "--target":
                    target = value
            path = dockerfile or posixpath.join(context, "Dockerfile")
            for tag in tags:
                out[split_image(tag).name] = (posixpath.normpath(path), target)
    return out


def _action_images(steps: list[Step]) -> dict[str, tuple[str, str]]:
    """Images built by docker/build-push-action (`tags`, `file`, `context`, `target` inputs)."""
    out: dict[str, tuple[str, str]] = {}
    for step in steps:
        if "docker/build-push-action" not in step.uses:
            continue
        context = step.inputs.get("context", ".") or "."
        path = step.inputs.get("file") or posixpath.join(context, "Dockerfile")
        for tag in re.split(r"[\s,]+", step.inputs.get("tags", "")):
            if tag:
                out[split_image(tag).name] = (posixpath.normpath(path), step.inputs.get("target", ""))
    return out


def _inner(
    simple: Simple,
    images: dict[str, tuple[str, str]],
    files: _Files,
    line: str,
    cwd: str | None = "",
    depth: int = 0,
) -> list[tuple[str, str]]:
    """What `simple` (on `line`, run in folder `cwd`) runs indirectly, and what those commands run in turn
    (an ENTRYPOINT script; a make recipe runs in its Makefile's folder)."""
    out: list[tuple[str, str]] = []
    for text, source in _direct(simple, images, files, line, cwd):
        out.append((text, source))
        if depth < MAX_INDIRECT_DEPTH and len(out) < MAX_INNER:
            here = posixpath.dirname(source.split(":", 1)[0]) if _is_makefile(source) else cwd
            for inner in split(text):
                out += _inner(inner, images, files, text, here, depth + 1)
                if inner.words[:1] == ("cd",) and not inner.nested:
                    here = chdir(here, list(inner.words[1:]))
    return out[:MAX_INNER]


def _is_makefile(source: str) -> bool:
    return posixpath.basename(source.split(":", 1)[0]) in ("GNUmakefile", "makefile", "Makefile")


def _direct(
    simple: Simple, images: dict[str, tuple[str, str]], files: _Files, line: str, cwd: str | None = ""
) -> list[tuple[str, str]]:
    if simple.container[:1] == ("image",):
        built = images.get(split_image(simple.container[1]).name)
        return _image_command(files, *built, list(simple.container[2:])) if built else []
    if simple.container[:1] == ("service",):
        return _service_command(files, simple.container[1], list(simple.container[2:]))
    if simple.words and simple.words[0] in ("make", "gmake"):
        return _make(files, list(simple.words[1:]), cwd)
    if simple.words and (simple.words[0].endswith(SCRIPT_SUFFIXES) or _run_as_script(simple.words[0], line)):
        return _script(files, simple.words[0], line)
    if simple.words and simple.words[0] in ("npm", "yarn", "pnpm", "bun"):
        return package_script(files.text, list(simple.words), cwd)
    return []


def _run_as_script(word: str, line: str) -> bool:
    """`bash docker_push`, `sh ci/release`, `./deploy`: a script without a suffix, run as one."""
    if "." in word or ("./" not in line and not re.search(r"\b(bash|sh|zsh|dash|source)\s", line)):
        return False  # a suffix is judged as such; no shell or ./ on the line runs nothing as a script
    shell = r"(?:\b(?:bash|sh|zsh|dash|source)\s+(?:-\S+\s+)*|\./)"
    return re.search(rf"{shell}(?:[^\s;|&()]*/)?{re.escape(word)}(?=$|[\s;&|)])", line) is not None


def _script(files: _Files, name: str, line: str) -> list[tuple[str, str]]:
    """The commands of a shell script the line runs (`bash .travis/test.sh`, `./deploy.sh`), one per logical line.

    Without `set -e` a script's status is its last command's: the failure of any earlier command is ignored."""
    path = script_path(files.text, name, line)
    text = files.text(path) if path else None
    if text is None:
        return []
    cached = files.cache.get(f"script:{path}")
    if isinstance(cached, list):
        return cached
    files.cache[f"script:{path}"] = out = _script_lines(path, text)
    return out


def _script_lines(path: str, text: str) -> list[tuple[str, str]]:
    lines: list[tuple[str, int]] = []
    pending, start = "", 0
    for no, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        start = start if pending else no
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append((pending + stripped, start))
        pending = ""
    errexit = any(re.match(r"set\s+-[a-z]*e|set\s+-o\s+errexit", t) for t, _ in lines)
    errexit = errexit or bool(re.match(r"#!\S*\s+-[a-z]*e", text))
    final = max((k for k, (t, _) in enumerate(lines) if not SCRIPT_TAIL.fullmatch(t)), default=0)
    return [(cmd if errexit or k >= final else f"{cmd} || true", f"{path}:{no}") for k, (cmd, no) in enumerate(lines)]


def _image_command(files: _Files, dockerfile: str, target: str, args: list[str] | None = None) -> list[tuple[str, str]]:
    """The command a container of this Dockerfile stage runs (ENTRYPOINT + CMD, inherited from its base stage).

    Arguments given to `docker run` replace CMD only: with an ENTRYPOINT they become its arguments."""
    text = files.text(dockerfile)
    if text is None and posixpath.basename(dockerfile) == "Dockerfile":  # docker build falls back to `dockerfile`
        dockerfile = posixpath.join(posixpath.dirname(dockerfile), "dockerfile")
        text = files.text(dockerfile)
    if text is None:
        return []
    stages: list[tuple[str, str, dict[str, tuple[str, int]]]] = []  # (name, base, {ENTRYPOINT/CMD: (args, line)})
    for ins in parse_dockerfile(text):
        if ins.keyword == "FROM":
            words = ins.args.split()
            name = words[-1] if len(words) >= 3 and words[-2].lower() == "as" else ""
            base = next((w for w in words if not w.startswith("--")), "")
            stages.append((name, base, {}))
        elif ins.keyword in ("CMD", "ENTRYPOINT") and stages:
            stages[-1][2][ins.keyword] = (ins.args, ins.line)
            if ins.keyword == "ENTRYPOINT":
                stages[-1][2].pop("CMD", None)  # a later ENTRYPOINT resets an inherited CMD
    stage = next((s for s in stages if target and s[0] == target), stages[-1] if stages else None)
    seen: set[str] = set()
    found: dict[str, tuple[str, int]] = {}
    while stage is not None and stage[0] not in seen:
        seen.add(stage[0])
        for key, value in stage[2].items():
            found.setdefault(key, value)
        stage = next((s for s in stages if s[0] and s[0] == stage[1]), None)
    entry, cmd = found.get("ENTRYPOINT"), found.get("CMD")
    if args:
        if entry is None:
            return []  # the arguments are the whole command, judged by their own words
        # A shell-form ENTRYPOINT ignores them.
        parts = [_exec_form(entry[0]), shlex.join(args)] if entry[0].startswith("[") else [entry[0]]
    else:
        parts = [_exec_form(v[0]) for v in (entry, cmd) if v]
    if not parts:
        return []
    line = (entry or cmd or ("", 1))[1]
    return [(" ".join(parts), f"{dockerfile}:{line} {'ENTRYPOINT' if entry else 'CMD'}")]


def _exec_form(args: str) -> str:
    """`["pytest", "-q"]` → `pytest -q`; shell form as written."""
    if args.startswith("["):
        try:
            items = json.loads(args)
        except ValueError:
            return args
        if isinstance(items, list):
            return " ".join(str(i) if " " not in str(i) else f"'{i}'" for i in items)
    return args


def _service_command(files: _Files, service: str, compose_files: list[str]) -> list[tuple[str, str]]:
    paths = compose_files or [p for p in COMPOSE_DEFAULTS if files.text(p) is not None][:1]
    for path in reversed(paths):  # later -f files override earlier ones
        spec = mapping(mapping(files.compose(path).get("services")).get(service))
        if not spec:
            continue
        parts = [_compose_value(spec.get(k)) for k in ("entrypoint", "command") if spec.get(k)]
        if parts:
            return [(" ".join(parts), f"service `{service}` in {path}")]
        build = spec.get("build")
        if build is not None:
            build_map = mapping(build)
            context = as_str(build) if isinstance(build, str) else as_str(build_map.get("context")) or "."
            base = posixpath.dirname(path)
            dockerfile = posixpath.join(base, context, as_str(build_map.get("dockerfile")) or "Dockerfile")
            return _image_command(files, posixpath.normpath(dockerfile), as_str(build_map.get("target")))
    return []


def _compose_value(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(as_str(v) for v in value)
    return as_str(value)


def _make(files: _Files, args: list[str], cwd: str | None = "") -> list[tuple[str, str]]:
    """A make run's recipes, read from the Makefile of the folder it runs in (`cd web && make`, `make -C web`)."""
    makefile, directory, targets, i = "", cwd, [], 0
    while i < len(args):
        a = args[i]
        m = re.fullmatch(r"(-C|--directory=?)(.+)", a)
        if m or (a in ("-C", "--directory") and i + 1 < len(args)):
            directory = chdir(directory, [m.group(2) if m else args[i + 1]])
            i += 1 if m else 2
            continue
        if a in ("-f", "--file", "--makefile") and i + 1 < len(args):
            makefile = args[i + 1]
            i += 2
            continue
        if not a.startswith("-") and "=" not in a:
            targets.append(a)
        i += 1
    if directory is None:
        directory = ""  # a folder harness cannot tell: the root's Makefile, as before
    candidates = [makefile] if makefile else ["GNUmakefile", "makefile", "Makefile"]
    path = next(
        (p for c in candidates if files.text(p := posixpath.normpath(posixpath.join(directory, c))) is not None), ""
    )
    text = files.text(path) if path else None
    if text is None:
        return []
    cached = files.cache.get(f"recipes:{path}")
    recipes = cached if isinstance(cached, dict) else files.cache.setdefault(f"recipes:{path}", _recipes(text))
    if not targets and recipes:
        targets = [next(iter(recipes))]
    out: list[tuple[str, str]] = []
    for target in targets:
        out += _expand(recipes, target, path, 0)
    return out


def _recipes(text: str) -> dict[str, tuple[int, list[str], list[tuple[str, int]]]]:
    """Target → (line, prerequisites, [(recipe line, line number)])."""
    out: dict[str, tuple[int, list[str], list[tuple[str, int]]]] = {}
    current: list[tuple[str, int]] | None = None
    for no, line in enumerate(text.splitlines(), 1):
        if line.startswith("\t"):
            if current is not None and line.strip():
                current.append((line.strip().lstrip("@+").strip(), no))
            continue
        m = MAKE_TARGET.match(line)
        if not m or line.startswith((" ", "#")) or "=" in m.group(1):
            current = None if line.strip() and not line.startswith("#") else current
            continue
        current = []
        for name in m.group(1).split():
            if not name.startswith("."):
                out.setdefault(name, (no, m.group(2).split(";")[0].split(), current))
    return out


def _expand(
    recipes: dict[str, tuple[int, list[str], list[tuple[str, int]]]], target: str, path: str, depth: int
) -> list[tuple[str, str]]:
    if target not in recipes or depth > MAX_MAKE_DEPTH:
        return []
    _, prereqs, lines = recipes[target]
    out: list[tuple[str, str]] = []
    for pre in prereqs:
        out += _expand(recipes, pre, path, depth + 1)
    for text, no in lines:
        # A `-` prefix makes make ignore the command's failure.
        out.append((text[1:] + " || true", f"{path}:{no}") if text.startswith("-") else (text, f"{path}:{no}"))
    return out
