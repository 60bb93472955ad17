"""Serial, ordered delivery of a run's events to its observer.

The engine appends events while it holds the run lock, so their order is the order
things happened. Delivery happens outside that lock — an observer may be slow or call
back into rxsteps — by whichever thread finds the queue non-empty and nobody
delivering: one event at a time, never two ``on_next`` at once, never out of order.
This is what reactivex's ``Subject`` does not give (concurrent ``on_next`` from four
threads were measured) and what the Rx contract requires.

An observer that raises is reported through the ``rxsteps`` logger and counted; the
run goes on and later events are still delivered.

Example:
    >>> seen = []
    >>> sink = EventSink(seen.append, lambda e: None, lambda: seen.append("done"))
    >>> sink.put(1); sink.put(2); sink.close(); sink.drain()
    >>> seen
    [1, 2, 'done']
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["EventSink"]

log = logging.getLogger("rxsteps")

_END = object()


class EventSink:
    """A queue drained serially into ``on_next``, then ``on_error`` or ``on_completed``."""

    __slots__ = (
        "_draining",
        "_lock",
        "_on_completed",
        "_on_error",
        "_on_next",
        "_queue",
        "detached",
        "observer_errors",
    )

    def __init__(
        self,
        on_next: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
        on_completed: Callable[[], None],
    ) -> None:
        self._on_next = on_next
        self._on_error = on_error
        self._on_completed = on_completed
        self._queue: deque[Any] = deque()
        self._lock = threading.Lock()
        self._draining = False
        self.detached = False
        self.observer_errors: list[BaseException] = []

    def put(self, item: Any) -> None:
        """Queue an event (call with the run lock held, then :meth:`drain` after)."""
        self._queue.append(item)

    def close(self, error: BaseException | None = None) -> None:
        """Queue the end of the stream: ``on_error(error)`` or ``on_completed()``."""
        self._queue.append((_END, error))

    def detach(self) -> None:
        """Deliver no more events (the subscription was disposed); the end of the
        stream is still passed on, with ``detached`` set, so the run can clean up."""
        self.detached = True

    def drain(self) -> None:
        """Deliver queued items unless another thread is already doing it."""
        queue = self._queue
        while queue:
            with self._lock:
                if self._draining:
                    return
                self._draining = True
            try:
                while queue:
                    self._deliver(queue.popleft())
            finally:
                with self._lock:
                    self._draining = False

    def _deliver(self, item: Any) -> None:
        if type(item) is tuple and item and item[0] is _END:
            error = item[1]
            try:
                if error is None:
                    self._on_completed()
                else:
                    self._on_error(error)
            except Exception as exc:
                self._report(exc, "completion")
            return
        if self.detached:
            return
        try:
            self._on_next(item)
        except Exception as exc:
            self._report(exc, item)

    def _report(self, exc: BaseException, item: Any) -> None:
        self.observer_errors.append(exc)
        log.error("rxsteps: an event observer raised on %r; the run goes on", item,
                  exc_info=exc)
