"""What `npm`, `yarn`, `pnpm` or `bun` runs: a script from the package.json of the folder the tool runs in."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable

from harness.probes.pipelines.shell import chdir

# Options naming the folder whose package.json the tool reads: `npm --prefix web`, `yarn --cwd web`, `pnpm -C web`.
PACKAGE_DIR_OPTS = {"--prefix", "--cwd", "-C", "--dir"}


def package_script(read: Callable[[str], str | None], words: list[str], cwd: str | None = "") -> list[tuple[str, str]]:
    """`npm run deploy`, `yarn deploy`, `pnpm run build`: the script (with its pre/post scripts) in the
    package.json of the folder the tool runs in."""
    rest: list[str] = []
    args = iter(words[1:])
    for word in args:
        opt, eq, folder = word.partition("=")
        if opt in PACKAGE_DIR_OPTS:
            cwd = chdir(cwd, [folder if eq else next(args, "")])
        elif not word.startswith("-"):
            rest.append(word)
    if rest[:1] in (["run"], ["run-script"]):
        rest = rest[1:]
    elif words[0] == "npm" and rest[:1] not in (["test"], ["start"], ["stop"], ["restart"]):
        return []  # other npm commands (install, ci, publish) are npm's own
    if not rest or cwd is None:
        return []  # nothing named, or a folder harness cannot tell
    manifest = posixpath.join(cwd, "package.json")
    try:
        doc = json.loads(read(manifest) or "{}")
    except ValueError:
        return []
    scripts = doc.get("scripts") if isinstance(doc, dict) else None
    if not isinstance(scripts, dict):
        return []
    name = rest[0]
    return [
        (value, f"{manifest} scripts.{key}")
        for key in (f"pre{name}", name, f"post{name}")
        if isinstance(value := scripts.get(key), str) and value.strip()
    ]
