"""Drivers: which thread runs a run's sync steps, and when another one is woken.

A *driver* is a worker thread looping over one run's ready sync steps
(:meth:`Drivers.serve`): it runs a step, and when it finishes, takes the next ready one
itself — no thread hop, no wave barrier, no recursion. A run wakes a driver at once
only when it has none available (a small run: fewer than two, see below); otherwise
the :mod:`.monitor` looks every tick and wakes more when the drivers are blocked in
slow actions (see :meth:`Drivers.check_waiting`), so cheap steps do not pay for
thread hand-offs and slow ones still fan out within a tick.

A thread that calls the blocking ``run()`` from inside a step (a nested run) does not
wait idle for a driver: it becomes one of the inner run's drivers
(:meth:`Drivers.help_until`), so nested runs need no extra thread at any fan-out.

The run owns one :class:`Drivers` and passes itself to each call; a driver's job holds
the run (:class:`_Ticket`), the drivers do not, so the run and its nodes form no
reference cycle with them and are freed as soon as the run is dropped. The drivers
hold their own counters, all guarded by the run's lock (the methods whose docstrings
say "under the lock" are called with it held):

- ``ready`` — ready sync steps waiting for a driver, FIFO;
- ``alive`` / ``waking`` / ``blocked`` — drivers alive, those asked for but not yet
  started, and those stuck in an action that was timed out or already compensated;
- ``helpers`` / ``idle_helpers`` — threads of nested ``run()`` calls driving this run;
- ``in_sync`` — the sync attempts running on drivers now;
- ``ended`` / ``ended_seen`` / ``typical`` — attempts ended, as the monitor last saw it,
  and a moving average of how long sync attempts take;
- ``watched`` — whether the monitor is looking at the run (``_watching`` holds the run
  meanwhile: the only reference the drivers keep to it);
- ``pair`` — whether the run is small enough (:data:`SMALL_RUN` steps at most) to get a
  second driver at once instead of the monitor's watch.

**Small runs get two drivers.** A second ready step of a small run (a diamond's other
branch, in a pipeline's graph run once per event) wakes a second driver at once
rather than asking the monitor to watch the run: one hand-off then costs less than
the monitor watching thousands of short runs a second (measured on 2 cores: a
pipeline of a 5-step diamond, 4,300-5,100 → 5,300-7,100 events/s; one run of it
unchanged). Big runs keep one driver and the monitor: there a second driver would
contend for the run's lock and the GIL for the whole run. Beyond two, small runs
are watched like any other. Traced runs too: a finished attempt's span ends before
its transition is made (``Run.finish``), so no other driver can end the run first.

Example:
    >>> from rxsteps import Step, StepGraph, run
    >>> run(StepGraph([Step(f"s{i}", lambda: 1) for i in range(3)]))["s2"]
    1
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from typing import Protocol

from ..backends.base import Backend
from ..errors import CapacityError
from . import invoke
from .attempt import DOOMED, ActiveAttempt
from .monitor import shared_monitor
from .node import Node

__all__ = ["SMALL_RUN", "DriverOwner", "Drivers", "Wake", "driving"]

#: Runs of at most this many steps get a second driver at once (see the module docstring).
SMALL_RUN = 32

_local = threading.local()


def driving() -> bool:
    """Whether the calling thread is driving a run now (in :meth:`Drivers.serve` or
    :meth:`Drivers.help_until`), on any backend's threads."""
    return getattr(_local, "depth", 0) > 0


class Wake(enum.Enum):
    """What to do about waiting sync work (decided under the lock, done outside)."""

    NOTHING = 0
    SPAWN = 1  # wake a driver now: the run has none free, or time is virtual
    WATCH = 2  # ask the monitor to look every tick


_NOTHING = Wake.NOTHING


class DriverOwner(invoke.AttemptOwner, Protocol):
    """What the drivers need of their run."""

    lock: threading.Lock
    backend: Backend

    def has_slot(self) -> bool:
        """Under the lock: whether the run is running and below ``max_concurrency``."""
        ...

    def begin(self, node: Node) -> ActiveAttempt | None:
        """Under the lock: take a slot and start ``node``'s next attempt; None if no
        slot is free (or the run stopped), :data:`~.attempt.DOOMED` if the node was
        doomed while it waited (it is settled instead)."""
        ...

    def after(self, launches: list[ActiveAttempt], wake: Wake = Wake.NOTHING) -> None:
        """Outside the lock: carry out what a transition decided."""
        ...

    def free_slots(self, wanted: int) -> int:
        """Under the lock: how many of ``wanted`` attempts may start now."""
        ...

    def over(self) -> bool:
        """Under the lock: whether the run has stopped taking work."""
        ...

    def lost_capacity(self, error: BaseException) -> None:
        """Outside the lock: no thread could be had; fail the run with ``error``."""
        ...


