"""The rehearsal's steps: which checks each runs and what a step needs configured before it can run."""

from __future__ import annotations

from dataclasses import dataclass

from harness.checks.base import Check
from harness.config import Config


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    checks: tuple[str, ...]  # empty: every selected check no later step runs (the pre-flight)


STEPS = (
    Step("preflight", "Pre-flight: repository and live checks", ()),
    Step(
        "deployment",
        "Observed deployment: a canary commit through your own pipeline, timed to the end user",
        ("live.source-to-user",),
    ),
    Step("redeploy", "Redeploy: new immutable instances, users served throughout", ("live.immutable-redeploy",)),
    Step("drill", "Alert drill: inject a fault, see the alert fire, restore, healthy again", ("live.alert-fires",)),
)
OBSERVED = {c for s in STEPS for c in s.checks}


def missing(config: Config, step: Step) -> str:
    """What to configure before `step` can run ('' when it can)."""
    # Imported here: the CLI registers `rehearse` on every start, and this module pulls in the HTTP stack.
    from harness.checks.live.source_to_user import is_protected

    live = config.live
    needs: list[str] = []
    if step.key == "deployment":
        s = live.source_to_user
        needs += [] if s.remote else ["live.source_to_user.remote (a git remote whose push deploys)"]
        needs += [] if live.urls else ["live.urls (the public URL; its version endpoint names the commit)"]
        if s.remote and is_protected(s.branch) and not s.allow_protected:
            needs.append(f"live.source_to_user.allow_protected = true (to push a canary to {s.branch})")
    elif step.key == "redeploy":
        needs += [] if live.redeploy.command else ["live.redeploy.command (the command that redeploys)"]
        needs += [] if live.urls else ["live.urls (the public URL, sampled during the redeploy)"]
    elif step.key == "drill":
        needs += [] if live.fault.command else ["live.fault.command (the command that injects a fault)"]
        needs += [] if live.fault.restore_command else ["live.fault.restore_command (the command that undoes it)"]
        needs += [] if live.prometheus_url else ["live.prometheus_url (where the alert is watched)"]
    return "; ".join(needs)


def plan(checks: list[Check]) -> list[tuple[Step, list[Check]]]:
    """Each step with the selected checks it runs (a step may get none: not in this run's scope)."""
    out = []
    for step in STEPS:
        if step.checks:
            out.append((step, [c for c in checks if c.meta.id in step.checks]))
        else:
            out.append((step, [c for c in checks if c.meta.id not in OBSERVED]))
    return out
