"""An item action that fails once for chosen items, counting every call.

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

__all__ = ["FailsOnce"]


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
