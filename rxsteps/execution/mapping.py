"""Mapped steps (``Step(..., map="docs")``): one call per item, the items in parallel.

A mapped step's call (the one its join makes available) does not run its action once:
when the call is ready, the run reads the items out of the mapped dependency's value
(:func:`start`) and keeps a :class:`MapState` on the node while they run. The node is
queued once per item; each :meth:`Run.begin <rxsteps.execution.run.Run.begin>` takes
the next item (:meth:`MapState.next_call`), so items are attempts of their own — call
``index`` = the item's index in events, attempts, the timeline and spans — and take
``max_concurrency`` slots like any attempt. An item that fails is retried on its own
by the step's retry policy (:meth:`MapState.retry`, which puts it first in line again).

When every item has ended (:meth:`MapState.complete`), the step emits the list of
results in item order and succeeds; with ``fail_fast=False`` an item that failed for
good is recorded (``errors``) and, once all have ended, the step fails with a
:class:`~rxsteps.errors.MapItemsFailedError` that keeps the successful values. With
``fail_fast`` the first failed item fails the step and the run, cancelling the others.

The state is guarded by the run's lock, like the node that owns it.

Example:
    >>> from rxsteps import Step, StepGraph, run
    >>> graph = StepGraph([Step("docs", lambda: ["a", "bb", "ccc"]),
    ...                    Step("sizes", len, ["docs"], map="docs")])
    >>> run(graph, max_concurrency=2)["sizes"]
    [1, 2, 3]
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..errors import MapTypeError
from .node import Node

__all__ = ["MapState", "start"]


class MapState:
    """The items of one mapped call in flight, and what each produced so far."""

    __slots__ = ("done", "errors", "items", "next", "position", "results", "retries")

    def __init__(self, position: int, items: list[Any]) -> None:
        self.position = position  # where the item goes among the action's arguments
        self.items = items
        self.results: list[Any] = [None] * len(items)
        self.errors: dict[int, Exception] = {}
        self.done = 0  # items ended, succeeded or failed for good
        self.next = 0  # the next item never started
        self.retries: deque[tuple[int, int]] = deque()  # (item, attempt) due again

    def next_call(self) -> tuple[int, int]:
        """The item to start now and its attempt number: a due retry first."""
        if self.retries:
            return self.retries.popleft()
        index, self.next = self.next, self.next + 1
        return index, 1

    def args(self, args: tuple[Any, ...], index: int) -> tuple[Any, ...]:
        """The call's arguments with item ``index`` in the mapped dependency's place."""
        position = self.position
        return (*args[:position], self.items[index], *args[position + 1:])

    def retry(self, index: int, number: int) -> None:
        """Item ``index``'s attempt ``number`` is due."""
        self.retries.append((index, number))

    def succeeded(self, index: int, value: Any) -> None:
        self.results[index] = value
        self.done += 1

    def failed(self, index: int, error: BaseException) -> None:
        self.errors[index] = error if isinstance(error, Exception) else RuntimeError(error)
        self.done += 1

    @property
    def complete(self) -> bool:
        """Whether every item has ended."""
        return self.done == len(self.items)


def start(node: Node, args: tuple[Any, ...]) -> MapState:
    """The items of ``node``'s mapped dependency in ``args``, as a :class:`MapState`.

    Raises:
        MapTypeError: The value has no items (or is a string, which is not split
            into characters); the value's ``TypeError`` is the cause.
    """
    step = node.step
    assert step.map is not None
    position = step.depends.index(step.map)
    value = args[position]
    if isinstance(value, str | bytes):
        raise MapTypeError(step.id, step.map, value)
    try:
        items = list(value)
    except TypeError as error:
        raise MapTypeError(step.id, step.map, value) from error
    return MapState(position, items)
