"""What a running action can know about itself: :func:`current` returns its
:class:`StepContext`.

Python cannot stop a thread, so a sync action that runs long is told — not forced —
to stop: when its run is cancelled, or its attempt times out, its context's
``cancelled`` turns true and :meth:`StepContext.wait` returns early. Well-behaved
actions poll it between units of work; coroutine actions are cancelled outright.

Example:
    >>> from rxsteps import Step, StepGraph, run, current
    >>> def crawl():
    ...     context = current()
    ...     pages = []
    ...     for page in range(3):
    ...         context.raise_if_cancelled()
    ...         pages.append(f"{context.step}:{page}")
    ...     return pages
    >>> run(StepGraph([Step("crawl", crawl)]))["crawl"]
    ['crawl:0', 'crawl:1', 'crawl:2']
"""

from __future__ import annotations

import os
import threading
from contextvars import ContextVar

from .errors import StepCancelledError

__all__ = ["StepContext", "current"]


class StepContext:
    """The running attempt of a step, as its action sees it.

    Attributes:
        step: The step id.
        attempt: The attempt number, from 1.
        index: Which call of the step, from 0.

    Example:
        >>> from rxsteps import StepContext
        >>> context = StepContext("crawl")
        >>> context.cancel()
        >>> context.cancelled, context.wait(10)
        (True, True)
    """

    __slots__ = ("_event", "attempt", "index", "step")

    def __init__(self, step: str, attempt: int = 1, index: int = 0) -> None:
        self.step = step
        self.attempt = attempt
        self.index = index
        self._event: threading.Event | None = None

    @property
    def cancelled(self) -> bool:
        """Whether the run was cancelled or this attempt abandoned (timed out)."""
        event = self._event
        return event is not None and event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`~rxsteps.StepCancelledError` if :attr:`cancelled`."""
        if self.cancelled:
            raise StepCancelledError(self.step)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early on cancellation.

        Returns:
            ``True`` if cancelled, ``False`` if the time passed.
        """
        return self._flag().wait(seconds)

    def cancel(self) -> None:
        """Mark this attempt cancelled (the engine calls this)."""
        self._flag().set()

    def _flag(self) -> threading.Event:
        if self._event is None:
            with _FLAG_LOCK:
                if self._event is None:
                    self._event = threading.Event()
        return self._event

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<StepContext {self.step!r} attempt={self.attempt} index={self.index}{state}>"


_FLAG_LOCK = threading.Lock()


def _forget_after_fork() -> None:
    global _FLAG_LOCK
    _FLAG_LOCK = threading.Lock()  # a parent's thread may have held it at the fork


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_after_fork)

_CURRENT: ContextVar[StepContext | None] = ContextVar("rxsteps_step", default=None)


def current() -> StepContext:
    """The context of the step whose action is running in this thread or task.

    Works in sync actions (worker threads) and coroutine actions alike; not inside a
    remote action (process pool, Dask), which runs in another process.

    Returns:
        The running attempt's :class:`StepContext`.

    Raises:
        LookupError: Called outside a step's action.

    Example:
        >>> from rxsteps import Step, StepGraph, current, run
        >>> run(StepGraph([Step("who", lambda: current().step)]))["who"]
        'who'
    """
    context = _CURRENT.get()
    if context is None:
        raise LookupError("rxsteps.current() called outside a running step")
    return context
