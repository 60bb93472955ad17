"""One step's state inside one run, and the join that feeds it.

A :class:`Node` is the step's hot, replaying observable: ``values`` is every value the
step emitted, in order, and it never shrinks during a run. That makes the zip join
cheap — a dependent keeps one integer cursor, ``fired``, instead of a queue per source
(reactivex's ``zip`` pops from the front of lists, which is quadratic when a fast
stream is zipped with a slow one): its n-th call takes ``dep.values[n]`` of every
dependency. ``lacking`` counts the dependencies that have no value at the cursor yet,
so a new value costs O(1) and a call O(in-degree).

The three joins:

- ``zip``: call n gets the n-th value of each dependency; exhausted when a completed
  dependency has no value left at the cursor (``limit``).
- ``latest``: once every dependency has a value, a call per new value with the latest
  value of each (snapshots, so later values do not leak into a queued call).
- ``collect``: one call after every dependency completed, with lists of their values.

Nodes hold state only; the :class:`~rxsteps.execution.run.Run` owns them and mutates
them under its lock.

Example:
    >>> from rxsteps import Step
    >>> a, b = InputNode("a", 1), InputNode("b", 2)
    >>> node = Node(Step("sum", lambda x, y: x + y, ["a", "b"]), [a, b])
    >>> node.pending(), node.args(0)
    (1, (1, 2))
"""

from __future__ import annotations

import enum
from collections import deque
from typing import TYPE_CHECKING, Any

from ..result import StepStatus

if TYPE_CHECKING:
    from ..step import Step

__all__ = ["InputNode", "Mode", "Node", "Source"]

_INFINITY = float("inf")
_PENDING, _SUCCEEDED = StepStatus.PENDING, StepStatus.SUCCEEDED


class Mode(enum.Enum):
    """Where a step's action runs (chosen once per run, see :mod:`.invoke`)."""

    SYNC = "sync"
    """On a driver thread: functions, generators, runnables with a usable ``invoke``."""
    ASYNC = "async"
    """As a task on an event loop: coroutines, async generators, ``ainvoke``."""
    REMOTE = "remote"
    """Shipped to a remote executor with ``submit`` (process pools, Dask)."""


class Source:
    """What a dependent's join reads: an id, the values so far, and whether it ended.

    Run inputs are plain sources; steps are :class:`Node`\\ s.
    """

    __slots__ = ("dependents", "finished", "id", "span_context", "status", "streamed",
                 "values")

    def __init__(self, name: str) -> None:
        self.id = name
        self.values: list[Any] = []
        self.dependents: list[Node] = []
        self.status = _PENDING
        self.finished = False  # status is final
        self.span_context: Any = None
        self.streamed = False  # a value came from a stream (a mapped dependent's items)


