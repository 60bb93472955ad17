"""The contract between the engine and the place actions run: a :class:`Backend`.

The engine (:mod:`rxsteps.execution.run`) decides *what* runs and *when*; a backend
decides *where*. Every backend provides:

- ``spawn(fn, arg)`` — call ``fn(arg)`` on a worker thread (the engine's worker loop,
  which runs a sync action and then, inline, the next ready step);
- ``start_coroutine(coro, context)`` — run a coroutine on an event loop and return a
  handle whose ``cancel()`` cancels it from any thread;
- ``call_later(delay, fn)`` — a timer (timeouts, retry backoff) returning a handle with
  ``cancel()``; on virtual-time schedulers the delay is virtual;
- ``now()`` — the clock events and timings are stamped with.

A *remote* backend (process pools, other executors) additionally offers
``submit(fn, args, done)``: the action is shipped to the executor as is, and ``done``
is called with the finished ``concurrent.futures.Future``.

Example:
    >>> from rxsteps.backends.resolve import resolve_backend
    >>> resolve_backend("threads").name
    'threads'
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, Protocol

from reactivex.scheduler import EventLoopScheduler

__all__ = ["Backend", "DisposableHandle", "Handle", "timer_scheduler"]


class Handle(Protocol):
    """Something that can be cancelled from any thread."""

    def cancel(self) -> Any: ...


class Backend(Protocol):
    """Where a run's actions execute. See the module docstring."""

    name: str
    remote: bool
    virtual: bool

    def now(self) -> float: ...

    def spawn(self, fn: Callable[[Any], None], arg: Any) -> None: ...

    def start_coroutine(
        self, coro: Coroutine[Any, Any, None], context: contextvars.Context | None
    ) -> Handle: ...

    def call_later(self, delay: float, fn: Callable[[], None]) -> Handle: ...

    def submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: Callable[[Future[Any]], None]
    ) -> Handle: ...

    def close(self) -> None: ...


class DisposableHandle:
    """A reactivex disposable as a :class:`Handle`: ``cancel()`` disposes it."""

    __slots__ = ("_disposable",)

    def __init__(self, disposable: Any) -> None:
        self._disposable = disposable

    def cancel(self) -> None:
        self._disposable.dispose()


_TIMERS: EventLoopScheduler | None = None


def timer_scheduler() -> EventLoopScheduler:
    """The process-wide timer thread (reactivex's EventLoopScheduler, whose daemon
    thread exits when no timer is pending)."""
    global _TIMERS
    if _TIMERS is None:
        _TIMERS = EventLoopScheduler(exit_if_empty=True)
    return _TIMERS


def schedule_timer(scheduler: Any, delay: float, fn: Callable[[], None]) -> Handle:
    """``fn()`` after ``delay`` seconds on a reactivex scheduler."""
    return DisposableHandle(scheduler.schedule_relative(max(0.0, delay), lambda *_: fn()))
