"""asyncio: the ``"asyncio"`` backend, and the background loop other backends use for
coroutine actions.

Under ``"asyncio"`` coroutine actions are tasks on the run's loop (the running loop for
:func:`rxsteps.arun`), so cancelling the run cancels them. Sync actions never block
that loop: they run on the worker threads of :mod:`rxsteps.backends.threads`, and a
ready dependent that is also sync runs right after on the same worker, without a
round trip through the loop. Timers are ``loop.call_later``.

Under ``"threads"`` (or a reactivex scheduler, or an executor) a coroutine action runs
on one process-wide background loop in a daemon thread, started on first use.

Example:
    >>> import asyncio
    >>> async def main():
    ...     from rxsteps import Step, StepGraph, arun
    ...     async def fetch():
    ...         await asyncio.sleep(0.01)
    ...         return "page"
    ...     return (await arun(StepGraph([Step("fetch", fetch)])))["fetch"]
    >>> asyncio.run(main())
    'page'
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

from .base import Handle, schedule_timer, timer_scheduler

__all__ = ["AsyncioBackend", "LocalLoopAndTimers", "background_loop", "start_on_loop"]


class _TaskHandle:
    """Cancels a task that may not have been created yet, from any thread."""

    __slots__ = ("_cancelled", "_loop", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.task: asyncio.Task[None] | None = None
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True
        task = self.task
        if task is None or task.done():
            return
        if _running_loop() is self._loop:
            task.cancel()
        else:
            with contextlib.suppress(RuntimeError):  # a closed loop took the task with it
                self._loop.call_soon_threadsafe(task.cancel)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def start_on_loop(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, None],
    context: contextvars.Context | None,
) -> Handle:
    """Run ``coro`` as a task on ``loop`` (from any thread); return a cancel handle."""
    handle = _TaskHandle(loop)

    def create() -> None:
        if handle._cancelled:
            coro.close()
            return
        handle.task = loop.create_task(coro, context=context)

    if _running_loop() is loop:
        create()
    else:
        try:
            loop.call_soon_threadsafe(create)
        except RuntimeError:
            coro.close()
            raise
    return handle


_BACKGROUND: asyncio.AbstractEventLoop | None = None
_BACKGROUND_LOCK = threading.Lock()


def background_loop() -> asyncio.AbstractEventLoop:
    """The process-wide event loop for coroutine actions outside ``"asyncio"`` runs."""
    global _BACKGROUND
    if _BACKGROUND is None:
        with _BACKGROUND_LOCK:
            if _BACKGROUND is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=serve, name="rxsteps-asyncio", daemon=True).start()
                ready.wait()
                _BACKGROUND = loop
    return _BACKGROUND


class LocalLoopAndTimers:
    """What every backend without an event loop of its own shares: coroutine actions
    on the process-wide background loop, timers on rxsteps' timer thread."""

    def start_coroutine(
        self, coro: Coroutine[Any, Any, None], context: contextvars.Context | None
    ) -> Handle:
        """Run a coroutine action on the background loop; cancellable from any thread."""
        return start_on_loop(background_loop(), coro, context)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Handle:
        """``fn()`` after ``delay`` seconds, on the timer thread (timeouts, backoff)."""
        return schedule_timer(timer_scheduler(), delay, fn)


class _TimerHandle:
    __slots__ = ("_cancelled", "_handle", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = None
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True
        handle = self._handle
        if handle is not None:
            if _running_loop() is self._loop:
                handle.cancel()
            else:
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(handle.cancel)


class AsyncioBackend:
    """Coroutines as tasks on ``loop``; sync actions on worker threads."""

    name = "asyncio"
    remote = False
    virtual = False

    def __init__(self, loop: asyncio.AbstractEventLoop, pool: Any = None) -> None:
        from .threads import shared_pool

        self.loop = loop
        self._pool = pool or shared_pool()

    now = staticmethod(time.monotonic)

    def spawn(self, fn: Callable[[Any], None], arg: Any) -> None:
        self._pool.submit(fn, arg)

    def start_coroutine(
        self, coro: Coroutine[Any, Any, None], context: contextvars.Context | None
    ) -> Handle:
        return start_on_loop(self.loop, coro, context)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Handle:
        handle = _TimerHandle(self.loop)

        def arm() -> None:
            if not handle._cancelled:
                handle._handle = self.loop.call_later(max(0.0, delay), fn)

        if _running_loop() is self.loop:
            arm()
        else:
            self.loop.call_soon_threadsafe(arm)
        return handle

    def submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: Callable[[Future[Any]], None]
    ) -> Handle:  # pragma: no cover - only remote backends are asked to submit
        raise NotImplementedError

    def close(self) -> None:
        pass
