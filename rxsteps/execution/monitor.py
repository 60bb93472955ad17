"""The driver monitor: wakes more drivers for a run only when its sync work waits.

A run's sync steps are run by *drivers* — worker threads that loop over the run's ready
queue. One driver is enough while steps are quick: on two cores a second driver only
adds lock and GIL hand-offs (measured: 8 µs per no-op step with one driver, 20 µs with
drivers woken eagerly). It is not enough when steps block — a tool call, a sleep — and
ready work piles up behind them.

So a run wakes a driver at once only when it has none; otherwise it asks this monitor to
watch it while sync work waits. Every ``TICK`` seconds the monitor looks at each watched
run's drivers (:meth:`~.drivers.Drivers.check_waiting`). Nothing happens unless a driver
has been inside one action for longer than a tick. Then, if the run's sync steps
typically take longer than a tick, they block (tool calls, sleeps): a driver for every
waiting step, so a fan-out of slow steps starts within a tick. If they are typically
quick, something held one up (a GIL hand-off, one slow call) and more threads would only
contend: one driver per blocked driver, and only when no attempt ended since the last
look. This is Go's ``sysmon`` idea — hand the processor on when a thread blocks in a
system call — with a guard against waking threads for work that is merely waiting its
turn.

The monitor is one daemon thread for the process; it sleeps on a condition while
nothing is watched and exits after ``IDLE_EXIT`` seconds without work.

Example:
    >>> monitor = shared_monitor()
    >>> monitor.TICK
    0.0005
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

__all__ = ["DriverMonitor", "Watched", "shared_monitor"]


class Watched(Protocol):
    """What the monitor looks at: one run's drivers."""

    def still_watched(self) -> bool:
        """Whether the run asks to be watched again, read under the run's lock (the
        monitor asks while holding its own: the run's lock is never held while the
        monitor's is taken, so the order is always the monitor's, then the run's)."""
        ...

    def check_waiting(self, tick: float) -> bool:
        """Wake drivers if sync work waits behind blocked ones; False: stop watching."""
        ...


class DriverMonitor:
    """Watches runs whose sync work waits, and wakes drivers for them."""

    TICK = 0.0005
    IDLE_EXIT = 5.0

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._watched: set[Watched] = set()
        self._thread: threading.Thread | None = None

    def watch(self, run: Watched) -> None:
        """Look at ``run`` every tick until its sync queue is empty."""
        with self._cond:
            self._watched.add(run)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="rxsteps-monitor", daemon=True
                )
                self._thread.start()
            elif len(self._watched) == 1:
                self._cond.notify()

    def _loop(self) -> None:
        cond = self._cond
        while True:
            with cond:
                if not self._watched and not cond.wait_for(
                    lambda: bool(self._watched), self.IDLE_EXIT
                ):
                    self._thread = None
                    return
                runs = list(self._watched)
            done = [run for run in runs if not run.check_waiting(self.TICK)]
            with cond:
                # a run that asked to be watched again meanwhile says so
                self._watched.difference_update(run for run in done
                                                if not run.still_watched())
                if self._watched:
                    cond.wait(self.TICK)


_MONITOR: DriverMonitor | None = None
_MONITOR_LOCK = threading.Lock()


def shared_monitor() -> DriverMonitor:
    """The process-wide monitor."""
    global _MONITOR
    if _MONITOR is None:
        with _MONITOR_LOCK:
            if _MONITOR is None:
                _MONITOR = DriverMonitor()
    return _MONITOR


def _forget_after_fork() -> None:
    """In a forked child: the parent's monitor thread does not exist there (its copy
    would believe it runs and never look); the child starts its own."""
    global _MONITOR, _MONITOR_LOCK
    _MONITOR, _MONITOR_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_after_fork)
