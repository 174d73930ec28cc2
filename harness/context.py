"""What a check sees: the configuration, its deadline, and memoised probes.

Probes (collect) are shared between checks (judge): the first check that asks
for a probe result computes it under a per-key lock, the others reuse it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from harness.config import Config

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """Raised by `Context.check_deadline` when the check ran out of time."""


@dataclass
class Shared:
    """State shared by every check of one run."""

    config: Config
    cancel: threading.Event = field(default_factory=threading.Event)
    selected: frozenset[str] = frozenset()  # the run's check ids: a probe may gather more for a check that will ask
    _cache: dict[str, Any] = field(default_factory=dict)
    _errors: dict[str, BaseException] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def memo(self, key: str, factory: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._errors:
                raise self._errors[key]
            if key not in self._cache:
                try:
                    self._cache[key] = factory()
                except DeadlineExceeded:
                    raise  # one check's deadline: the next check asking computes it again
                except Exception as exc:  # remembered so every check sees the same failure
                    self._errors[key] = exc
                    raise
            return self._cache[key]


@dataclass
class Context:
    shared: Shared
    check_id: str
    deadline: float  # time.monotonic() value after which the check is abandoned

    @property
    def config(self) -> Config:
        return self.shared.config

    @property
    def repo(self) -> Path:
        return self.shared.config.repo_path

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def bounded(self, seconds: float) -> float:
        """A timeout no longer than what is left of the check's deadline."""
        return max(0.05, min(seconds, self.remaining()))

    @property
    def cancelled(self) -> bool:
        return self.shared.cancel.is_set() or time.monotonic() >= self.deadline

    def check_deadline(self) -> None:
        if self.cancelled:
            raise DeadlineExceeded(f"{self.check_id}: deadline reached")

    def memo(self, key: str, factory: Callable[[], T]) -> T:
        return self.shared.memo(key, factory)
