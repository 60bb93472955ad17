"""Any reactivex scheduler as the place actions run.

``spawn`` becomes ``scheduler.schedule``. On a
:class:`~reactivex.scheduler.VirtualTimeScheduler` (such as reactivex's
``TestScheduler``) timers are ``scheduler.schedule_relative`` too, so retry backoff and
timeouts happen in virtual time and events are stamped with the virtual clock: timing
can be tested exactly, without sleeping. On real-time schedulers timers run on
rxsteps' timer thread, so a timeout fires even when every scheduler thread is busy.
Coroutine actions run on an event loop lent to the run.

Schedulers that run work on the calling thread (``ImmediateScheduler``,
``CurrentThreadScheduler``, ``TrampolineScheduler``) are refused: they nest every step
inside the previous one's stack (RecursionError around step 80 on a chain, the error
lost and the run hung), sleep the thread for timers, and cannot run anything in
parallel. ``AsyncIOScheduler`` maps to the ``"asyncio"`` backend on its loop.

Example:
    >>> from reactivex.testing import TestScheduler
    >>> from rxsteps import Step, StepGraph, observe
    >>> scheduler = TestScheduler()
    >>> seen = []
    >>> _ = observe(StepGraph([Step("a", lambda: 1)]), scheduler=scheduler).subscribe(
    ...     lambda event: seen.append(event.kind.name))
    >>> scheduler.start()  # doctest: +ELLIPSIS
    <...>
    >>> seen
    ['STARTED', 'EMITTED', 'SUCCEEDED']
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from reactivex import abc
from reactivex.scheduler import VirtualTimeScheduler

from .base import Backend, Handle, schedule_timer

__all__ = ["RxSchedulerBackend"]


class RxSchedulerBackend(Backend):
    """Actions scheduled on a reactivex scheduler."""

    def __init__(self, scheduler: abc.SchedulerBase) -> None:
        self.scheduler: abc.SchedulerBase = scheduler
        self.name = type(scheduler).__name__
        self.virtual = isinstance(scheduler, VirtualTimeScheduler)

    def now(self) -> float:
        if self.virtual:
            clock = self.scheduler.clock  # type: ignore[attr-defined]
            return float(clock) if isinstance(clock, int | float) else clock.timestamp()
        return time.monotonic()

    def abandoned(self, count: int) -> None:
        """Not rxsteps' pool: nothing to count."""

    def spawn(self, fn: Callable[[Any], None], arg: Any) -> None:
        self.scheduler.schedule(lambda _scheduler, _state: fn(arg))


    def call_later(self, delay: float, fn: Callable[[], None]) -> Handle:
        # Real-time timers go on rxsteps' own timer thread: a timeout must fire even
        # when the scheduler's threads are all busy in the very action it times out.
        if self.virtual:
            return schedule_timer(self.scheduler, delay, fn)
        return super().call_later(delay, fn)
