"""One step's state inside one run, and the join that feeds it.

Each step of a run is a ``reactivex.Observable``: a :class:`Node` (a run input is an
:class:`InputNode`) *is* a :class:`StepObservable` — hot, replaying to a late
subscriber every value the step emitted so far, completing when the step ends,
erroring with the step's error when it fails. A user reaches it through
``handle.steps[name]`` and composes it with ``reactivex.operators``; such a
subscription goes through reactivex's ``subscribe`` and is served by the run
(:meth:`~.run.Run.subscribe_step`): serially, on the run's delivery thread.

A dependent's join subscribes to its dependencies' observables too, with the engine's
own operator instead of reactivex's (:meth:`StepObservable.subscribe_join`): the join
is told of each new value (:meth:`Node.dep_emitted`) and of the end
(:meth:`Node.dep_completed`) under the run's lock, with no per-subscription observer
or scheduler, and reads the value from the observable's replay buffer, ``values``,
which never shrinks during a run. That makes the zip join cheap — a dependent keeps
one integer cursor, ``fired``, instead of a queue per source (reactivex's ``zip`` pops
from the front of lists, which is quadratic when a fast stream is zipped with a slow
one): its n-th call takes ``dep.values[n]`` of every dependency. ``lacking`` counts the
dependencies that have no value at the cursor yet, so a new value costs O(1) and a
call O(in-degree). Nothing recurses: a join that becomes ready only makes a call
available; the run starts it after the lock is let go.

The three joins:

- ``zip``: call n gets the n-th value of each dependency; exhausted when a completed
  dependency has no value left at the cursor (``limit``).
- ``latest``: once every dependency has a value, a call per new value with the latest
  value of each (snapshots, so later values do not leak into a queued call).
- ``collect``: one call after every dependency completed, with lists of their values.

Nodes hold state only; the :class:`~rxsteps.execution.run.Run` owns them and mutates
them under its lock.

Example:
    >>> from reactivex import operators as ops
    >>> from rxsteps import Step
    >>> a, b = InputNode("a", 1), InputNode("b", 2)
    >>> node = Node(Step("sum", lambda x, y: x + y, ["a", "b"]), [a, b])
    >>> node.pending(), node.args(0)
    (1, (1, 2))
    >>> a.pipe(ops.to_list()).run()  # an input is an observable of its one value
    [1]
"""

from __future__ import annotations

import enum
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import reactivex
from reactivex import abc
from reactivex.disposable import Disposable

from ..errors import StepCancelledError
from ..result import StepStatus

if TYPE_CHECKING:
    from ..step import Step

__all__ = ["InputNode", "Mode", "Node", "Source", "StepObservable", "Subscriptions", "end_of_step"]

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


class Subscriptions(Protocol):
    """Who serves a user's subscription to a step: the step's run."""

    def subscribe_step(self, step: str, observer: Any) -> Callable[[], None]:
        """Replay, then follow, ``step`` for ``observer``; return an unsubscribe."""
        ...


_CREATING = threading.Lock()  # a node's ``lock`` is made on first use, once


