"""Mapped steps (``Step(..., map="docs")``): one call per item, the items in parallel.

A mapped step's call (the one its join makes available) does not run its action once:
when the call is ready, the run reads the items out of the mapped dependency's value
(:func:`start`) and keeps a :class:`MapState` on the node while they run. The node is
queued once per item; each :meth:`Run.begin <rxsteps.execution.run.Run.begin>` takes
the next item (:meth:`MapState.next_call`), so items are attempts of their own — call
``index`` = the item's index in events, attempts, the timeline and spans — and take
``max_concurrency`` slots like any attempt. An item that fails is retried on its own
by the step's retry policy (:meth:`MapState.retry`, which puts it first in line again).
When a gate holds the run's ready steps back (limits, rates or ``max_concurrency``),
each queued call is reserved when it is queued (:meth:`MapState.reserve`), so the
item that waits is known and its WAITING event carries its own index; the gate lets
the reserved calls through in order (:meth:`MapState.let_through`) and ``begin`` takes
them in that order.

When every item has ended (:meth:`MapState.complete`), the step emits the list of
results in item order and succeeds; with ``fail_fast=False`` an item that failed for
good is recorded (``errors``) and, once all have ended, the step fails with a
:class:`~rxsteps.errors.MapItemsFailedError` that keeps the successful values. With
``fail_fast`` the first failed item fails the step and the run, cancelling the others.

**Over a stream.** When the mapped dependency streams (a generator, an async
generator, an observable: its values came through
:meth:`Run.emit_value <rxsteps.execution.run.Run.emit_value>`, so its node is
``streamed``) and the join is ``zip``, each value it emits is one item: the mapped call
becomes available with the first value (the join makes no second call), the state
stays ``open`` and every later value is appended to ``items`` and queued at once
(:meth:`MapState.add`), so items start while the producer is still running. The state
closes when the producer ends; the step's value is the list of results in emission
order. If the producer fails (with ``fail_fast=False``; with ``fail_fast`` the run
stops), the items already started finish, those not started are dropped
(:meth:`MapState.drop`), and the step is SKIPPED like any dependent of a failed step.
A stream that emits nothing makes no call: the step is skipped, as a ``zip`` join
over an empty stream is.

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
from .node import Node, Source

__all__ = ["MapState", "start", "streams_items"]


class MapState:
    """The items of one mapped call in flight, and what each produced so far."""

    __slots__ = ("admitted", "done", "errors", "items", "next", "open", "position", "results",
                 "retries")

    def __init__(self, position: int, items: list[Any], *, open: bool = False) -> None:
        self.position = position  # where the item goes among the action's arguments
        self.items = items
        self.open = open  # more items may come: the mapped dependency still streams
        self.results: list[Any] = [None] * len(items)
        self.errors: dict[int, Exception] = {}
        self.done = 0  # items ended, succeeded or failed for good
        self.next = 0  # the next item never started
        self.retries: deque[tuple[int, int]] = deque()  # (item, attempt) due again
        self.admitted: deque[tuple[int, int]] = deque()  # reserved, let through a gate

    def next_call(self) -> tuple[int, int]:
        """The item to start now and its attempt number: the oldest one a gate let
        through (:meth:`let_through`), else what :meth:`reserve` gives."""
        if self.admitted:
            return self.admitted.popleft()
        return self.reserve()

    def reserve(self) -> tuple[int, int]:
        """The next call to queue and its attempt number: a due retry first, else the
        next item never started. A gate reserves each queued call this way, so a
        waiting item is known (and reported) by its own index."""
        if self.retries:
            return self.retries.popleft()
        index, self.next = self.next, self.next + 1
        return index, 1

    def let_through(self, call: tuple[int, int]) -> None:
        """A gate admitted (or dropped) reserved ``call``: the next
        :meth:`next_call` begins (or drops) it, in the order they were let through."""
        self.admitted.append(call)

    def args(self, args: tuple[Any, ...], index: int) -> tuple[Any, ...]:
        """The call's arguments with item ``index`` in the mapped dependency's place."""
        position = self.position
        return (*args[:position], self.items[index], *args[position + 1:])

    def add(self, item: Any) -> None:
        """A streaming dependency emitted ``item``: one more item to run."""
        self.items.append(item)
        self.results.append(None)

    def drop(self) -> None:
        """The step was doomed (its producer failed): the next queued item never runs."""
        self.next_call()
        self.done += 1

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
        """Whether every item has ended and no more will come."""
        return not self.open and self.done == len(self.items)


def start(node: Node, args: tuple[Any, ...]) -> MapState:
    """The items of ``node``'s mapped dependency in ``args``, as a :class:`MapState`.

    Raises:
        MapTypeError: The value has no items (or is a string, which is not split
            into characters); the value's ``TypeError`` is the cause.
    """
    step = node.step
    assert step.map is not None
    position = step.depends.index(step.map)
    dep = node.deps[position]
    if dep.streamed and node.joins_by == "zip":  # each value is an item, more may come
        return MapState(position, list(dep.values), open=not dep.finished)
    value = args[position]
    if isinstance(value, str | bytes):
        raise MapTypeError(step.id, step.map, value)
    try:
        items = list(value)
    except TypeError as error:
        raise MapTypeError(step.id, step.map, value) from error
    return MapState(position, items)


def streams_items(node: Node, dep: Source) -> bool:
    """Whether ``node`` maps over ``dep`` item by item as ``dep`` streams (then its join
    makes one call only, with the first value)."""
    if node.step.map != dep.id or node.joins_by != "zip":
        return False
    if node.limit > 1:
        node.limit = 1
    return True
