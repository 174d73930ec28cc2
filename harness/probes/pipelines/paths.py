"""Which paths a pipeline's commands name that are not in the repository (issue 9, class 3).

`pytest app/tests/` when there is no app/tests, `bash ci/test.sh` when there is no such script: the step
fails or collects nothing on every run, so it is no test gate. Lenient on purpose: a path found under any
folder counts (a step may run in a sub-folder), and paths inside containers or built from variables are
not judged.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable

from harness.probes.pipelines.shell import Simple
from harness.probes.repository import RepoSnapshot

SCRIPT_SUFFIXES = (".sh", ".bash")
# Arguments that name a file or folder of the repository: a path with a folder, or a test or script file.
PATH_SUFFIXES = (".py", ".js", ".ts", ".mjs", ".cjs", ".sh", ".bash", ".feature", ".robot")
# Options whose value is a file the run writes or a setting, not a test to collect.
OUTPUT_OPTION = re.compile(r"xml|html|json|report|log|out|dir|file|cov|temp|result|config|rootdir|^-[cop]$", re.I)
CHECKED_RUNNERS = re.compile(
    r"^(py\.?test|pytest|unittest|nose2|behave|robot|jest|vitest|mocha|ava|tap|jasmine|coverage|tox|nox"
    r"|[\w.-]+\.(sh|bash))$"
)


class Tree:
    """Which paths exist at HEAD, for the arguments of test commands (a step naming an absent path)."""

    def __init__(self, repo: RepoSnapshot) -> None:
        self.repo = repo
        self._paths: set[str] | None = None

    @property
    def paths(self) -> set[str]:
        if self._paths is None:
            self._paths = set()
            for f in self.repo.own_files:
                parts = f.path.split("/")
                self._paths.update("/".join(parts[:k]) for k in range(1, len(parts) + 1))
        return self._paths

    def exists(self, path: str) -> bool:
        """At the root, or under any folder (a step may run in a sub-folder: `cd backend`, working-directory)."""
        path = posixpath.normpath(path).lstrip("/")
        if path in (".", "") or path.startswith(".."):
            return True
        return path in self.paths or any(p.endswith("/" + path) for p in self.paths)

    def absent(self, simple: Simple, line: str) -> list[str]:
        words = simple.words
        if not words or not CHECKED_RUNNERS.match(words[0]):
            return []
        if words[0].endswith(SCRIPT_SUFFIXES):
            written = re.sub(r"^\$\{?\w+\}?/", "", _written(words[0], line))
            return [] if "$" in written or self.exists(written) else [written]
        out = []
        for before, w in itertools.pairwise(words):
            if w.startswith("-") or re.search(r"[$*?{}\[\]=<>|]|\.\.\.", w) or w.startswith("/"):
                continue
            if before.startswith("-") and OUTPUT_OPTION.search(before):
                continue  # `--junit-xml reports/out.xml`: a file the run writes
            path = w.split("::", 1)[0]
            suffix = posixpath.splitext(posixpath.basename(path.rstrip("/")))[1]
            if suffix and not path.endswith(PATH_SUFFIXES):
                continue  # a report, a config or data file: not what the runner collects
            if ("/" in path or path.endswith(PATH_SUFFIXES)) and not self.exists(path):
                out.append(w)
        return out

    def manifests_absent(self, simple: Simple) -> list[str]:
        """`kubectl apply -f k8s/prod/` (also create, replace, `-k`, `--filename=`) naming paths not in the tree."""
        words = simple.words
        if words[:1] != ("kubectl",) or not any(w in ("apply", "create", "replace") for w in words[1:3]):
            return []
        out = []
        for before, w in itertools.pairwise(words):
            value = w.split("=", 1)[1] if w.startswith(("--filename=", "--kustomize=")) else ""
            if not value and before not in ("-f", "--filename", "-k", "--kustomize"):
                continue
            path = value or w
            if "://" in path or path == "-" or re.search(r"[$*?{}\[\]<>|]", path):
                continue  # a URL, stdin or a path built at run time: not judged
            if not self.exists(path.rstrip("/")):
                out.append(path)
        return out


def _written(name: str, line: str) -> str:
    """A script's path as the line writes it (the command word lost its folder when it was unwrapped)."""
    return next((w for w in re.findall(r"[^\s;|&()'\"<>`]+", line) if posixpath.basename(w) == name), name)


def script_path(get: Callable[[str], object], name: str, line: str) -> str:
    """The repository path of the script `name` that `line` runs, or "" when it is not in the repository."""
    paths = [w for w in re.findall(r"[^\s;|&()'\"<>`]+", line) if posixpath.basename(w) == name] or [name]
    paths = [re.sub(r"^\$\{?\w+\}?/", "", w) for w in paths]  # `$TRAVIS_BUILD_DIR/ci/test.sh`: from the root
    return next((p for w in paths if get(p := posixpath.normpath(w).lstrip("/")) is not None), "")
