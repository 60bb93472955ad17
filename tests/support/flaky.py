"""Item actions for map tests: one that fails once for chosen items, counting every
call (:class:`FailsOnce`); one that must meet others running at once (:class:`Meets`).

Example:
    >>> square = FailsOnce({2}, lambda x: x * x)
    >>> square(1), square(1)
    (1, 1)
    >>> square(2)
    Traceback (most recent call last):
    ...
    ValueError: item 2 once
    >>> square(2), square.calls
    (4, {1: 2, 2: 2})
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["FailsOnce", "Meets"]


class FailsOnce:
    """Calls ``value(x)``, but raises ``ValueError`` on the first call for each item in
    ``failing``; ``calls`` counts the calls per item (thread-safe)."""

    def __init__(self, failing: Iterable[Any], value: Callable[[Any], Any]) -> None:
        self.failing = set(failing)
        self.value = value
        self.calls: dict[Any, int] = {}
        self._lock = threading.Lock()

    def __call__(self, x: Any) -> Any:
        with self._lock:
            self.calls[x] = self.calls.get(x, 0) + 1
            first = self.calls[x] == 1
        if x in self.failing and first:
            raise ValueError(f"item {x} once")
        return self.value(x)


class Meets:
    """Calls ``value(x)`` after meeting ``parties - 1`` other calls at a barrier (so
    that many must run at once, or the barrier times out and the call fails), and
    records in ``running`` how many were running as each call began (thread-safe)."""

    def __init__(self, parties: int, value: Callable[[Any], Any],
                 timeout: float = 20.0) -> None:
        self.value = value
        self.running: list[int] = []
        self._barrier = threading.Barrier(parties, timeout=timeout)
        self._lock = threading.Lock()
        self._active = 0

    def __call__(self, x: Any) -> Any:
        with self._lock:
            self._active += 1
            self.running.append(self._active)
        self._barrier.wait()
        with self._lock:
            self._active -= 1
        return self.value(x)
