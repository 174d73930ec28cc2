"""What steps do (test, build, publish, deploy, security scans), from harness/data/pipeline_tools.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from harness import redact
from harness.probes.pipelines.graph import step_runs_on
from harness.probes.pipelines.model import SWALLOW, Command, Job, Pipeline, Step
from harness.probes.pipelines.shell import split
from harness.probes.pipelines.yamlio import load_yaml


@dataclass(frozen=True)
class Match:
    """A step doing something of a kind (test, build, publish, deploy, or a scanner)."""

    pipeline: Pipeline
    job: Job
    step: Step
    kind: str
    text: str  # the command or action reference that matched
    line: int
    tool: str = ""
    cannot_fail: str = ""  # why a failure here never fails the pipeline ("" when it can)
    cannot_fail_line: int | None = None

    @property
    def blocking(self) -> bool:
        return not self.cannot_fail

    @property
    def where(self) -> str:
        return f"{self.pipeline.path}:{self.line}"

    @property
    def via(self) -> str:
        """` (called from …)` when the step is in a reusable workflow called by another, else ""."""
        return f" (called from {self.job.via})" if self.job.via else ""


@cache
def tools() -> dict[str, Any]:
    text = resources.files("harness.data").joinpath("pipeline_tools.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = load_yaml(text)
    return data


def _uses_matches(spec: Any, step: Step) -> bool:
    if not step.uses:
        return False
    if isinstance(spec, str):
        return re.search(spec, step.uses) is not None
    if not re.search(spec["uses"], step.uses):
        return False
    return all(re.search(rx, step.inputs.get(k, ""), re.I) for k, rx in spec.get("with", {}).items())


def _swallowed(step: Step, cmd: Command, job: Job) -> tuple[str, int | None]:
    """Why a failure of `cmd` does not fail the pipeline, or ("", None)."""
    m = SWALLOW.search(cmd.text)
    if m:
        return f"`{m.group(0).strip()}` swallows the exit status", cmd.line
    set_e_off: Command | None = None
    for c in step.commands:
        if c is cmd:
            break
        if re.search(r"\bset\s+\+e\b", c.text):
            set_e_off = c
        elif re.search(r"\bset\s+-[a-z]*e", c.text):
            set_e_off = None
    if set_e_off is not None:
        return "`set +e` before the command ignores its exit status", set_e_off.line
    if step.cannot_fail:
        return step.cannot_fail, step.cannot_fail_line
    if job.cannot_fail:
        return job.cannot_fail, job.cannot_fail_line
    return "", None


def runs(cmd: Command) -> list[tuple[str, str, str]]:
    """(simple command, where it is defined, its whole line) for each command `cmd` runs, itself first."""
    cached: list[tuple[str, str, str]] | None = cmd.__dict__.get("_runs")  # classified many times per run
    if cached is not None:
        return cached
    out = [(s.text, "", cmd.text) for s in cmd.simples if not s.inert]
    if cmd.stdin and out and out[0][0].startswith("ssh "):  # `ssh host <<EOF ... EOF`: the heredoc runs remotely
        out[0] = (f"{out[0][0]} {' '.join(cmd.stdin.split())}", "", cmd.text)
    for text, source in cmd.inner:
        out += [(s.text, source, text) for s in split(text) if not s.inert]
    cmd.__dict__["_runs"] = out
    return out


def _first(patterns: list[re.Pattern[str]], cmd: Command, founded: bool = False) -> tuple[str, str, str] | None:
    """The first command matching; one whose failure counts first (a script's last test over its earlier ones).

    `founded`: only commands that are what their words say (see `unfounded`)."""
    hits = [hit for hit in runs(cmd) if any(rx.match(hit[0]) for rx in patterns)]
    if founded:
        hits = [hit for hit in hits if not unfounded(cmd, hit)]
    return next((h for h in hits if not (h[1] and SWALLOW.search(h[2]))), hits[0] if hits else None)


def unfounded(cmd: Command, hit: tuple[str, str, str]) -> str:
    """Why a command that looks like a test is none, or "".

    A shell script is never a test by its name (`test.sh`): what it runs is (its lines are in `cmd.inner`).
    A test runner given paths that are not in the repository fails or collects nothing on every run. A
    wrapper (`npm test`, `make test`) whose definition only echoes and exits is a placeholder, like npm's
    own `echo "Error: no test specified" && exit 1`."""
    text, source, _ = hit
    if not source and cmd.absent.get(text):
        return f"names {', '.join(cmd.absent[text][:3])}, which the repository does not hold"
    word = text.split(" ", 1)[0]
    if word.endswith((".sh", ".bash")):
        return f"{word} is a script: it counts for the test commands it runs, not for its name"
    defined = cmd.defined.get(text) if not source else None
    if defined and all(s.inert for t, _ in defined for s in split(t)):
        return f"its definition `{defined[0][0][:60]}` ({defined[0][1]}) runs no test: a placeholder"
    return ""


# An image name nobody filled in: `your-registry/app`, `<your-image>`, `example/app`, `registry.example.com/app`.
PLACEHOLDER_IMAGE = re.compile(
    # `example` only as the namespace (`example/app`): a chart folder `charts/example` is a real path.
    r"(?:^|[/=])(?:your[-_]?[\w.-]*|<[^>]*>)(?=[/:@]|$)|(?:^|=)example/|(?:^|[/=.])example\.(?:com|org|net)/",
    re.I,
)
VARIABLE = re.compile(r"\$\{?(\w+)\}?")


def _hollow_deploy(pipe: Pipeline, cmd: Command, hit: tuple[str, str, str]) -> str:
    """Why a command that looks like a deploy deploys nothing real, or "": it applies manifests the repository
    does not hold, or it deploys a placeholder image (written out or set in a pipeline variable)."""
    text, source, line = hit
    if not source and text.startswith("kubectl ") and cmd.absent.get(text):
        return f"applies {', '.join(cmd.absent[text][:3])}, which the repository does not hold"
    # `<your-image>` unquoted reads as redirects to the shell: looked for on the line as written too.
    for word in text.split() + [w for w in line.split() if "<" in w and re.search(r"<[\w.-]+>", w)]:
        names = VARIABLE.findall(word)
        values = pipe.variables.get(names[0], []) if names else []
        if _placeholder(word):
            return f"deploys the placeholder image `{word[:60]}`, not an image the pipeline builds"
        if values and all(_placeholder(v) for v in values):
            return f"deploys the placeholder image `{values[0][:60]}` (${names[0]}), not an image the pipeline builds"
    return ""


def _stops(cmd: Command) -> str:
    """Why `cmd` fails on every run and so stops its step (it applies manifests not in the repository), or ""."""
    if SWALLOW.search(cmd.text):
        return ""
    missing = next((paths for text, paths in cmd.absent.items() if paths and text.startswith("kubectl ")), None)
    return (
        f"`{cmd.text[:60]}`, which fails on every run ({', '.join(missing[:2])} not in the repository)"
        if missing
        else ""
    )


def _placeholder(word: str) -> bool:
    """An image-like word (a registry path, a tag, an angle-bracket blank) nobody filled in; URLs are not images."""
    if len(word) > 300 or "://" in word or not re.search(r"[/:<]", word):
        return False  # an image reference is short; a long word is data, never searched (bounded work)
    return bool(PLACEHOLDER_IMAGE.search(word))


def hollow_deploys(pipe: Pipeline) -> list[tuple[str, int, str]]:
    """(command, line, why) for each command that looks like a deploy but deploys nothing real."""
    out: list[tuple[str, int, str]] = []
    for job in pipe.jobs:
        for step in job.steps:
            out += [
                (mask_urls(step.commands[k].text), step.commands[k].line, why)
                for k, why in _hollow_step(pipe, step).items()
            ]
    return out


def _hollow_step(pipe: Pipeline, step: Step) -> dict[int, str]:
    """Command index → why that deploy command deploys nothing real: it applies absent manifests, it runs after
    a command that fails on every run, or its step deploys a placeholder image (what runs in the end is none)."""
    patterns = _patterns("deploy")
    hits = {k for k, cmd in enumerate(step.commands) for h in runs(cmd) if any(rx.match(h[0]) for rx in patterns)}
    if not hits:
        return {}
    out: dict[int, str] = {}
    stopped = ""
    for k, cmd in enumerate(step.commands):
        deploys = [h for h in runs(cmd) if any(rx.match(h[0]) for rx in patterns)]
        if deploys and stopped:
            out[k] = f"runs after {stopped}"
        elif deploys and all(_hollow_deploy(pipe, cmd, h) for h in deploys):
            out[k] = _hollow_deploy(pipe, cmd, deploys[0])
        stopped = stopped or _stops(cmd)
    placeholder = next((why for why in out.values() if "placeholder" in why), "")
    if placeholder:
        out.update({k: f"is in a step that {placeholder}" for k in hits if k not in out})
    return out


# What a release script may do without deploying anything: log in, build, tag and push images.
_PUBLISH_ONLY = re.compile(
    r"(docker|podman|buildah|nerdctl) (login|build|buildx|image|tag|push)\b"
    r"|heroku container:(login|push)\b|set\b|export\b"
)


def publish_only(step: Step) -> str:
    """Why a deploy step that runs scripts releases nothing (they only push an image), else "".

    A Travis `provider: script` deploy or a `deploy.sh` is a deploy by its place or name; what it runs decides.
    A push to Heroku's container registry without `heroku container:release`, for one, reaches no user."""
    ran: list[tuple[str, str]] = []
    for cmd in step.commands:
        for simple in cmd.simples:
            if simple.inert:
                continue
            ran += cmd.defined.get(simple.text) or [(simple.text, "")]
    if not any(src for _, src in ran):
        return ""  # no script was read: the step is judged by its own words
    simples = [(sp.text, src) for t, src in ran for sp in split(t) if not sp.inert]
    if not simples or not all(_PUBLISH_ONLY.match(t) for t, _ in simples):
        return ""
    pushes = [(t, src) for t, src in simples if re.search(r"\bpush\b|container:push", t)]
    if not pushes:
        return ""
    text, src = pushes[-1]
    return f"`{text[:80]}` ({src or step.name}) only pushes an image: nothing releases or deploys it"


def unfounded_tests(pipe: Pipeline) -> list[tuple[str, int, str]]:
    """(command, line, why) for each step that looks like a test but is none (see `unfounded`)."""
    patterns = _patterns("test")
    out: list[tuple[str, int, str]] = []
    for job in pipe.jobs:
        for step in job.steps:
            for cmd in step.commands:
                hits = [h for h in runs(cmd) if any(rx.match(h[0]) for rx in patterns)]
                if hits and _first(patterns, cmd, founded=True) is None:
                    why = next((w for h in hits if (w := unfounded(cmd, h))), "")
                    out.append((mask_urls(cmd.text), cmd.line, why))
    return out


def _shown(cmd: Command, hit: tuple[str, str, str]) -> str:
    text, source, _ = hit
    return mask_urls(f"{cmd.text[:60]} → `{text[:40]}` ({source})" if source else cmd.text)


# A deploy hook's URL is its credential (Render's `?key=`, Netlify's and Vercel's hook ids): shown masked, and
# registered so that the report masks it wherever else it appears (evidence excerpts).
URL_QUERY_VALUE = re.compile(r"(https?://[^\s'\"]*?[?&][\w.-]+=)([^&\s'\"#]+)")
HOOK_PATH = re.compile(
    r"(https?://(?:api\.netlify\.com/build_hooks|api\.vercel\.com/v1/integrations/deploy/[\w-]+"
    r"|[\w.-]*hooks?[\w.-]*\.[a-z]+(?:/[\w.-]+)*?)/)([\w-]{8,})"
)


def mask_urls(text: str) -> str:
    if "://" not in text:
        return text
    for rx in (URL_QUERY_VALUE, HOOK_PATH):
        for m in rx.finditer(text):
            redact.register(m.group(2))
        text = rx.sub(lambda m: m.group(1) + redact.MASK, text)
    return text


def _swallowed_hit(
    step: Step, cmd: Command, job: Job, hit: tuple[str, str, str], patterns: list[re.Pattern[str]] | None = None
) -> tuple[str, int | None]:
    """As _swallowed, and also when the indirect command's own line swallows its status (`-pytest` in make)."""
    text, source, line_text = hit
    m = SWALLOW.search(line_text) if source else None
    if m:
        return f"`{m.group(0).strip()}` swallows the exit status of `{text[:40]}` ({source})", cmd.line
    if not source and patterns is not None:
        # `make test` whose recipe's own test commands all ignore their failure cannot fail either.
        inner = [h for h in runs(cmd) if h[1] and any(rx.match(h[0]) for rx in patterns)]
        if inner and all(SWALLOW.search(h[2]) for h in inner):
            return f"every test it runs ignores its failure (`{inner[0][2][:50]}`, {inner[0][1]})", cmd.line
    return _swallowed(step, cmd, job)


@cache
def _patterns(kind: str) -> list[re.Pattern[str]]:
    return [re.compile(rx) for rx in tools()["kinds"][kind].get("run", [])]


def classify(pipe: Pipeline, kind: str) -> list[Match]:
    """Every step of `pipe` doing `kind` (test, build, publish or deploy)."""
    spec = tools()["kinds"][kind]
    patterns = _patterns(kind)
    out: list[Match] = []
    for job in pipe.jobs:
        seen = pipe.view(job.path)
        for step in job.steps:
            if kind == "deploy" and publish_only(step):
                continue
            if any(_uses_matches(u, step) for u in spec.get("uses", [])):
                why, wline = _swallowed(step, Command("", step.line), job)
                out.append(Match(seen, job, step, kind, step.uses, step.line, cannot_fail=why, cannot_fail_line=wline))
            hollow = _hollow_step(pipe, step) if kind == "deploy" else {}
            for k, cmd in enumerate(step.commands):
                hit = _first(patterns, cmd, founded=kind == "test")
                if hit is not None and k not in hollow:
                    why, wline = _swallowed_hit(step, cmd, job, hit, patterns)
                    out.append(
                        Match(
                            seen, job, step, kind, _shown(cmd, hit), cmd.line, cannot_fail=why, cannot_fail_line=wline
                        )
                    )
    return out


def teardown_of(deploy: Match) -> tuple[str, int] | None:
    """(command, line) that undoes `deploy` later in the same pipeline: then it built a test environment."""
    pipe = deploy.pipeline
    for pair in tools().get("teardown", []):
        if not re.match(pair["deploy"], deploy.text) and not re.search(pair["deploy"], deploy.step.uses or "-"):
            continue
        undo = _tool_pattern(pair["undo"])
        after = False
        for job in pipe.jobs:
            for step in job.steps:
                same_run = _same_run(pipe, deploy, job, step)
                for cmd in step.commands:
                    if cmd.line == deploy.line and step is deploy.step:
                        after = True
                    elif after and same_run and _first([undo], cmd) is not None:
                        return cmd.text, cmd.line
                uses_undo = step.uses and undo.search(step.inputs.get("command", ""))
                if after and same_run and step is not deploy.step and uses_undo:
                    return f"{step.uses} command: {step.inputs.get('command')}", step.line
            after = after or job is deploy.job
    return None


def _same_run(pipe: Pipeline, deploy: Match, job: Job, step: Step) -> bool:
    """Whether `step` can run in the same run as `deploy`: a teardown only on another event (a branch's
    deletion) leaves the deploy standing on push."""
    if not pipe.triggers:
        return True
    return any(
        step_runs_on(pipe, deploy.job, deploy.step, t) and step_runs_on(pipe, job, step, t) for t in pipe.triggers
    )


@cache
def _tool_pattern(rx: str) -> re.Pattern[str]:
    return re.compile(rx)


def security_scans(pipe: Pipeline) -> list[Match]:
    out: list[Match] = []
    for tool in tools()["security"]:
        for job in pipe.jobs:
            for step in job.steps:
                hits: list[tuple[str, int, Command | None, tuple[str, str, str] | None]] = []
                if tool.get("uses") and step.uses and re.search(tool["uses"], step.uses, re.I):
                    hits.append((step.uses, step.line, None, None))
                if tool.get("run"):
                    for cmd in step.commands:
                        hit = _first([_tool_pattern(tool["run"])], cmd)
                        if hit is not None:
                            hits.append((_shown(cmd, hit), cmd.line, cmd, hit))
                for text, line, found, how in hits:
                    blank = Command("", line)
                    why, wline = _swallowed_hit(step, found or blank, job, how or ("", "", ""))
                    config = text + "\n" + "\n".join(f"{k}: {v}" for k, v in step.inputs.items())
                    soft = next((rx for rx in tool.get("soft", []) if re.search(rx, config)), None)
                    hard = any(re.search(rx, config) for rx in tool.get("hard", []))
                    default = tool.get("fails_by_default")
                    if not why and soft:
                        why, wline = f"`{re.search(soft, config).group(0)}` stops it failing the build", line  # type: ignore[union-attr]
                    elif not why and default is False and not hard:
                        why, wline = (
                            f"{tool['tool']} exits 0 on findings unless told to fail (e.g. an exit-code option)",
                            line,
                        )
                    elif not why and default == "report" and not hard:
                        why, wline = f"{tool['tool']} reports to a dashboard; it fails no build by itself", line
                    seen = pipe.view(job.path)
                    out.append(Match(seen, job, step, tool["category"], text, line, tool["tool"], why, wline))
    for template, line in pipe.templates:
        for t in tools()["gitlab_templates"]:
            if t["template"].lower() in template.lower():
                dummy = Job("(template)", template, line, line)
                step = Step(template, line, line, uses=template)
                out.append(
                    Match(
                        pipe,
                        dummy,
                        step,
                        t["category"],
                        template,
                        line,
                        t["tool"],
                        "GitLab's template jobs set allow_failure: true",
                        line,
                    )
                )
    return out
