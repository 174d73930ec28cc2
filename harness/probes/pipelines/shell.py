"""Shell lines split as a shell would (shlex), down to the command word that actually runs.

`pip install pytest` runs pip, not pytest; `python -m pytest`, `uv run pytest`, `bash -c "pytest"` and
`docker run img pytest` run pytest. Steps are classified on these words, never on substrings of the line.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from functools import lru_cache

# Commands that do nothing a reviewer could rely on: a pipeline of only these is a placeholder.
INERT_COMMANDS = {"echo", "printf", "true", ":", "sleep", "exit", "ls", "pwd", "date", "whoami", "cat", "env", "cd"}
# Prefixes that run the rest of the line as the command (their own options skipped).
PREFIXES = {"sudo", "env", "time", "exec", "nohup", "command", "xvfb-run", "stdbuf", "nice", "builtin", "timeout"}
# Runners whose next word(s) are the real command: `uv run pytest`, `npx jest`, `bundle exec rspec`.
RUNNERS = {
    ("uv", "run"),
    ("poetry", "run"),
    ("pipenv", "run"),
    ("hatch", "run"),
    ("pdm", "run"),
    ("rye", "run"),
    ("pixi", "run"),
    ("pipx", "run"),
    ("conda", "run"),
    ("pnpm", "exec"),
    ("pnpm", "dlx"),
    ("yarn", "exec"),
    ("bundle", "exec"),
    ("npx",),
    ("bunx",),
    ("uvx",),
}
RUNNER_VALUE_OPTS = {"--with", "--extra", "-p", "--python", "--group", "--env-file", "-n", "--name", "--package"}
DOCKER_GLOBAL_VALUE_OPTS = {"-H", "--host", "-c", "--context", "--config", "-l", "--log-level"}
DOCKER_RUN_VALUE_OPTS = {
    *("-e", "--env", "-v", "--volume", "-p", "--publish", "--name", "-w", "--workdir", "--network", "--net"),
    *("-u", "--user", "--entrypoint", "--env-file", "-l", "--label", "--mount", "--add-host", "--platform"),
    *("--cpus", "-m", "--memory", "-h", "--hostname", "--restart", "--pull", "--log-driver", "--log-opt"),
    *("--cap-add", "--cap-drop", "--device", "--dns", "--shm-size", "--tmpfs", "--ulimit", "--gpus", "--ipc"),
    *("--pid", "--runtime", "--security-opt", "--volumes-from", "--link", "--expose", "--cidfile", "-a"),
    *("--attach", "--label-file", "--network-alias", "--ip", "--group-add", "--stop-signal", "--stop-timeout"),
}
COMPOSE_GLOBAL_VALUE_OPTS = {"-f", "--file", "-p", "--project-name", "--profile", "--env-file", "--project-directory"}
COMPOSE_GLOBAL_VALUE_OPTS |= {"--ansi", "--progress", "--parallel"}
COMPOSE_RUN_VALUE_OPTS = {"-e", "--env", "-l", "--label", "-p", "--publish", "--name", "-u", "--user", "-v"}
COMPOSE_RUN_VALUE_OPTS |= {"--volume", "-w", "--workdir", "--entrypoint", "--pull", "--index"}
SUBSTITUTION = re.compile(r"\$\([^()]*\)|`[^`]*`")  # $(cmd), `cmd`
AZURE_MACRO = re.compile(r"\$\(([A-Za-z_][\w.]*)\)")  # Azure's $(VARIABLE): a value, not a command
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")  # ${{ secrets.X }}: kept as one word, `$secrets.X`
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
PUNCT = set(";&|()<>")
MAX_DEPTH = 4


@dataclass(frozen=True)
class Simple:
    """One simple command: its words (command word first, wrappers removed) and what follows it."""

    words: tuple[str, ...]
    op: str = ""  # the operator after it: && || ; | & or ""
    # What it runs in a container: ("image", name, *arguments given) or ("service", name, *compose files, no command).
    container: tuple[str, ...] = ()
    nested: bool = False  # it runs inside a container or a `sh -c` string

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def inert(self) -> bool:
        return not self.words or self.words[0] in INERT_COMMANDS


def _tokens(text: str) -> list[str]:
    text = AZURE_MACRO.sub(r"$\1", text)
    text = EXPRESSION.sub(lambda m: "$" + re.sub(r"\s+", "", m.group(1)), SUBSTITUTION.sub("$SUBST", text))
    lex = shlex.shlex(text, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    try:
        return list(lex)
    except ValueError:  # unbalanced quotes: split on blanks and operators instead
        return re.findall(r"&&|\|\||[;|&()]|[^\s;|&()]+", text)


@lru_cache(maxsize=8192)
def split(text: str, depth: int = 0) -> tuple[Simple, ...]:
    """The simple commands of one logical shell line, each reduced to the command it runs."""
    out: list[Simple] = []
    words: list[str] = []
    skip_next = False

    def flush(op: str) -> None:
        if words:
            out.extend(_unwrap(list(words), op, depth))
        words.clear()

    for tok in _tokens(text):
        if skip_next:
            skip_next = False
            continue
        if tok and set(tok) <= PUNCT:
            if "<" in tok or ">" in tok:
                skip_next = True  # the redirect's target (a file, a descriptor, a heredoc marker) is no command
                continue
            flush(tok.strip("()") or ";")
            continue
        words.append(tok)
    flush("")
    return tuple(out)


def _base(word: str) -> str:
    return word.rsplit("/", 1)[-1] if "/" in word and not word.endswith("/") else word


def _skip_options(words: list[str], i: int, value_opts: set[str]) -> int:
    while i < len(words) and words[i].startswith("-") and words[i] != "-":
        i += 2 if words[i] in value_opts else 1
    return i


def _unwrap(words: list[str], op: str, depth: int, nested: bool = False) -> list[Simple]:
    while words:
        if ASSIGNMENT.match(words[0]):
            words = words[1:]
            continue
        word = _base(words[0])
        if word in PREFIXES:
            i = _skip_options(words, 1, {"-u", "-g", "-s", "-k"} if word == "sudo" else set())
            if word == "timeout" and i < len(words):
                i += 1  # the duration
            words = words[i:]
            continue
        if re.fullmatch(r"python[0-9.]*", word) and "-m" in words[1:3]:
            words = words[words.index("-m") + 1 :]
            continue
        runner = next((r for r in RUNNERS if tuple(_base(w) for w in words[: len(r)]) == r), None)
        if runner is not None:
            words = words[_skip_options(words, len(runner), RUNNER_VALUE_OPTS) :]
            continue
        if word in ("bash", "sh", "zsh", "dash") and depth < MAX_DEPTH:
            flag = next((i for i, w in enumerate(words[1:], 1) if re.fullmatch(r"-[a-z]*c", w)), None)
            if flag is not None and flag + 1 < len(words):
                inner = split(words[flag + 1], depth + 1)
                return [Simple(s.words, s.op or op, s.container, True) for s in inner]
        # `bash ./deploy.sh`, `source env.sh`, `python scripts/deploy.py`, `node test.js`: the script runs.
        script_runner = word in ("bash", "sh", "zsh", "dash", "source", ".") or re.fullmatch(
            r"python[0-9.]*|node", word
        )
        if script_runner and len(words) > 1:
            i = _skip_options(words, 1, set())
            if i < len(words) and (word in ("bash", "sh", "zsh", "dash", "source", ".") or "." in _base(words[i])):
                words = words[i:]
                continue
        words = [word, *words[1:]]
        break
    if not words:
        return []
    out = [Simple(tuple(words), op, nested=nested)]
    inside = _container(words)
    if inside is not None and depth < MAX_DEPTH:
        container, args, alt = inside
        if args:
            out += _unwrap(args, op, depth + 1, nested=True)
            out += _unwrap(alt, op, depth + 1, nested=True) if alt else []
            if container[:1] == ("image",) and alt:
                # Arguments after the image replace only CMD: the image's ENTRYPOINT still runs, given them.
                out[0] = Simple(tuple(words), op, (*container, *args), nested)
        elif container:
            out[0] = Simple(tuple(words), op, container, nested)
    return out


def _container(words: list[str]) -> tuple[tuple[str, ...], list[str], list[str]] | None:
    """(what it runs when no command is given, the command given) for docker run/exec and compose run/exec/up."""
    if words[0] not in ("docker", "podman", "nerdctl", "docker-compose", "podman-compose"):
        return None
    i = 1
    if words[0] in ("docker", "podman", "nerdctl"):
        i = _skip_options(words, 1, DOCKER_GLOBAL_VALUE_OPTS)
        if i < len(words) and words[i] == "container":
            i += 1
        if i < len(words) and words[i] in ("run", "exec"):
            entry_at = next((k for k, w in enumerate(words) if w == "--entrypoint"), None)
            j = _skip_options(words, i + 1, DOCKER_RUN_VALUE_OPTS)
            if j >= len(words):
                return None
            args = words[j + 1 :]
            if entry_at is not None and entry_at + 1 < len(words):
                args = [words[entry_at + 1], *args]
            elif words[i] == "run" and args:
                # A tool image's entrypoint is the tool: `docker run aquasec/trivy:0.50 image app` runs trivy.
                tool = _base(words[j]).split(":")[0].split("@")[0]
                return ("image", words[j]), args, [tool, *args]
            return (("image", words[j]) if words[i] == "run" else ()), args, []
        if i >= len(words) or words[i] != "compose":
            return None
    files: list[str] = []
    k = i + 1 if words[0] not in ("docker-compose", "podman-compose") else 1
    while k < len(words) and words[k].startswith("-"):
        if words[k] in ("-f", "--file") and k + 1 < len(words):
            files.append(words[k + 1])
        k += 2 if words[k] in COMPOSE_GLOBAL_VALUE_OPTS else 1
    if k >= len(words):
        return None
    sub = words[k]
    if sub in ("run", "exec"):
        j = _skip_options(words, k + 1, COMPOSE_RUN_VALUE_OPTS)
        if j >= len(words):
            return None
        return ("service", words[j], *files), words[j + 1 :], []
    if sub == "up" and "--exit-code-from" in words:
        at = words.index("--exit-code-from")
        if at + 1 < len(words):
            return ("service", words[at + 1], *files), [], []
    return None


def chdir(cwd: str | None, args: list[str]) -> str | None:
    """The folder after `cd ARGS` from `cwd`, confined to the repository (None when it cannot be told)."""
    args = [a for a in args if a not in ("-P", "-L", "--")]
    if not args:
        return ""  # `cd` alone goes home; a checkout's root is the nearest reading of a CI job's home
    if cwd is None or args[0] == "-" or "$" in args[0] or args[0].startswith(("/", "~")):
        return None
    path = posixpath.normpath(posixpath.join(cwd, args[0]))
    return None if path.startswith("..") else ("" if path == "." else path)
