"""The process's worker threads: one pool that grows while work waits, up to a hard cap.

Why not ``concurrent.futures.ThreadPoolExecutor``? Three measured reasons. A timed-out
sync action cannot be killed, only abandoned, and an executor's fixed set of workers
would then shrink for good (after 256 hung HTTP calls every later run of the process
queued forever); its threads are joined at interpreter exit, so one hung action would
hang the process on exit; and each ``submit`` builds a ``Future`` the engine does not
need. This pool starts a daemon thread whenever work waits and no worker is idle — so a
worker stuck in an abandoned action, or blocked in a nested run, is replaced at once
— lets idle threads exit after a while (thread counts stay flat in long-running
services), and queues plain ``(fn, arg)`` pairs.

State, under one lock: the ``queue`` of items not yet taken, ``idle`` workers waiting
for one, ``threads`` alive, and ``abandoned`` — threads the engine reported stuck in an
action it gave up on (a timeout). A submit starts a thread when the queued items
outnumber the idle workers; a worker whose wait times out exits only when nothing is
queued, so an item is never left without a worker that will take it.

The cap (``RXSTEPS_MAX_THREADS``, default 2048) bounds the threads alive. At the cap,
work waits for a thread to free up — as long as some thread is working. When every
thread up to the cap is stuck in a call the engine abandoned (timed out, so it may
never return), waiting would be forever: :meth:`WorkerPool.submit` raises
:class:`~rxsteps.CapacityError` naming the cap and the abandoned threads, and the run
that asked fails at once. The engine's own short jobs (timer callbacks, event
delivery) go first in line and get a thread above the cap when none is idle, so a run
at the cap still times out, fails and reports; such a thread runs that one job and
exits, so the threads that run steps never exceed the cap.

Example:
    >>> import threading
    >>> done = threading.Event()
    >>> shared_pool().submit(lambda event: event.set(), done)
    >>> done.wait(5)
    True
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ..errors import CapacityError

__all__ = ["WorkerPool", "on_worker_thread", "shared_pool"]

log = logging.getLogger("rxsteps")

_local = threading.local()


def on_worker_thread() -> bool:
    """Whether the calling thread is one of rxsteps' worker threads."""
    return getattr(_local, "worker", False)