class Drivers:
    """The driver threads of one run. See the module docstring."""

    __slots__ = (
        "_cond",
        "_watching",
        "alive",
        "blocked",
        "ended",
        "ended_seen",
        "helpers",
        "idle_helpers",
        "in_sync",
        "pair",
        "ready",
        "typical",
        "waking",
        "watched",
    )

    def __init__(self, *, steps: int = SMALL_RUN + 1) -> None:
        self._watching: DriverOwner | None = None  # the run, while the monitor looks at it
        self.pair = steps <= SMALL_RUN  # a second driver at once, not the monitor
        self._cond: threading.Condition | None = None  # made when a helper waits
        self.ready: deque[Node] = deque()
        self.alive = 0
        self.waking = 0
        self.blocked = 0
        self.helpers = 0
        self.idle_helpers = 0
        self.in_sync: set[ActiveAttempt] = set()
        self.ended = 0
        self.ended_seen = 0
        self.typical = 0.0
        self.watched = False

    # -- under the lock -------------------------------------------------------------------

    def queue(self, node: Node) -> None:
        """Under the lock: ``node`` has a sync call ready."""
        self.ready.append(node)
        if self.idle_helpers:
            self._notify()

    def take(self, run: DriverOwner) -> ActiveAttempt | None:
        """Under the lock: the next ready sync step's attempt, for the calling driver."""
        ready = self.ready
        while ready:
            attempt = run.begin(ready[0])
            if attempt is None:  # no slot: it stays first in line
                return None
            ready.popleft()
            if attempt is not DOOMED:
                self.in_sync.add(attempt)
                return attempt
        return None

    def finished(self, attempt: ActiveAttempt, now: float) -> None:
        """Under the lock: a sync ``attempt`` ended on its driver."""
        self.ended += 1
        if attempt in self.in_sync:
            self.in_sync.discard(attempt)
            self.typical += 0.2 * (now - attempt.start - self.typical)
        if attempt.compensated:
            attempt.compensated = False
            self.blocked -= 1

    def abandoned(self, attempt: ActiveAttempt) -> None:
        """Under the lock: ``attempt`` timed out; its driver stays inside the action."""
        if attempt in self.in_sync:
            self.in_sync.discard(attempt)
            attempt.stuck = True
            if not attempt.compensated:
                attempt.compensated = True
                self.blocked += 1

    def returned(self, attempt: ActiveAttempt) -> None:
        """Under the lock: the driver of ``attempt`` is back from its action."""
        if attempt.compensated:
            attempt.compensated = False
            self.blocked -= 1

    def stop(self) -> None:
        """Under the lock: the run stopped; nothing more is taken."""
        self.ready.clear()
        self.in_sync.clear()
        if self.helpers:
            self._notify_all()

    def should_wake(self, run: DriverOwner) -> Wake:
        """Under the lock: what to do about waiting sync work in ``run``."""
        if not self.ready:
            return _NOTHING
        if not run.has_slot():
            return _NOTHING
        if self.alive <= self.blocked or run.backend.virtual or (
            self.pair and self.alive - self.blocked < 2
        ):
            if self.waking:
                return _NOTHING
            self.waking += 1
            self.alive += 1
            return Wake.SPAWN
        if not self.watched:
            self.watched = True
            self._watching = run
            return Wake.WATCH
        return _NOTHING

    # -- outside the lock ------------------------------------------------------------------

    def wake(self, run: DriverOwner, wake: Wake) -> None:
        """Carry out a :meth:`should_wake` decision for ``run``."""
        if wake is Wake.SPAWN:
            self._spawn(run, 1)
        elif wake is Wake.WATCH:
            shared_monitor().watch(self)

    def serve(self, ticket: _Ticket) -> None:
        """A driver's loop on a worker thread: run the ticket's run's ready sync steps,
        one after another, until none is left for it."""
        run = ticket.run
        with run.lock:
            self.waking -= 1
            attempt = self.take(run)
            wake = self.should_wake(run)
        run.after([], wake)
        _local.depth = getattr(_local, "depth", 0) + 1
        try:
            while attempt is not None:
                attempt = invoke.run_sync(run, attempt)
        finally:
            _local.depth -= 1
        with run.lock:
            self.alive -= 1
            wake = self.should_wake(run)
        run.after([], wake)

    def help_until(self, run: DriverOwner, done: threading.Event) -> None:
        """Drive this run from the calling thread until it is over, then wait for
        ``done``: a nested ``run()`` called inside a step runs its inner steps instead
        of waiting for a thread."""
        with run.lock:
            self.helpers += 1
            self.alive += 1
        _local.depth = getattr(_local, "depth", 0) + 1
        try:
            while True:
                with run.lock:
                    if run.over():
                        break
                    attempt = self.take(run)
                    if attempt is None:
                        self._wait_for_work(run)
                while attempt is not None:
                    attempt = invoke.run_sync(run, attempt)
            done.wait()
        finally:
            _local.depth -= 1
            with run.lock:
                self.helpers -= 1
                self.alive -= 1
                wake = self.should_wake(run)
            run.after([], wake)

    def wake_helpers(self) -> None:
        """Under the lock: the run ended or work is ready; helpers look again."""
        if self.helpers:
            self._notify_all()

    def still_watched(self) -> bool:
        """Whether the run asked to be watched again since :meth:`check_waiting` let it
        go, read under the run's lock (``watched`` and ``_watching`` change together,
        under it). The monitor asks under its own lock; see :class:`~.monitor.Watched`."""
        run = self._watching
        if run is None:
            return False
        with run.lock:
            return self.watched

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
        run = self._watching
        if run is None:
            return False
        with run.lock:
            ready = self.ready
            if not ready or not run.has_slot():
                self.watched = False  # the next finishing step looks again
                self._watching = None
                return False
            progressed = self.ended != self.ended_seen
            self.ended_seen = self.ended
            since = run.backend.now() - tick
            stuck = [a for a in self.in_sync if a.start <= since]
            free = run.free_slots(len(ready) - self.waking)
            count = 0
            if stuck and (self.typical >= tick or not progressed):
                for attempt in stuck:  # each blocked driver is compensated once
                    if not attempt.compensated:
                        attempt.compensated = True
                        self.blocked += 1
                slow = self.typical >= tick
                count = free if slow else min(free, self.blocked)
            self.waking += count
            self.alive += count
        self._spawn(run, count)
        return True

    def _spawn(self, run: DriverOwner, count: int) -> None:
        for started in range(count):
            try:
                run.backend.spawn(self.serve, _Ticket(self, run))
            except (CapacityError, RuntimeError) as error:  # no thread to be had
                with run.lock:
                    self.waking -= count - started
                    self.alive -= count - started
                run.lost_capacity(error)
                return

    def refused(self, run: DriverOwner, error: CapacityError) -> None:
        """A driver queued at the cap will never start: every thread got stuck."""
        with run.lock:
            self.waking -= 1
            self.alive -= 1
        run.lost_capacity(error)

    def _wait_for_work(self, run: DriverOwner) -> None:
        if self._cond is None:
            self._cond = threading.Condition(run.lock)
        self.idle_helpers += 1
        try:
            self._cond.wait(0.5)  # a bound, in case a wake-up is ever missed
        finally:
            self.idle_helpers -= 1

    def _notify(self) -> None:
        if self._cond is not None:
            self._cond.notify()

    def _notify_all(self) -> None:
        if self._cond is not None:
            self._cond.notify_all()


class _Ticket:
    """A driver asked for: the run it serves, and what to tell if it can never start.

    The spawned job holds the run, not :class:`Drivers`: the run owns its drivers and
    nothing of theirs points back at it, so a finished run is freed by reference
    counting alone (see the module docstring).
    """

    __slots__ = ("drivers", "run")

    def __init__(self, drivers: Drivers, run: DriverOwner) -> None:
        self.drivers = drivers
        self.run = run

    def __call__(self, error: CapacityError) -> None:
        self.drivers.refused(self.run, error)
