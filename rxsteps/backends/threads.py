"""Worker threads: a process-wide pool and the ``"threads"`` backend on top of it.

Why not ``concurrent.futures.ThreadPoolExecutor``? Three measured reasons. A timed-out
sync action cannot be killed, only abandoned, and an executor's fixed set of workers
would then shrink for good; its threads are joined at interpreter exit, so one hung
action would hang the process on exit; and each ``submit`` builds a ``Future`` the
engine does not need. This pool starts a daemon thread only when work waits and no
worker is idle (so a worker stuck in an abandoned action is replaced), lets idle
threads exit after a while (thread counts stay flat in long-running services), and
queues plain ``(fn, arg)`` pairs. Per-run limits are the engine's ``max_concurrency``;
the pool's ``max_workers`` is only a process-wide safety bound.

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
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .aio import LocalLoopAndTimers
from .base import Handle

__all__ = ["ThreadsBackend", "WorkerPool", "shared_pool"]

log = logging.getLogger("rxsteps")


class WorkerPool:
    """Daemon worker threads fed from one queue, grown on demand.

    Accounting, under one lock: ``pending`` items not yet taken, ``idle`` workers
    waiting in ``get()``, ``threads`` alive. A submit starts a thread when the pending
    items outnumber the idle workers (and the bound allows); a worker whose wait times
    out exits only when nothing is pending, so an item is never left without a worker
    that will take it.

    Args:
        max_workers: Upper bound on threads alive at once.
        idle_timeout: Seconds an idle thread waits for work before it exits.
    """

    def __init__(self, max_workers: int = 256, idle_timeout: float = 10.0) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[Any], None], Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = 0
        self._threads = 0
        self._max = max_workers
        self._idle_timeout = idle_timeout
        self._counter = 0

    @property
    def threads(self) -> int:
        """Threads alive now."""
        return self._threads

    def submit(self, fn: Callable[[Any], None], arg: Any) -> None:
        """Call ``fn(arg)`` on a worker thread."""
        self._queue.put((fn, arg))
        with self._lock:
            self._pending += 1
            if self._pending <= self._idle or self._threads >= self._max:
                return  # an idle worker takes it, or the next one to free up does
            self._threads += 1
            self._counter += 1
            name = f"rxsteps-worker-{self._counter}"
        threading.Thread(target=self._worker, name=name, daemon=True).start()

    def _worker(self) -> None:
        get, lock = self._queue.get, self._lock
        while True:
            with lock:
                self._idle += 1
            try:
                fn, arg = get(timeout=self._idle_timeout)
            except queue.Empty:
                with lock:
                    self._idle -= 1
                    if not self._pending:
                        self._threads -= 1
                        return
                continue  # an item arrived as the wait ended: take it
            with lock:
                self._idle -= 1
                self._pending -= 1
            try:
                fn(arg)
            except BaseException:  # pragma: no cover - the engine catches its own errors
                log.exception("rxsteps worker: unexpected error")
            del fn, arg  # drop references while idle


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def shared_pool() -> WorkerPool:
    """The process-wide pool (``RXSTEPS_MAX_THREADS`` bounds it, default 256)."""
    global _POOL
    if _POOL is None:
        with _POOL_LOCK:
            if _POOL is None:
                _POOL = WorkerPool(int(os.environ.get("RXSTEPS_MAX_THREADS", "256")))
    return _POOL


class ThreadsBackend(LocalLoopAndTimers):
    """Sync actions on worker threads; coroutines on a background event loop."""

    name = "threads"
    remote = False
    virtual = False

    def __init__(self, pool: WorkerPool | None = None) -> None:
        self._pool = pool or shared_pool()

    now = staticmethod(time.monotonic)

    def spawn(self, fn: Callable[[Any], None], arg: Any) -> None:
        self._pool.submit(fn, arg)



    def submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: Callable[[Future[Any]], None]
    ) -> Handle:  # pragma: no cover - only remote backends are asked to submit
        raise NotImplementedError

    def close(self) -> None:
        pass