class StepObservable(reactivex.Observable[Any]):
    """One step of a run (or one run input) as a hot, replaying observable.

    Hot: the step runs whether or not anyone subscribes. Replaying: a subscriber first
    gets every value emitted so far, then the rest as they come, then completion when
    the step succeeds or is skipped, or an error when it fails (its own exception) or
    is cancelled (:class:`~rxsteps.StepCancelledError`). Values reach a subscriber
    serially, on the run's delivery thread, in the order the step emitted them.
    Disposing a subscription stops only that subscription.

    Inside the engine a dependent's join subscribes with :meth:`subscribe_join`.

    Attributes:
        id: The step id (or the input name).
        values: The values emitted so far, in order (the replay buffer; read it only
            under the run's lock, or once the step has ended).
        status: The step's :class:`~rxsteps.StepStatus` so far.
        owner: The run that serves subscriptions, held weakly (``None`` for inputs).

    Example:
        >>> from reactivex import operators as ops
        >>> from rxsteps import Step, StepGraph, start
        >>> handle = start(StepGraph([Step("a", lambda: 41)]))
        >>> handle.steps["a"].pipe(ops.map(lambda v: v + 1)).run()
        42
    """

    __slots__ = ("dependents", "error", "finished", "id", "owner", "span_context",
                 "status", "streamed", "values")

    def __init__(self, name: str,
                 owner: Callable[[], Subscriptions | None] | None = None) -> None:
        # reactivex.Observable.__init__ is not called: it makes an RLock per
        # observable, which a 10,000-step run would pay for nothing (``lock`` is made
        # on first use instead), and sets a subscribe function this class overrides.
        self.id = name
        self.values: list[Any] = []
        self.dependents: list[Node] = []  # the joins subscribed to this observable
        self.status = _PENDING
        self.error: BaseException | None = None  # why it failed
        self.finished = False  # status is final
        self.span_context: Any = None
        self.streamed = False  # a value came from a stream (a mapped dependent's items)
        self.owner = owner  # the run, weakly: it serves users' subscriptions

    @property
    def lock(self) -> threading.RLock:  # type: ignore[override]
        """The lock some reactivex operators take on their source (made on first use,
        in the instance's ``__dict__``, which stays unallocated until then)."""
        made: threading.RLock | None = self.__dict__.get("lock")
        if made is None:
            with _CREATING:
                made = self.__dict__.setdefault("lock", threading.RLock())
        return made

    def subscribe_join(self, join: Node) -> None:
        """Subscribe a dependent's join: it is told of each value and of the end by
        the run, under the run's lock, and reads values from :attr:`values`."""
        self.dependents.append(join)

    def _subscribe_core(
        self, observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        run = self.owner() if self.owner is not None else None
        if run is not None:
            return Disposable(run.subscribe_step(self.id, observer))
        # no run serves it (a run input, or a run already freed): it has ended, so
        # replay it here
        for value in list(self.values):
            observer.on_next(value)
        end_of_step(observer, self.status, self.error, self.id)
        return Disposable()

    def __repr__(self) -> str:
        return f"<StepObservable {self.id!r} {self.status.value}>"


Source = StepObservable
"""What a dependent's join reads (the engine's name for a step observable)."""


def end_of_step(observer: Any, status: StepStatus, error: BaseException | None,
                step: str) -> None:
    """Tell ``observer`` how a step ended: completed, or an error when it failed or
    was cancelled."""
    if status is StepStatus.FAILED and error is not None:
        observer.on_error(error)
    elif status is StepStatus.CANCELLED:
        observer.on_error(StepCancelledError(step))
    else:
        observer.on_completed()


def owned_by(run: Subscriptions) -> Callable[[], Subscriptions | None]:
    """A weak reference to ``run`` for its nodes to share (a strong one would make a
    cycle, and a finished run is freed by reference counting)."""
    return weakref.ref(run)


class Node(StepObservable):
    """One step during one run: its observable and the join over its dependencies."""

    __slots__ = (
        "all_done",
        "busy",
        "by_condition",
        "checked",
        "deps",
        "due",
        "ended",
        "fired",
        "invoked",
        "joins_by",
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

    def __init__(self, step: Step, deps: list[Source],
                 owner: Callable[[], Subscriptions | None] | None = None) -> None:
        self.id = step.id  # StepObservable's fields, inline: this runs per step per run
        self.values = []
        self.dependents = []
        self.status = _PENDING
        self.finished = False
        self.span_context = None
        self.streamed = False
        self.owner = owner
        self.step = step
        self.joins_by = step.join  # not ``join``: that is reactivex's join operator
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
        self.error = None
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
        if self.joins_by == "latest":
            self.snapshots = snapshots = deque()
        lacking = 0
        for dep in deps:
            dep.subscribe_join(self)
            if dep.finished and dep.status is _SUCCEEDED:  # inputs: complete from the start
                self._dep_completed(dep)
            if not dep.values:
                lacking += 1
        self.lacking = lacking
        if self.joins_by == "zip":
            self._fire_zip()
        elif snapshots is not None and not self.lacking:
            snapshots.append(tuple(dep.values[-1] for dep in deps))
        elif self.joins_by == "collect" and self.all_done == len(deps):
            self.fired = 1

    # -- join ---------------------------------------------------------------------------

    def dep_emitted(self, dep: Source) -> None:
        """``dep`` appended a value; make any call it completes available."""
        join = self.joins_by
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
        if self.joins_by == "collect" and self.all_done == len(self.deps):
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
        join = self.joins_by
        if join == "zip":
            return self.fired >= self.limit
        if join == "latest":
            return self.all_done == len(self.deps) or self.limit == 0
        return self.fired == 1

    def args(self, index: int) -> tuple[Any, ...]:
        """The positional arguments of call ``index``."""
        join = self.joins_by
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


class InputNode(StepObservable):
    """A run input: a completed observable of one value."""

    __slots__ = ()

    def __init__(self, name: str, value: Any) -> None:
        super().__init__(name)
        self.values.append(value)
        self.status = _SUCCEEDED
        self.finished = True
