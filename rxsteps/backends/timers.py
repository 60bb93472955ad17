"""rxsteps' timer thread: timeouts and retry backoff for every backend without a loop.

One daemon thread keeps a heap of deadlines. It never runs a callback itself: when a
timer is due it hands the callback to a worker thread (:mod:`.pool`, as an essential
job), so nothing a timer leads to — a step's failure, the events that follow, a user's
callback that sleeps or starts a run of its own — can delay another run's timeout.
(Measured before: a FAILED event delivered on the old shared timer thread by a
callback that slept 4 s pushed another run's 0.1 s timeout to 3.75 s.)

Delays are seconds of ``time.monotonic()``. ``math.inf`` means never (the handle is
returned and does nothing); delays beyond what a condition wait accepts are clamped
to ``threading.TIMEOUT_MAX``; negative ones fire at once. NaN is refused where users
give it (``Step``, ``Retry``), so it never reaches here.

Example:
    >>> import threading
    >>> fired = threading.Event()
    >>> _ = shared_timers().call_later(0.01, fired.set)
    >>> fired.wait(5)
    True
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable

from .pool import WorkerPool, shared_pool

__all__ = ["TimerHandle", "Timers", "shared_timers"]

log = logging.getLogger("rxsteps")


class TimerHandle:
    """One pending timer; :meth:`cancel` from any thread (a no-op once it fired)."""

    __slots__ = ("cancelled", "fn", "owner")

    def __init__(self, fn: Callable[[], None], owner: Timers | None = None) -> None:
        self.fn = fn
        self.cancelled = False
        self.owner = owner  # the Timers whose heap holds it, until it fires

    def cancel(self) -> None:
        """Do not fire; the heap entry is dropped when it comes due, or sooner when
        cancelled entries are most of the heap (:meth:`Timers.forget`)."""
        if not self.cancelled:
            self.cancelled = True
            if self.owner is not None:
                self.owner.forget()


class Timers:
    """A heap of deadlines served by one thread, started on first use and stopped
    after ``idle_exit`` seconds with nothing pending."""

    def __init__(self, pool: WorkerPool | None = None, idle_exit: float = 5.0) -> None:
        self._pool = pool
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._idle_exit = idle_exit
        self._cancelled = 0  # entries in the heap whose handle was cancelled

    def __len__(self) -> int:
        """Entries in the heap: pending timers and cancelled ones not yet dropped."""
        with self._cond:
            return len(self._heap)

    def forget(self) -> None:
        """A handle in the heap was cancelled. Once cancelled entries are most of a
        heap of more than 64, drop them all (O(n), so O(1) per cancel amortised):
        a service whose steps have long timeouts and end quickly would otherwise keep
        one entry per step for the whole timeout."""
        with self._cond:
            self._cancelled += 1
            if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        """``fn()`` on a worker thread after ``delay`` seconds."""
        if delay == math.inf:
            return TimerHandle(fn)
        handle = TimerHandle(fn, self)
        delay = min(max(0.0, delay), threading.TIMEOUT_MAX)
        with self._cond:
            entry = (time.monotonic() + delay, next(self._order), handle)
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="rxsteps-timers",
                                                daemon=True)
                try:
                    self._thread.start()
                except RuntimeError:  # the OS refused a thread: the next call tries again
                    self._thread = None
                    log.warning("rxsteps timers: could not start the timer thread")
            elif self._heap[0] is entry:
                self._cond.notify()
        return handle

    def _serve(self) -> None:
        try:
            while True:
                due = self._next_due()
                if due is None:
                    return
                if due.cancelled:
                    continue
                try:
                    (self._pool or shared_pool()).submit(_fire, due, essential=True)
                except Exception:  # the OS refused a thread: fire it here, stay alive
                    try:
                        _fire(due)
                    except Exception:
                        log.exception("rxsteps timers: a timer's callback raised")
        finally:  # however this thread ends, the next call_later starts another
            with self._cond:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _next_due(self) -> TimerHandle | None:
        """Wait for the earliest timer; None when idle long enough to exit."""
        with self._cond:
            while True:
                heap = self._heap
                if not heap:
                    if not self._cond.wait(self._idle_exit) and not self._heap:
                        self._thread = None
                        return None
                    continue
                wait = heap[0][0] - time.monotonic()
                if wait <= 0:
                    due = heapq.heappop(heap)[2]
                    if due.cancelled and self._cancelled:
                        self._cancelled -= 1
                    due.owner = None  # out of the heap: a cancel no longer counts
                    return due
                self._cond.wait(min(wait, threading.TIMEOUT_MAX))


def _fire(handle: TimerHandle) -> None:
    if not handle.cancelled:
        handle.cancelled = True
        handle.fn()


_TIMERS: Timers | None = None
_TIMERS_LOCK = threading.Lock()


def shared_timers() -> Timers:
    """The process-wide timers."""
    global _TIMERS
    if _TIMERS is None:
        with _TIMERS_LOCK:
            if _TIMERS is None:
                _TIMERS = Timers()
    return _TIMERS


def _forget_after_fork() -> None:
    """In a forked child: the parent's timer thread does not exist there, and its heap
    holds the parent's runs' timers; the child starts its own."""
    global _TIMERS, _TIMERS_LOCK
    _TIMERS, _TIMERS_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_after_fork)
