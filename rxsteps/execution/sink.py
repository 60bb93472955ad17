"""Serial, ordered delivery of a run's events to the user's observers.

The engine appends items while it holds the run lock, so their order is the order
things happened. Delivery happens outside that lock, one item at a time — never two
``on_next`` at once, never out of order. This is what reactivex's ``Subject`` does not
give (concurrent ``on_next`` from four threads were measured) and what the Rx
contract requires.

*Where* it happens matters as much. An event callback may sleep, block, or start a run
of its own; if it ran on the thread that fired a timeout, or on an event loop, or on
the driver that finished the step, it would hold up other runs' timers or its own
run's steps (measured before: a callback sleeping 4 s on the shared timer thread
delayed another run's 0.1 s timeout to 3.75 s). So a sink given a ``context`` delivers
on a worker thread of its own — one delivery job at a time, started when items are
waiting — in that context: a copy of the run caller's ``contextvars`` in which
:func:`rxsteps.current` is unset. Sinks for rxsteps' own observers (an ``astream``
queue, virtual time) deliver inline, on the thread that queued.

An observer that raises an ``Exception`` is reported through the ``rxsteps`` logger and
the run goes on. One that raises a ``BaseException`` (``SystemExit``,
``KeyboardInterrupt``, ``GeneratorExit``) ends the run: ``on_fatal`` is told, no more
user events are delivered, and the end of the stream still is, so the run's caller
wakes up and re-raises it.

A sink may be given ``before``: it is called with each batch of queued items before
they are delivered, on the same thread (a durable run's store writes the steps that
ended in the batch, so nothing reports them succeeded before they are committed). A
run with a ``before`` queues each step's end as a :class:`StepEnd`, which carries
what the store keeps of the step and, if the run has observers, its terminal event:
that event is what gets delivered. A store alone thus costs one item per step, not
three events (measured on 10,000 no-op steps with a store that writes nothing: 24 →
5 µs per step added to the run).

Example:
    >>> seen = []
    >>> sink = EventSink(seen.append, lambda e: None, lambda: seen.append("done"))
    >>> sink.put(1); sink.put(2); sink.close(); sink.flush()
    >>> seen
    [1, 2, 'done']
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from ..backends.pool import shared_pool

__all__ = ["Call", "EventSink", "StepEnd"]

log = logging.getLogger("rxsteps")


class Call:
    """A queued call to one subscriber (``fn(*args)``), delivered like an event."""

    __slots__ = ("args", "fn")

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.fn = fn
        self.args = args


class StepEnd:
    """A step's end for ``before``, made under the run's lock: its status, values,
    attempts, times, error and reason, and the terminal event to deliver (``None``
    when no observer takes events). ``values`` is the step's own list, which never
    changes once the step has ended."""

    __slots__ = ("attempts", "ended", "error", "event", "reason", "started", "status",
                 "step", "values")

    def __init__(self, step: str, status: str, values: list[Any], attempts: int,
                 started: float | None, ended: float | None, error: BaseException | None,
                 reason: str | None, event: Any) -> None:
        self.step = step
        self.status = status
        self.values = values
        self.attempts = attempts
        self.started = started
        self.ended = ended
        self.error = error
        self.reason = reason
        self.event = event


class _End:
    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


def _ended(*_: Any) -> None:
    """What a sink's end callbacks become once the end was delivered."""


def _weakly(method: Callable[[BaseException], None]) -> Callable[[BaseException], None]:
    """``method``, holding its object weakly: a no-op once the object is gone."""
    ref = weakref.WeakMethod(method)

    def call(error: BaseException) -> None:
        alive = ref()
        if alive is not None:
            alive(error)

    return call