class WorkerPool:
    """Daemon worker threads fed from one queue, grown on demand up to ``max_workers``.

    Args:
        max_workers: The hard cap on threads alive at once.
        idle_timeout: Seconds an idle thread waits for work before it exits.
    """

    def __init__(self, max_workers: int = 2048, idle_timeout: float = 10.0) -> None:
        self._queue: deque[tuple[Callable[[Any], None], Any, _Refused | None]] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._idle = 0
        self._threads = 0
        self._abandoned = 0
        self.max_workers = max_workers
        self._idle_timeout = idle_timeout
        self._counter = 0

    @property
    def threads(self) -> int:
        """Threads alive now."""
        return self._threads

    @property
    def abandoned(self) -> int:
        """Threads stuck in actions the engine gave up on (timed out), as reported."""
        return self._abandoned

    @property
    def queued(self) -> int:
        """Items submitted and not yet taken by a worker."""
        return len(self._queue)

    def submit(
        self,
        fn: Callable[[Any], None],
        arg: Any,
        *,
        essential: bool = False,
        on_refused: _Refused | None = None,
    ) -> None:
        """Call ``fn(arg)`` on a worker thread.

        Args:
            fn: What to call.
            arg: Its one argument.
            essential: An engine job (a timer, event delivery): first in line, and
                given a thread of its own above the cap when none is idle (it runs
                only this job, then exits).
            on_refused: Called with the :class:`~rxsteps.CapacityError` if the item,
                queued at the cap, can never run because every thread got stuck.

        Raises:
            CapacityError: The cap is reached and every thread is stuck in an
                abandoned call.
        """
        with self._cond:
            start = len(self._queue) >= self._idle
            if essential:  # first in line, and never behind threads that may be stuck
                if start and self._threads >= self.max_workers:
                    self._start_extra(fn, arg)  # above the cap: for this job alone
                    return
                self._queue.appendleft((fn, arg, None))
            else:
                if start and self._threads >= self.max_workers:
                    if self._stuck():
                        raise self._error()
                    start = False  # a working thread frees up and takes it
                self._queue.append((fn, arg, on_refused))
            self._cond.notify()
            if start:
                try:
                    self._start_thread()
                except BaseException:  # the OS refused a thread: the item is not taken
                    self._threads -= 1
                    if essential:
                        self._queue.popleft()
                    else:
                        self._queue.pop()
                    raise

    def abandon(self, count: int = 1) -> None:
        """The engine gave up on ``count`` actions whose threads are still inside them
        (a negative count: they returned). Work queued behind threads that are now all
        stuck is refused, so its run fails instead of waiting forever."""
        refused: list[_Refused] = []
        with self._cond:
            self._abandoned += count
            if count > 0 and self._stuck() and len(self._queue) > self._idle:
                kept: deque[tuple[Callable[[Any], None], Any, _Refused | None]] = deque()
                for item in self._queue:
                    if item[2] is None:
                        kept.append(item)
                    else:
                        refused.append(item[2])
                self._queue = kept
            error = self._error()
        for callback in refused:
            callback(error)

    def _stuck(self) -> bool:
        # under the lock: the cap is reached and no thread below it will come back
        return self._threads >= self.max_workers and self._abandoned >= self.max_workers

    def _error(self) -> CapacityError:
        return CapacityError(self.max_workers, self._threads, self._abandoned)

    def _start_thread(self) -> None:
        # under the lock
        self._threads += 1
        self._counter += 1
        name = f"rxsteps-worker-{self._counter}"
        threading.Thread(target=self._worker, name=name, daemon=True).start()

    def _start_extra(self, fn: Callable[[Any], None], arg: Any) -> None:
        # under the lock: a thread above the cap that runs one engine job and exits,
        # so the threads that run steps never exceed the cap
        self._counter += 1
        name = f"rxsteps-engine-{self._counter}"
        threading.Thread(target=_run_once, args=(fn, arg), name=name, daemon=True).start()

    def _take(self) -> tuple[Callable[[Any], None], Any] | None:
        """The next item, waiting while idle; None when idle long enough to exit."""
        with self._cond:
            while not self._queue:
                self._idle += 1
                try:
                    woke = self._cond.wait(self._idle_timeout)
                finally:
                    self._idle -= 1
                if not woke and not self._queue:
                    self._threads -= 1
                    return None
            fn, arg, _ = self._queue.popleft()
            return fn, arg

    def _worker(self) -> None:
        _local.worker = True
        while True:
            item = self._take()
            if item is None:
                return
            fn, arg = item
            try:
                fn(arg)
            except BaseException:  # pragma: no cover - the engine catches its own errors
                log.exception("rxsteps worker: unexpected error")
            del fn, arg, item  # drop references while idle


def _run_once(fn: Callable[[Any], None], arg: Any) -> None:
    """An engine job on a thread above the cap. Not a worker thread: a callback there
    that calls ``run()`` waits for the pool's threads rather than drive steps itself."""
    try:
        fn(arg)
    except BaseException:  # pragma: no cover - the engine catches its own errors
        log.exception("rxsteps worker: unexpected error")


_Refused = Callable[[CapacityError], None]


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def shared_pool() -> WorkerPool:
    """The process-wide pool (``RXSTEPS_MAX_THREADS`` caps it, default 2048)."""
    global _POOL
    if _POOL is None:
        with _POOL_LOCK:
            if _POOL is None:
                _POOL = WorkerPool(_cap_from_environment())
    return _POOL


def _cap_from_environment() -> int:
    raw = os.environ.get("RXSTEPS_MAX_THREADS", "2048")
    try:
        cap = int(raw)
    except ValueError:
        cap = 0
    if cap < 1:
        raise CapacityError.bad_setting(raw)
    return cap


def _forget_after_fork() -> None:
    """In a forked child: the parent's pool is a copy whose threads do not exist (it
    would count an idle worker that never takes anything); the child makes its own."""
    global _POOL, _POOL_LOCK, _local
    _POOL, _POOL_LOCK, _local = None, threading.Lock(), threading.local()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_after_fork)
