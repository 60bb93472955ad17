"""The contract between the engine and the place actions run: a :class:`Backend`.

The engine (:mod:`rxsteps.execution`) decides *what* runs and *when*; a backend decides
*where*. :class:`Backend` is the whole contract — every method and attribute the
engine uses, each with the default that most backends share:

- ``name`` — how errors, traces and the CLI name the backend (``"threads"``,
  ``"asyncio"``, ``"dask"``, the scheduler's or executor's class name).
- ``spawn(fn, arg)`` — call ``fn(arg)`` on a worker thread (a *driver*: the engine's
  loop that runs a sync action and then, inline, the next ready step). Default: the
  process's worker pool (:mod:`.pool`), which grows while work waits.
- ``call_later(delay, fn)`` — a timer (timeouts, retry backoff) returning a
  :class:`Handle`. Default: rxsteps' timer thread (:mod:`.timers`), which hands every
  callback to a worker thread. On virtual-time schedulers the delay is virtual.
- ``now()`` — the clock events and timings are stamped with (``time.monotonic``).
- ``loop`` — the event loop coroutine steps run on, if the backend has one
  (``"asyncio"``); ``None`` makes each run borrow a loop of its own (:mod:`.loops`).
- ``scheduler`` — the reactivex scheduler observables returned by steps are
  subscribed on (``None``: reactivex's default).
- ``virtual`` — true on a virtual-time scheduler (reactivex's ``TestScheduler``):
  nothing advances its clock but the caller, so a blocking ``run()`` is refused and
  events are delivered on the thread that queued them. Default: false.
- ``prefers_async`` — true when a runnable with both ``invoke`` and ``ainvoke`` should
  go through ``ainvoke`` on the backend's loop (``"asyncio"``) rather than through
  ``invoke`` on a worker thread. Default: false.
- ``submit(fn, args, done)`` — only *remote* backends (``remote = True``: process
  pools, Dask) ship actions as they are; ``done`` gets the finished
  ``concurrent.futures.Future``. ``dumps`` is how they check an action can be shipped.
- ``submit_ahead(fn, args, label)`` — a remote backend whose tasks may take the
  values of unfinished tasks as arguments (Dask futures) ships a task before the
  engine launches its attempt, and returns a :class:`Submitted` the engine later
  attaches its ``done`` to (or cancels). Default: ``None``, the backend cannot.
- ``abandoned(count)`` — the engine gave up on calls whose threads are still inside
  them (timeouts); the pool counts them for its capacity error.
- ``local_values(args)`` — a step's arguments as values in this process, for the user
  code the engine runs itself (conditions); a backend that leaves values remote
  fetches them here.
- ``gather_result(result)`` — called once when a run ends, outside the run's lock: a
  backend that left values remote (Dask futures) fetches them here.
- ``keeps_values`` — true when the values the engine records are references to values
  kept remotely (Dask futures, unless values are gathered as they come): the engine
  cannot look into them, so it refuses mapped steps (``map=``) on such a backend.

Example:
    >>> from rxsteps.backends.resolve import resolve_backend
    >>> backend = resolve_backend("threads")
    >>> backend.name, backend.remote, backend.loop is None
    ('threads', False, True)
"""

from __future__ import annotations

import asyncio
import pickle
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import SchedulerError
from .pool import shared_pool
from .timers import shared_timers

if TYPE_CHECKING:
    from reactivex import abc

    from ..result import RunResult

__all__ = ["Backend", "DisposableHandle", "Handle", "Submitted"]


class Handle(Protocol):
    """Something that can be cancelled from any thread."""

    def cancel(self) -> Any: ...


class Submitted(Protocol):
    """A task a backend shipped ahead (:meth:`Backend.submit_ahead`)."""

    @property
    def value(self) -> Any:
        """What the engine records as the step's value once the task succeeds (a Dask
        future): dependents submitted ahead take it as their argument."""
        ...

    def attach(self, done: Callable[[Future[Any]], None]) -> Handle:
        """Call ``done`` with the task's outcome, as :meth:`Backend.submit` would
        (at once if it has ended); the handle cancels the task."""
        ...

    def cancel(self) -> Any:
        """Drop the task: the engine will not launch its attempt with these arguments."""
        ...


class Backend:
    """Where a run's actions execute. See the module docstring for each member."""

    name: str = "backend"
    remote: bool = False
    keeps_values: bool = False
    virtual: bool = False
    prefers_async: bool = False
    loop: asyncio.AbstractEventLoop | None = None
    scheduler: abc.SchedulerBase | None = None
    now = staticmethod(time.monotonic)  # the clock of events and timings

    def dumps(self, action: Any) -> bytes:
        """Serialise ``action`` as a remote backend would ship it (a check)."""
        return pickle.dumps(action)

    def spawn(self, fn: Callable[[Any], None], arg: Any) -> None:
        """Call ``fn(arg)`` on a worker thread. ``arg``, if callable, is told (with a
        :class:`~rxsteps.CapacityError`) when the call can never start.

        Raises:
            CapacityError: The process's worker threads are at their cap, every one
                stuck in an abandoned call.
        """
        shared_pool().submit(fn, arg, on_refused=arg if callable(arg) else None)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Handle:
        """``fn()`` after ``delay`` seconds, on a worker thread."""
        return shared_timers().call_later(delay, fn)

    def submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: Callable[[Future[Any]], None]
    ) -> Handle:
        """Ship ``fn(*args)`` to a remote executor (remote backends only)."""
        raise SchedulerError(f"the {self.name} backend runs actions locally; it cannot submit")

    def submit_ahead(self, fn: Callable[..., Any], args: tuple[Any, ...],
                     label: str) -> Submitted | None:
        """Ship ``fn(*args)`` before its attempt is launched, where ``args`` may hold
        the :attr:`Submitted.value` of tasks not finished yet; ``None``: this backend
        cannot (the default)."""
        return None

    def abandoned(self, count: int) -> None:
        """``count`` threads of :meth:`spawn` are stuck in calls the engine gave up on
        (negative: they came back), so the pool can say so when it reaches its cap."""
        shared_pool().abandon(count)

    def local_values(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """``args`` as values in this process, for user code the engine runs here (a
        step's condition); here: as they are."""
        return args

    def gather_result(self, result: RunResult) -> RunResult:
        """The run's result with remote values fetched (here: as it is)."""
        return result


class DisposableHandle:
    """A reactivex disposable as a :class:`Handle`: ``cancel()`` disposes it."""

    __slots__ = ("_disposable",)

    def __init__(self, disposable: Any) -> None:
        self._disposable = disposable

    def cancel(self) -> None:
        self._disposable.dispose()


def schedule_timer(scheduler: Any, delay: float, fn: Callable[[], None]) -> Handle:
    """``fn()`` after ``delay`` seconds on a reactivex scheduler (virtual time)."""
    return DisposableHandle(scheduler.schedule_relative(max(0.0, delay), lambda *_: fn()))
