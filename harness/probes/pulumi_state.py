"""Pulumi state, read offline: a file backend folder or a `pulumi stack export` JSON file.

Formats (Pulumi's sdk/go/common/apitype):
- file backend: `.pulumi/stacks/<project>/<stack>.json` (or legacy `.pulumi/stacks/<stack>.json`),
  a CheckpointV3 `{"version": 3, "checkpoint": {"stack", "latest": DeploymentV3}}`; each update
  also writes `.pulumi/history/<project>/<stack>/<stack>-<unix nanos>.checkpoint.json` (a
  CheckpointV3) and `...history.json` (an UpdateInfo: kind, startTime, endTime, result,
  resourceChanges {create, update, delete, replace, same...}). Either may be gzipped (.gz).
- stack export: an UntypedDeployment `{"version": 3, "deployment": DeploymentV3}`.
DeploymentV3 holds `resources`: ResourceV3 {urn, custom, id, type, created, modified, ...}.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import fsutil

COMPUTE_TYPE = re.compile(
    r"container:Container$|ec2/instance:Instance$|VirtualMachine|compute/instance:Instance$|"
    r"apps/v1:(Deployment|StatefulSet|DaemonSet)$|ecs/service:Service$|autoscaling/group:Group$|"
    r"lambda/function:Function$|droplet:Droplet$|containerinstance/containerGroup|app:ContainerApp|run/service:Service$"
)
MAX_STATE_BYTES = 50_000_000


class StateError(Exception):
    """A state file that is missing, too large, not JSON or not in a known format; names the file."""


@dataclass
class Resource:
    urn: str
    type: str
    id: str
    custom: bool
    created: str
    modified: str

    @property
    def compute(self) -> bool:
        return self.custom and bool(COMPUTE_TYPE.search(self.type))

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class Snapshot:
    source: Path
    label: str  # the timestamp in the file name, or "current"/"export"
    resources: dict[str, Resource]

    def compute(self) -> list[Resource]:
        return [r for r in self.resources.values() if r.compute]


@dataclass
class StackState:
    project: str
    stack: str
    current: Snapshot | None
    checkpoints: list[Snapshot] = field(default_factory=list)  # oldest first
    history: list[dict[str, Any]] = field(default_factory=list)  # UpdateInfo, oldest first
    history_files: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.project}/{self.stack}" if self.project else self.stack

    def last_two(self) -> tuple[Snapshot, Snapshot] | None:
        snaps = list(self.checkpoints)
        if self.current and (not snaps or snaps[-1].resources != self.current.resources):
            snaps.append(self.current)
        return (snaps[-2], snaps[-1]) if len(snaps) >= 2 else None


@dataclass
class PulumiState:
    kind: str  # "file-backend" | "export"
    root: Path  # the .pulumi folder, or the export file
    stacks: list[StackState]


def read_json(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_STATE_BYTES:
            raise StateError(f"{path}: larger than {MAX_STATE_BYTES} bytes")
        raw = fsutil.read_bounded(path, MAX_STATE_BYTES)  # a FIFO never blocks
        if path.suffix == ".gz":
            raw = fsutil.gunzip_bounded(raw, MAX_STATE_BYTES)  # a gzip bomb stops at the cap
        return json.loads(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise StateError(f"{path}: cannot read: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise StateError(f"{path}: not valid JSON: {str(exc)[:120]}") from None


def _deployment_resources(deployment: Any, path: Path) -> dict[str, Resource]:
    if not isinstance(deployment, dict):
        return {}
    out: dict[str, Resource] = {}
    for raw in deployment.get("resources") or []:
        if not isinstance(raw, dict) or "urn" not in raw:
            raise StateError(f"{path}: a resource without urn")
        if raw.get("delete"):  # pending deletion: an old copy during a replacement
            continue
        out[str(raw["urn"])] = Resource(
            urn=str(raw["urn"]),
            type=str(raw.get("type", "")),
            id=str(raw.get("id", "")),
            custom=bool(raw.get("custom")),
            created=str(raw.get("created", "")),
            modified=str(raw.get("modified", "")),
        )
    return out


def _checkpoint(path: Path, label: str) -> Snapshot:
    doc = read_json(path)
    if not isinstance(doc, dict) or "checkpoint" not in doc:
        raise StateError(f"{path}: not a Pulumi checkpoint (no `checkpoint` key)")
    if doc.get("version") not in (1, 2, 3):
        raise StateError(f"{path}: unknown checkpoint version {doc.get('version')!r}")
    latest = (doc.get("checkpoint") or {}).get("latest")
    return Snapshot(path, label, _deployment_resources(latest, path))


def _stamp(path: Path) -> int:
    m = re.search(r"-(\d+)\.(checkpoint|history)\.json(\.gz)?$", path.name)
    return int(m.group(1)) if m else 0


def load(path: Path) -> PulumiState:
    """Read a file backend (the folder holding .pulumi, or .pulumi itself) or a stack export file."""
    if path.is_file():
        doc = read_json(path)
        if not isinstance(doc, dict) or "deployment" not in doc:
            raise StateError(f"{path}: not a `pulumi stack export` document (no `deployment` key)")
        snap = Snapshot(path, "export", _deployment_resources(doc.get("deployment"), path))
        manifest = (doc.get("deployment") or {}).get("manifest") or {}
        stack = StackState(project="", stack=f"export ({manifest.get('time', 'no time')})", current=snap)
        return PulumiState("export", path, [stack])
    root = path if path.name == ".pulumi" else path / ".pulumi"
    stacks_dir = root / "stacks"
    if not stacks_dir.is_dir():
        raise StateError(f"{path}: no .pulumi/stacks folder: not a Pulumi file backend")
    stacks: list[StackState] = []
    for f in sorted(stacks_dir.rglob("*.json*")):
        if not re.search(r"\.json(\.gz)?$", f.name) or ".bak" in f.name:
            continue
        rel = f.relative_to(stacks_dir)
        project = rel.parts[0] if len(rel.parts) > 1 else ""
        stack_name = re.sub(r"\.json(\.gz)?$", "", f.name)
        hist_dir = root / "history" / project / stack_name if project else root / "history" / stack_name
        state = StackState(project, stack_name, _checkpoint(f, "current"))
        if hist_dir.is_dir():
            cps = sorted(hist_dir.glob(f"{stack_name}-*.checkpoint.json*"), key=_stamp)
            state.checkpoints = [_checkpoint(p, str(_stamp(p))) for p in cps]
            state.history_files = sorted(hist_dir.glob(f"{stack_name}-*.history.json*"), key=_stamp)
            for h in state.history_files:
                info = read_json(h)
                if not isinstance(info, dict):
                    raise StateError(f"{h}: not an UpdateInfo object")
                state.history.append(info)
        stacks.append(state)
    if not stacks:
        raise StateError(f"{stacks_dir}: no stack state files")
    return PulumiState("file-backend", root, stacks)


@dataclass
class ComputeChange:
    urn: str
    type: str
    change: str  # replaced | updated-in-place | unchanged | created | deleted
    id_before: str = ""
    id_after: str = ""
    created_before: str = ""
    created_after: str = ""

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def compute_changes(before: Snapshot, after: Snapshot) -> list[ComputeChange]:
    """Compute resources between two checkpoints: a replacement keeps the URN but gets a new id and `created`."""
    out: list[ComputeChange] = []
    for urn, new in after.resources.items():
        if not new.compute:
            continue
        old = before.resources.get(urn)
        if old is None:
            out.append(ComputeChange(urn, new.type, "created", id_after=new.id, created_after=new.created))
            continue
        if old.id != new.id and (old.created != new.created or not new.created):
            change = "replaced"
        elif old.modified != new.modified and new.modified:
            change = "updated-in-place"
        else:
            change = "unchanged"
        out.append(ComputeChange(urn, new.type, change, old.id, new.id, old.created, new.created))
    for urn, old in before.resources.items():
        if old.compute and urn not in after.resources:
            out.append(ComputeChange(urn, old.type, "deleted", id_before=old.id, created_before=old.created))
    return out
