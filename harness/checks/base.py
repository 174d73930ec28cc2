"""The check contract: metadata next to the code, and a registry keyed by stable id.

A check is a function decorated with `@check(...)`. It receives a `Context` and
yields `Finding`s. Its id is a public contract (catalogue, waivers, CI gates):
`repo.unit-tests` lives in `harness/checks/repo/unit_tests.py`, `live.tls` in
`harness/checks/live/tls.py`, so the catalogue leads to the code in one hop.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from harness.model import Evidence, Finding, Outcome

if TYPE_CHECKING:
    from harness.context import Context

Source = Literal["repository", "live"]
CheckFn = Callable[["Context"], Iterable[Finding]]


@dataclass(frozen=True)
class CheckMeta:
    id: str
    title: str  # what it shows when it passes
    failure_title: str  # what it shows when it fails
    proves: str  # what a pass proves, and why it matters
    remediation: str  # default advice when it does not pass
    source: Source
    timeout: float = 60.0  # seconds; the engine gives up on the check after this
    # Exclusive checks disturb the target (redeploys, fault injection): the engine
    # runs them one at a time, in `order`, after every concurrent check finished.
    exclusive: bool = False
    order: int = 0
    module: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "failure_title": self.failure_title,
            "proves": self.proves,
            "remediation": self.remediation,
            "source": self.source,
            "timeout": self.timeout,
            "module": self.module,
        }


@dataclass(frozen=True)
class Check:
    meta: CheckMeta
    fn: CheckFn

    def finding(
        self,
        outcome: Outcome,
        reason: str,
        evidence: list[Evidence] | None = None,
        remediation: str | None = None,
        subject: str | None = None,
    ) -> Finding:
        return Finding(
            check_id=self.meta.id,
            outcome=outcome,
            reason=reason,
            evidence=evidence or [],
            remediation=remediation
            if remediation is not None
            else (None if outcome in (Outcome.PASS, Outcome.NOT_APPLICABLE) else self.meta.remediation),
            subject=subject,
        )


REGISTRY: dict[str, Check] = {}


def check(
    id: str,
    *,
    title: str,
    failure_title: str,
    proves: str,
    remediation: str,
    source: Source,
    timeout: float = 60.0,
    exclusive: bool = False,
    order: int = 0,
) -> Callable[[CheckFn], CheckFn]:
    """Register a check. Inside it, build findings with `finding(...)` below."""

    def register(fn: CheckFn) -> CheckFn:
        if id in REGISTRY and REGISTRY[id].fn is not fn:
            raise ValueError(f"duplicate check id {id}")
        meta = CheckMeta(
            id=id,
            title=title,
            failure_title=failure_title,
            proves=proves,
            remediation=remediation,
            source=source,
            timeout=timeout,
            exclusive=exclusive,
            order=order,
            module=fn.__module__,
        )
        REGISTRY[id] = Check(meta=meta, fn=fn)
        fn.check_id = id  # type: ignore[attr-defined]
        return fn

    return register


def finding(
    check_id: str,
    outcome: Outcome,
    reason: str,
    evidence: list[Evidence] | None = None,
    remediation: str | None = None,
    subject: str | None = None,
) -> Finding:
    """A finding for a registered check; remediation defaults to the check's own."""
    return REGISTRY[check_id].finding(outcome, reason, evidence, remediation, subject)


def load_all() -> dict[str, Check]:
    """Import every module under harness.checks so that their checks register.

    HARNESS_EXTRA_CHECKS (comma-separated module names) loads checks from outside
    the package: an organisation's own checks, or deliberately slow ones in tests.
    """
    import harness.checks as pkg

    for info in pkgutil.walk_packages(pkg.__path__, prefix="harness.checks."):
        if info.name.endswith(".base"):
            continue
        importlib.import_module(info.name)
    return load_extras()


def load_extras() -> dict[str, Check]:
    """Import the modules named in HARNESS_EXTRA_CHECKS; returns the registry."""
    for name in filter(None, (n.strip() for n in os.environ.get("HARNESS_EXTRA_CHECKS", "").split(","))):
        importlib.import_module(name)
    return REGISTRY


def load_checks(ids: set[str]) -> dict[str, Check]:
    """Import only the modules of these check ids (start-up cost is paid for what runs)."""
    for cid in sorted(ids):
        if cid not in REGISTRY:
            importlib.import_module(module_for(cid))
    return REGISTRY


def module_for(check_id: str) -> str:
    """The module a check id must live in: `repo.unit-tests` -> harness.checks.repo.unit_tests."""
    family, _, name = check_id.partition(".")
    return f"harness.checks.{family}.{name.replace('-', '_')}"
