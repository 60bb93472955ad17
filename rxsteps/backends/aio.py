"""The ``"asyncio"`` backend: coroutine steps as tasks on the caller's event loop.

Under ``"asyncio"`` coroutine actions are tasks on the run's loop (the running loop for
:func:`rxsteps.arun`), so cancelling the run cancels them. Sync actions never block
that loop: they run on the worker threads of :mod:`.pool`, and a ready dependent that
is also sync runs right after on the same worker, without a round trip through the
loop. Timers are ``loop.call_later``; what a timer leads to beyond the run's own
bookkeeping (event callbacks) never runs on the loop.

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
import math
import threading
from collections.abc import Callable

from .base import Backend, Handle
from .loops import running_loop

__all__ = ["AsyncioBackend"]


class _TimerHandle:
    __slots__ = ("_cancelled", "_handle", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = None
        self._cancelled = False

    def arm(self, delay: float, fn: Callable[[], None]) -> None:
        if not self._cancelled:
            self._handle = self._loop.call_later(delay, fn)

    def cancel(self) -> None:
        self._cancelled = True
        handle = self._handle
        if handle is not None:
            if running_loop() is self._loop:
                handle.cancel()
            else:
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(handle.cancel)


class AsyncioBackend(Backend):
    """Coroutines as tasks on ``loop``; sync actions on worker threads."""

    name = "asyncio"
    prefers_async = True  # a runnable's ainvoke, on this loop

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop  # None (no loop running): each run borrows one, as on threads

    def call_later(self, delay: float, fn: Callable[[], None]) -> Handle:
        """``fn()`` on the loop after ``delay`` seconds (``inf``: never)."""
        if self.loop is None:
            return super().call_later(delay, fn)
        handle = _TimerHandle(self.loop)
        if delay == math.inf:
            return handle
        delay = min(max(0.0, delay), threading.TIMEOUT_MAX)
        if running_loop() is self.loop:
            handle.arm(delay, fn)
        else:
            self.loop.call_soon_threadsafe(handle.arm, delay, fn)
        return handle
