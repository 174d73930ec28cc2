"""The check contract: metadata next to the code, and a registry keyed by stable id.

A check is a function decorated with `@check(...)`. It receives a `Context` and
yields `Finding`s. Its id is a public contract (catalogue, waivers, CI gates):
`repo.unit-tests` lives in `harness/checks/repo/unit_tests.py`, `live.tls` in
`harness/checks/live/tls.py`, so the catalogue leads to the code in one hop.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from harness import extras
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
    # Concurrent checks start in `order` too (then by id): a negative one starts a long check first.
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
        if id in REGISTRY and getattr(REGISTRY[id].fn, "__wrapped__", None) is not fn:
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
        REGISTRY[id] = Check(meta=meta, fn=_guarded(id, fn))
        fn.check_id = id  # type: ignore[attr-defined]
        return fn

    return register


def _missing_extra_finding(check_id: str, missing: tuple[str, str]) -> Finding:
    module, extra = missing
    return Finding(
        check_id=check_id,
        outcome=Outcome.COULD_NOT_CHECK,
        reason=f"{module} is not installed: install {extras.DISTRIBUTION}[{extra}]",
        remediation=f"Install the optional dependencies this check needs: {extras.install_line(extra)}.",
    )


def _guarded(check_id: str, fn: CheckFn) -> CheckFn:
    """`fn`, except that a missing optional dependency (an extra not installed) is a could-not-check finding."""

    @functools.wraps(fn)
    def run(ctx: Context) -> Iterator[Finding]:
        try:
            yield from fn(ctx) or []
        except ImportError as exc:
            missing = extras.missing_extra(exc)
            if missing is None:
                raise
            yield _missing_extra_finding(check_id, missing)

    return run


def _register_unavailable(check_id: str, missing: tuple[str, str]) -> None:
    """A check whose module cannot be imported without an extra: it runs, and says which extra to install."""

    def unavailable(_ctx: Context) -> Iterator[Finding]:
        yield _missing_extra_finding(check_id, missing)

    advice = f"Install the optional dependencies: {extras.install_line(missing[1])}."
    REGISTRY[check_id] = Check(
        CheckMeta(
            id=check_id,
            title=check_id,
            failure_title=check_id,
            proves=f"(not installed: {missing[0]})",
            remediation=advice,
            source="live" if check_id.startswith("live.") else "repository",
            module=module_for(check_id),
        ),
        unavailable,
    )


def _import_check_module(name: str, check_id: str | None = None) -> None:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        missing = extras.missing_extra(exc)
        if missing is None:
            raise
        if check_id is None:  # load_all: the id follows from the module's name
            family, _, stem = name.removeprefix("harness.checks.").partition(".")
            check_id = f"{family}.{stem.replace('_', '-')}"
        _register_unavailable(check_id, missing)


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
        if info.name.endswith(".base") or info.ispkg:
            continue
        _import_check_module(info.name)
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
            _import_check_module(module_for(cid), cid)
    return REGISTRY


def module_for(check_id: str) -> str:
    """The module a check id must live in: `repo.unit-tests` -> harness.checks.repo.unit_tests."""
    family, _, name = check_id.partition(".")
    return f"harness.checks.{family}.{name.replace('-', '_')}"
