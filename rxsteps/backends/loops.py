"""Event loops for coroutine steps of runs that have no loop of their own.

Under ``"threads"``, a reactivex scheduler, an ``Executor`` or Dask, a coroutine step
needs an event loop, and its run has none. Sharing one process-wide loop was measured
to fail: a coroutine step that called the blocking ``run()`` deadlocked it and broke
every later coroutine step in the process. So each run borrows a loop of its own
(:func:`lend`) for as long as it has coroutine steps, and gives it back when it ends
(:meth:`LoopLease.release`); a blocked loop then stalls only the run whose own step
blocked it. Returned loops wait in a free list (a new loop thread costs ~0.2 ms), and
exit after ``IDLE_EXIT`` seconds unused.

Loop threads are engine threads: event callbacks never run on them (the run's event
delivery moves to a worker thread), and a step on them that calls ``run()`` helps to
drive the inner run instead of waiting for a thread.

Example:
    >>> import asyncio
    >>> lease = lend()
    >>> async def answer():
    ...     return 42
    >>> asyncio.run_coroutine_threadsafe(answer(), lease.loop).result(5)
    42
    >>> lease.release()
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
import time
import weakref
from collections.abc import Coroutine
from typing import Any

__all__ = [
    "LoopLease", "TaskHandle", "lend", "on_loop_thread", "running_loop", "serving_loops",
    "start_on_loop",
]

IDLE_EXIT = 30.0

_free: list[tuple[asyncio.AbstractEventLoop, float]] = []
_every: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
_free_lock = threading.Lock()
_local = threading.local()


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def serving_loops() -> list[asyncio.AbstractEventLoop]:
    """Every loop made here that is still running, lent or free (for diagnostics)."""
    with _free_lock:
        return [loop for loop in _every if loop.is_running()]


def on_loop_thread() -> bool:
    """Whether the calling thread serves a lent loop."""
    return getattr(_local, "loop", False)


class LoopLease:
    """A loop lent to one run; :meth:`release` gives it back (once)."""

    __slots__ = ("_released", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._released = False

    def release(self) -> None:
        """Give the loop back for another run (idempotent) — from the loop itself, once
        it runs: a loop still blocked by a coroutine step that timed out (a blocking call
        inside ``async def``) would hang the next run that borrowed it."""
        if self._released:
            return
        self._released = True
        with contextlib.suppress(RuntimeError):  # closed: nothing to give back
            self.loop.call_soon_threadsafe(_put_back, self.loop)


def _put_back(loop: asyncio.AbstractEventLoop) -> None:
    """On ``loop``, which runs again: back on the free list."""
    with _free_lock:
        _free.append((loop, time.monotonic()))


def lend() -> LoopLease:
    """A loop that no other run is using now: a free one, or a new one."""
    with _free_lock:
        if _free:
            return LoopLease(_free.pop()[0])
    return LoopLease(_new_loop())


def _new_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        _local.loop = True
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.call_later(IDLE_EXIT, _maybe_exit, loop)
        loop.run_forever()

    threading.Thread(target=serve, name="rxsteps-loop", daemon=True).start()
    ready.wait()
    with _free_lock:
        _every.add(loop)
    return loop


def _maybe_exit(loop: asyncio.AbstractEventLoop) -> None:
    """Stop a loop that sat in the free list for ``IDLE_EXIT`` (a lent one goes on)."""
    with _free_lock:
        for i, (free, since) in enumerate(_free):
            if free is loop and time.monotonic() - since >= IDLE_EXIT:
                del _free[i]
                loop.stop()
                return
    loop.call_later(IDLE_EXIT, _maybe_exit, loop)


def _forget_after_fork() -> None:
    """In a forked child: the parent's loops have no thread there (a run lent one would
    hang); the child makes its own."""
    global _every, _free_lock, _local
    _free.clear()
    _every, _free_lock, _local = weakref.WeakSet(), threading.Lock(), threading.local()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_after_fork)


class TaskHandle:
    """Cancels a task that may not have been created yet, from any thread."""

    __slots__ = ("_cancelled", "_loop", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.task: asyncio.Task[None] | None = None
        self._cancelled = False

    def cancel(self) -> None:
        """Cancel the task (or, if it is not created yet, never create it)."""
        self._cancelled = True
        task = self.task
        if task is None or task.done():
            return
        if running_loop() is self._loop:
            task.cancel()
        else:
            with contextlib.suppress(RuntimeError):  # a closed loop took the task with it
                self._loop.call_soon_threadsafe(task.cancel)

    def create(self, coro: Coroutine[Any, Any, None], context: contextvars.Context | None) -> None:
        """On the loop: create the task, unless cancelled first."""
        if self._cancelled:
            coro.close()
            return
        self.task = self._loop.create_task(coro, context=context)


def start_on_loop(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, None],
    context: contextvars.Context | None,
) -> TaskHandle:
    """Run ``coro`` as a task on ``loop`` (from any thread); return a cancel handle."""
    handle = TaskHandle(loop)
    if running_loop() is loop:
        handle.create(coro, context)
    else:
        try:
            loop.call_soon_threadsafe(handle.create, coro, context)
        except RuntimeError:
            coro.close()
            raise
    return handle
