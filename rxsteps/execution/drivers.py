"""Drivers: which thread runs a run's sync steps, and when another one is woken.

A *driver* is a worker thread looping over one run's ready sync steps: it runs a step,
and when it finishes, takes the next ready one itself — no thread hop, no wave
barrier, no recursion. A run wakes a driver at once only when it has none available;
otherwise the :mod:`.monitor` looks every tick and wakes more when the drivers are
blocked in slow actions (see :meth:`Drivers.check_waiting`), so cheap steps do not pay
for thread hand-offs and slow ones still fan out within a tick.

This is a mixin of :class:`~.run.Run`, which owns the state: the methods here run under
the run's lock (those named with ``_``) or take it.

State it reads and writes (set up by ``Run.__init__``):

- ``_ready_sync`` — ready sync steps waiting for a driver, FIFO;
- ``_drivers`` / ``_waking`` / ``_blocked`` — drivers alive, those asked for but not
  started, and those stuck in an action that was timed out or already compensated;
- ``_in_sync`` — the sync attempts running on drivers now;
- ``_ended`` / ``_ended_seen`` / ``_typical`` — attempts ended, as the monitor last saw
  it, and a moving average of how long sync attempts take;
- ``_watched`` — whether the monitor is looking at the run.

Example:
    >>> from rxsteps import Step, StepGraph, run
    >>> run(StepGraph([Step(f"s{i}", lambda: 1) for i in range(3)]))["s2"]
    1
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

from . import invoke
from .attempt import ActiveAttempt
from .monitor import shared_monitor

if TYPE_CHECKING:
    from ..backends.base import Backend
    from .node import Node

__all__ = ["Drivers"]


class Drivers:
    """The driver half of :class:`~.run.Run` (a mixin; the run owns the state)."""

    _lock: threading.Lock
    _state: str
    _limit: float
    _running: int
    _ready_sync: deque[Node]
    _drivers: int
    _waking: int
    _blocked: int
    _in_sync: set[ActiveAttempt]
    _ended: int
    _ended_seen: int
    _typical: float
    _watched: bool
    backend: Backend

    def _begin(self, node: Node) -> ActiveAttempt | None:
        raise NotImplementedError  # pragma: no cover - Run provides it

    def _after(self, launches: list[ActiveAttempt], wake: int = 0) -> None:
        raise NotImplementedError  # pragma: no cover - Run provides it

    def _wake(self, wake: int) -> None:
        """Carry out a :meth:`_should_wake` decision (outside the lock)."""
        if wake == 1:
            self.backend.spawn(invoke.drive, self)
        elif wake == 2:
            shared_monitor().watch(self)  # type: ignore[arg-type]

    def drive(self) -> ActiveAttempt | None:
        """A woken driver starts: the first sync attempt it should run, if any."""
        with self._lock:
            self._waking -= 1
            attempt = self._next_sync()
            wake = self._should_wake()
        self._after([], wake)
        return attempt

    def driver_exit(self) -> None:
        """A driver found nothing more to run and leaves."""
        with self._lock:
            self._drivers -= 1
            wake = self._should_wake()
        self._after([], wake)

    def check_waiting(self, tick: float) -> bool:
        """Called by the monitor every tick while sync work waits; wakes drivers when
        the ones running are blocked. Returns whether to keep watching.

        A driver is *stuck* when its action has run for longer than ``tick``. Nothing
        happens unless one is. Then, if this run's sync attempts typically take longer
        than a tick (an average over the ones that ended), its steps block: a driver
        for every waiting step. Otherwise the steps are quick and something held one
        up (a GIL hand-off, one slow call): if no attempt ended since the last look,
        one driver per blocked driver — bounded, and doubling only while the queue
        stays stuck."""
        with self._lock:
            ready = self._ready_sync
            if self._state != "running" or not ready or self._running >= self._limit:
                self._watched = False  # the next finishing step looks again
                return False
            progressed = self._ended != self._ended_seen
            self._ended_seen = self._ended
            since = self.backend.now() - tick
            stuck = [a for a in self._in_sync if a.start <= since]
            free = int(max(0, min(len(ready) - self._waking, self._limit - self._running)))
            count = 0
            if stuck and (self._typical >= tick or not progressed):
                for attempt in stuck:  # each blocked driver is compensated once
                    if not attempt.compensated:
                        attempt.compensated = True
                        self._blocked += 1
                slow = self._typical >= tick
                count = free if slow else min(free, self._blocked)
            self._waking += count
            self._drivers += count
        for _ in range(count):
            self.backend.spawn(invoke.drive, self)
        return True

    def _next_sync(self) -> ActiveAttempt | None:
        """The next ready sync step's attempt, for the calling driver, if a slot is free."""
        ready = self._ready_sync
        while ready and self._running < self._limit and self._state == "running":
            attempt = self._begin(ready.popleft())
            if attempt is not None:
                self._in_sync.add(attempt)
                return attempt
        return None

    def _should_wake(self) -> int:
        """What to do about waiting sync work: 0 nothing, 1 wake a driver now (the run
        has none, or time is virtual), 2 ask the monitor to watch the run."""
        if not self._ready_sync or self._running >= self._limit or self._state != "running":
            return 0
        if self._drivers <= self._blocked or self.backend.virtual:
            if self._waking:
                return 0
            self._waking += 1
            self._drivers += 1
            return 1
        if not self._watched:
            self._watched = True
            return 2
        return 0