class EventSink:
    """A queue drained serially into ``on_next`` (or :class:`Call`\\ s), then
    ``on_error`` or ``on_completed``.

    ``on_next`` is ``None`` when no observer takes a run's events one by one (only
    ``before``, a subscriber's :class:`Call` or the end need them): events are then
    dropped once ``before`` has seen them, without a call each.
    """

    __slots__ = (
        "_before",
        "_context",
        "_draining",
        "_lock",
        "_on_completed",
        "_on_error",
        "_on_fatal",
        "_on_next",
        "_scheduled",
        "detached",
        "queue",
    )

    def __init__(
        self,
        on_next: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None],
        on_completed: Callable[[], None],
        *,
        on_fatal: Callable[[BaseException], None] | None = None,
        context: contextvars.Context | None = None,
        before: Callable[[list[Any]], None] | None = None,
    ) -> None:
        self._before = before
        self._on_next = on_next
        self._on_error = on_error
        self._on_completed = on_completed
        self._on_fatal = on_fatal
        self._context = context
        self.queue: deque[Any] = deque()  # read by the run: anything to flush?
        self._lock = threading.Lock()
        self._draining = False
        self._scheduled = False
        self.detached = False

    def put(self, item: Any) -> None:
        """Queue an event or a :class:`Call` (with the run lock held; :meth:`flush` after)."""
        self.queue.append(item)

    def close(self, error: BaseException | None = None) -> None:
        """Queue the end of the stream: ``on_error(error)`` or ``on_completed()``."""
        self.queue.append(_End(error))

    def detach(self) -> None:
        """Deliver no more events (the subscription was disposed); the end of the
        stream is still passed on, with ``detached`` set, so the run can clean up."""
        self.detached = True

    def flush(self, *, inline: bool = False) -> None:
        """Deliver what is queued: inline, or by starting the delivery job.

        ``inline`` delivers on this thread unless a delivery job is on its way: the
        run passes it when nothing but its own end is queued, for rxsteps' own
        ``on_done``.
        """
        if not self.queue:
            return
        if self._context is None or (inline and not self._scheduled):
            self._drain()
            return
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        try:
            shared_pool().submit(self._job, None, essential=True)
        except Exception:  # the OS refused a thread: deliver here rather than never
            with self._lock:
                self._scheduled = False
            self._context.run(self._drain)

    def _job(self, _arg: object) -> None:
        context = self._context
        assert context is not None
        while True:
            context.run(self._drain)
            with self._lock:
                if not self.queue:
                    self._scheduled = False
                    return

    def _drain(self) -> None:
        queue = self.queue
        while queue:
            with self._lock:
                if self._draining:
                    return
                self._draining = True
            try:
                while queue:
                    if self._before is None:
                        self._deliver(queue.popleft())
                    else:
                        self._deliver_batch(queue)
            finally:
                with self._lock:
                    self._draining = False

    def _deliver_batch(self, queue: deque[Any]) -> None:
        """Hand everything queued to ``before`` (a store commits the step ends among
        them in one transaction), then deliver it."""
        batch = [queue.popleft() for _ in range(len(queue))]
        self._guard(self._before, batch)  # type: ignore[arg-type]
        every = self._on_next is not None
        for item in batch:
            if every or type(item) is Call or type(item) is _End:
                self._deliver(item)

    def _deliver(self, item: Any) -> None:
        if type(item) is _End:
            self._guard(self._on_completed if item.error is None else self._on_error,
                        *(() if item.error is None else (item.error,)))
            # Delivered once. The callbacks are the run's own methods: dropped, so the
            # run is not kept alive by its sink (a finished run is freed by reference
            # counting, not left for a full collection). ``on_fatal`` is still wanted
            # by a subscriber after the end (a handle's result re-raises it): it is
            # kept, weakly — whoever subscribes holds the run.
            self._on_completed, self._on_error = _ended, _ended
            if inspect.ismethod(self._on_fatal):
                self._on_fatal = _weakly(self._on_fatal)
            return
        if self.detached:
            return
        if type(item) is Call:
            self._guard(item.fn, *item.args)
        elif self._on_next is not None:
            if type(item) is StepEnd:
                item = item.event
                if item is None:
                    return
            self._guard(self._on_next, item)

    def _guard(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:
            log.error("rxsteps: an event observer raised on %r; the run goes on",
                      args[0] if args else fn, exc_info=exc)
        except BaseException as exc:
            if self._on_fatal is None:
                raise
            self.detached = True
            self._on_fatal(exc)
