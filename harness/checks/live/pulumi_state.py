"""live.pulumi-state: the infrastructure state shows compute replaced by redeploys, and lives somewhere durable.

Reads live.pulumi_state offline (see harness.probes.pulumi_state for the formats).
Per stack: which compute resources (containers, VMs, deployments) the last update
replaced (same URN, new id and new `created`), the update history's resource
changes, and where the state is kept. A file backend on its own mount (a volume,
a mounted bucket) counts as durable; one on the system disk is a WARN; a stack
export says nothing about its backend, so that part is MANUAL.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes.pulumi_state import PulumiState, StackState, StateError, compute_changes, load

ID = "live.pulumi-state"


@check(
    ID,
    title="Pulumi state shows compute replaced by the last update and is kept in a durable backend",
    failure_title="Pulumi state is unreadable, shows no replacement of compute, or is kept on a local disk",
    proves="Infrastructure is code whose state records immutable replacements and survives the loss of a machine "
    "(RP-1, DP-1).",
    remediation=(
        "Keep the Pulumi state in a durable backend (Pulumi Cloud, s3://, azblob://, gs://, or a file backend on a "
        "backed-up volume) and redeploy by replacing compute resources (e.g. replaceOnChanges, new image digests)."
    ),
    source="live",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    raw = ctx.config.live.pulumi_state
    if not raw:
        yield finding(ID, Outcome.COULD_NOT_CHECK, "live.pulumi_state is not set: no Pulumi state to read")
        return
    path = ctx.config.resolve(raw)
    try:
        state = load(path)
    except StateError as exc:
        yield finding(ID, Outcome.COULD_NOT_CHECK, f"the Pulumi state is unreadable: {exc}", subject=str(path))
        return
    for stack in state.stacks:
        ctx.check_deadline()
        yield _replacement(state, stack)
        if state.kind == "file-backend":
            yield _history(stack)
    yield _backend(state)


def _replacement(state: PulumiState, stack: StackState) -> Finding:
    pair = stack.last_two()
    current = stack.current
    compute = current.compute() if current else []
    listing = Evidence(
        kind="file",
        summary=f"{stack.name}: {len(current.resources) if current else 0} resources, {len(compute)} compute",
        path=str(current.source) if current else None,
        excerpt="\n".join(f"{r.type} {r.name} id={r.id} created={r.created}" for r in compute[:30]),
    )
    if pair is None:
        if state.kind == "export":
            return finding(
                ID,
                Outcome.MANUAL,
                f"{stack.name}: a single export has no earlier checkpoint, so replacement cannot be shown; "
                f"it lists {len(compute)} compute resource(s)",
                [listing],
                remediation="Point live.pulumi_state at the file backend folder (with .pulumi/history), or show "
                "`pulumi stack history` and the created times of the compute resources to the assessor.",
                subject=stack.name,
            )
        return finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"{stack.name}: fewer than two checkpoints in the history folder: no update to compare",
            [listing],
            subject=stack.name,
        )
    before, after = pair
    changes = compute_changes(before, after)
    ev = [
        listing,
        Evidence(
            kind="file",
            summary=f"compared checkpoints {before.label} -> {after.label}",
            path=str(after.source),
            data={"before": str(before.source), "after": str(after.source), "compute": [c.to_dict() for c in changes]},
        ),
    ]
    kinds = Counter(c.change for c in changes)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    if not changes:
        return finding(ID, Outcome.WARN, f"{stack.name}: no compute resources in the state", ev, subject=stack.name)
    replaced = [c for c in changes if c.change == "replaced"]
    in_place = [c for c in changes if c.change == "updated-in-place"]
    if in_place:
        return finding(
            ID,
            Outcome.WARN,
            f"{stack.name}: the last update changed compute in place: "
            + ", ".join(c.urn.rsplit("::", 1)[-1] for c in in_place)
            + f" ({summary})",
            ev,
            subject=stack.name,
        )
    if replaced:
        names = ", ".join(f"{c.urn.rsplit('::', 1)[-1]} {c.id_before[:12]} -> {c.id_after[:12]}" for c in replaced)
        return finding(
            ID, Outcome.PASS, f"{stack.name}: the last update replaced {names} ({summary})", ev, subject=stack.name
        )
    return finding(
        ID,
        Outcome.WARN,
        f"{stack.name}: the last update replaced no compute resource ({summary})",
        ev,
        subject=stack.name,
    )


def _history(stack: StackState) -> Finding:
    if not stack.history:
        return finding(
            ID, Outcome.WARN, f"{stack.name}: no update history next to the state", subject=f"{stack.name} history"
        )
    rows = []
    totals: Counter[str] = Counter()
    for info in stack.history:
        changes = {str(k): int(v) for k, v in (info.get("resourceChanges") or {}).items() if isinstance(v, int)}
        totals.update(changes)
        rows.append(
            f"{info.get('kind', '?')} {info.get('result', '?')} {info.get('startTime', '')}-{info.get('endTime', '')} "
            + " ".join(f"{k}={v}" for k, v in sorted(changes.items()))
        )
    last = stack.history[-1]
    last_changes = last.get("resourceChanges") or {}
    ev = [
        Evidence(
            kind="file",
            summary=f"{len(stack.history)} updates in the history",
            path=str(stack.history_files[-1]) if stack.history_files else None,
            excerpt="\n".join(rows[-20:]),
            data={"totals": dict(totals), "last": {k: last.get(k) for k in ("kind", "result", "startTime", "endTime")}},
        )
    ]
    counts = ", ".join(f"{k} {last_changes.get(k, 0)}" for k in ("create", "update", "delete", "replace"))
    reason = f"{stack.name}: last update {last.get('kind', '?')} {last.get('result', '?')} ({counts}); "
    reason += f"{totals.get('replace', 0)} replacement(s) over {len(stack.history)} updates"
    outcome = Outcome.PASS if last.get("result") == "succeeded" else Outcome.WARN
    return finding(ID, outcome, reason, ev, subject=f"{stack.name} history")


def _backend(state: PulumiState) -> Finding:
    if state.kind == "export":
        return finding(
            ID,
            Outcome.MANUAL,
            "a stack export does not say where the state is kept: show the backend (`pulumi whoami -v`) and how it "
            "is backed up",
            [Evidence(kind="file", summary="stack export", path=str(state.root))],
            remediation="Show the assessor the state backend URL and its backup or versioning.",
            subject="backend",
        )
    root_dev = os.stat("/").st_dev
    dev = os.stat(state.root).st_dev
    mount = _mount_point(state.root)
    ev = [Evidence(kind="file", summary=f"file backend at {state.root} (mount {mount})", path=str(state.root))]
    if dev != root_dev:
        return finding(
            ID,
            Outcome.PASS,
            f"the state is a file backend on its own mount ({mount}), not the system disk",
            ev,
            subject="backend",
        )
    return finding(
        ID,
        Outcome.WARN,
        f"the state is a file backend on the system disk ({state.root}): losing this machine loses the state",
        ev,
        subject="backend",
    )


def _mount_point(path: Path) -> str:
    p = path.resolve()
    while not os.path.ismount(p) and p != p.parent:
        p = p.parent
    return str(p)