class Node(Source):
    """The state of one step during one run."""

    __slots__ = (
        "all_done",
        "busy",
        "by_condition",
        "checked",
        "deps",
        "due",
        "ended",
        "error",
        "fired",
        "invoked",
        "join",
        "lacking",
        "last_attempt",
        "limit",
        "mapping",
        "mode",
        "next_attempt",
        "reason",
        "retry_timer",
        "skipped_calls",
        "snapshots",
        "started",
        "step",
        "tries",
    )

    def __init__(self, step: Step, deps: list[Source]) -> None:
        self.id = step.id  # Source's fields, inline: this runs once per step per run
        self.values = []
        self.dependents = []
        self.status = _PENDING
        self.finished = False
        self.span_context = None
        self.streamed = False
        self.step = step
        self.join = step.join
        self.deps = deps
        self.busy = False  # a call is running, or waiting for a slot or a retry
        self.invoked = 0  # calls finished
        self.fired = 0  # calls made available by the join
        self.next_attempt = 1
        self.last_attempt = 1  # the attempt number of the last call that succeeded
        self.tries = 0  # the most attempts any one call has started
        self.mode = Mode.SYNC
        self.retry_timer: Any = None
        self.due: deque[Any] | None = None  # queued calls' timeouts (see Run._queue)
        self.error: BaseException | None = None
        self.reason: str | None = None
        self.started: float | None = None
        self.ended: float | None = None
        self.snapshots: deque[tuple[Any, ...]] | None = None
        self.all_done = 0  # dependencies completed
        self.lacking = 0
        self.limit: float = _INFINITY
        self.checked = -1  # the call whose condition said yes (steps with ``when``)
        self.skipped_calls = 0  # calls its condition skipped
        self.by_condition = False  # skipped by a condition (its own or a dependency's)
        self.mapping: Any = None  # a mapped call's items in flight: a mapping.MapState
        if not deps:
            self.fired = 1  # a root is called once, with no arguments
            self.limit = 1
            return
        snapshots: deque[tuple[Any, ...]] | None = None
        if self.join == "latest":
            self.snapshots = snapshots = deque()
        lacking = 0
        for dep in deps:
            dep.dependents.append(self)
            if dep.finished and dep.status is _SUCCEEDED:  # inputs: complete from the start
                self._dep_completed(dep)
            if not dep.values:
                lacking += 1
        self.lacking = lacking
        if self.join == "zip":
            self._fire_zip()
        elif snapshots is not None and not self.lacking:
            snapshots.append(tuple(dep.values[-1] for dep in deps))
        elif self.join == "collect" and self.all_done == len(deps):
            self.fired = 1

    # -- join ---------------------------------------------------------------------------

    def dep_emitted(self, dep: Source) -> None:
        """``dep`` appended a value; make any call it completes available."""
        join = self.join
        if join == "zip":
            if len(dep.values) == self.fired + 1:
                self.lacking -= 1
                if not self.lacking:
                    self._fire_zip()
        elif (snapshots := self.snapshots) is not None:
            if len(dep.values) == 1:
                self.lacking -= 1
            if not self.lacking:
                snapshots.append(tuple(d.values[-1] for d in self.deps))

    def dep_completed(self, dep: Source) -> None:
        """``dep`` succeeded and will emit no more."""
        self._dep_completed(dep)
        if self.join == "collect" and self.all_done == len(self.deps):
            self.fired = 1

    def _dep_completed(self, dep: Source) -> None:
        self.all_done += 1
        if len(dep.values) < self.limit:
            self.limit = len(dep.values)

    def _fire_zip(self) -> None:
        deps = self.deps
        while not self.lacking and self.fired < self.limit:
            self.fired += 1
            fired = self.fired
            lacking = 0
            for dep in deps:
                if len(dep.values) <= fired:
                    lacking += 1
            self.lacking = lacking

    def pending(self) -> int:
        """Calls available and not yet finished."""
        if self.snapshots is not None:
            return len(self.snapshots)
        return self.fired - self.invoked

    def exhausted(self) -> bool:
        """Whether the join will never make another call available."""
        join = self.join
        if join == "zip":
            return self.fired >= self.limit
        if join == "latest":
            return self.all_done == len(self.deps) or self.limit == 0
        return self.fired == 1

    def args(self, index: int) -> tuple[Any, ...]:
        """The positional arguments of call ``index``."""
        join = self.join
        if join == "zip":
            deps = self.deps
            if len(deps) == 1:
                return (deps[0].values[index],)
            return tuple([dep.values[index] for dep in deps])
        if (snapshots := self.snapshots) is not None:
            return snapshots[0]
        return tuple([list(dep.values) for dep in self.deps])

    def call_done(self) -> None:
        """The current call finished; move on to the next one."""
        self.invoked += 1
        self.next_attempt = 1
        if self.snapshots:
            self.snapshots.popleft()

    def empty_dependency(self) -> Source | None:
        """A completed dependency that emitted nothing, if any."""
        for dep in self.deps:
            if dep.status is StepStatus.SUCCEEDED and not dep.values:
                return dep
        return None


class InputNode(Source):
    """A run input: a completed source with one value."""

    __slots__ = ()

    def __init__(self, name: str, value: Any) -> None:
        super().__init__(name)
        self.values.append(value)
        self.status = _SUCCEEDED
        self.finished = True
