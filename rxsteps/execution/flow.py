"""Flow control of a pipeline subscription: input buffers, run slots, order, delivery.

:class:`PipelineFlow` is the machinery behind :func:`rxsteps.pipeline` and
:func:`rxsteps.apipeline`; :class:`PipelineSpec` is a checked pipeline definition.

- Each input has a FIFO ``deque`` of ``(position, value)``; an event is the heads of
  all of them, popped (O(1)) when a slot is free.
- ``_held`` counts slots: runs started and not yet delivered (with ``hold``: not yet
  released by the consumer). Started runs get *tickets* in input order; the reorder
  buffer maps tickets to finished results, so it never holds more than
  ``max_in_flight``.
- Results are delivered serially by an :class:`~rxsteps.execution.sink.EventSink`,
  outside the lock; freeing the slot afterwards starts the next event.
- ``"block"`` waits on the condition (lock released) until a run popped the input's
  head, only where that surely happens without the waiting thread.

Example:
    >>> import reactivex
    >>> from rxsteps import Step, StepGraph
    >>> graph = StepGraph([Step("inc", lambda x: x + 1, ["x"])], inputs=["x"])
    >>> PipelineSpec.build(graph, {"x": reactivex.of(1)}, overflow="drop").overflow
    Traceback (most recent call last):
    ...
    rxsteps.errors.OptionError: overflow must be one of block, drop_oldest, drop_newest, error, \
got 'drop'
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import reactivex
from reactivex import abc

from ..backends.base import Backend
from ..errors import BufferOverflowError, InputError, OptionError, StoreError
from ..graph import StepGraph
from ..result import RunResult
from .checks import check_run
from .durable import refused_result
from .options import RunOptions
from .run import Run, delivery_context, start_run
from .sink import EventSink

__all__ = ["OVERFLOWS", "FlowState", "Overflow", "PipelineFlow", "PipelineSpec", "Verdict"]

Overflow = Literal["block", "drop_oldest", "drop_newest", "error"]
#: The ``overflow=`` policies of :func:`rxsteps.pipeline`.
OVERFLOWS: tuple[Overflow, ...] = ("block", "drop_oldest", "drop_newest", "error")

#: Where a subscription of a pipeline stands: ``"open"``, then one of the others, once.
FlowState = Literal["open", "completed", "failed", "disposed"]
#: What a full input buffer does with a new value: keep it, drop it, or fail.
Verdict = Literal["keep", "drop", "error"]


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    """A checked pipeline definition, shared by every subscription.

    Build it with :meth:`build`; the fields are the arguments of
    :func:`rxsteps.pipeline`, the inputs split into ``names``/``streams`` (the
    observables, in order) and ``constants``.

    Example:
        >>> import reactivex
        >>> from rxsteps import Step, StepGraph
        >>> graph = StepGraph([Step("s", lambda a, b: a + b, ["a", "b"])], inputs=["a", "b"])
        >>> spec = PipelineSpec.build(graph, {"a": reactivex.of(1), "b": 10})
        >>> spec.names, spec.constants, spec.buffer
        (('a',), {'b': 10}, 1000)
    """

    graph: StepGraph
    names: tuple[str, ...]
    streams: tuple[reactivex.Observable[Any], ...]
    constants: dict[str, Any]
    scheduler: Any = "threads"
    max_in_flight: int = 8
    ordered: bool = True
    buffer: int = 1000
    overflow: Overflow = "block"
    on_drop: Callable[[str, Any], Any] | None = None
    fail_fast: bool = True
    max_concurrency: int | None = None
    tracer_provider: Any = None
    limits: Any = None
    rates: Any = None
    priority: str = "critical"
    store: Any = None
    run_id: str | Callable[[Mapping[str, Any]], str] | None = None
    fresh: bool = False
    serializer: str = "pickle"
    _options: RunOptions | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def options(self) -> RunOptions:
        """The options each event's run gets: checked and made once, shared by every
        event's run (they are immutable)."""
        if self._options is None:
            object.__setattr__(self, "_options", RunOptions(
                self.scheduler, self.fail_fast, self.max_concurrency, None,
                self.tracer_provider, limits=self.limits, priority=self.priority,
                store=self.store, run_id=self.run_id, fresh=self.fresh,
                serializer=self.serializer))
        assert self._options is not None
        return self._options

    def check(self) -> Backend:
        """Check the pipeline as a run of its graph (:func:`~.checks.check_run`, with
        the input observables standing for their values) and resolve its backend:
        once when it is built, and per subscription, whose runs share the backend.

        Returns:
            The backend every run of a subscription uses.

        Raises:
            GraphError, InputError, ResourceError, SchedulerError: As for
                :func:`rxsteps.run`.
        """
        given = {**self.constants, **dict(zip(self.names, self.streams, strict=True))}
        return check_run(self.graph, given, self.options).backend

    @classmethod
    def build(cls, graph: StepGraph, inputs: Mapping[str, Any], **options: Any) -> PipelineSpec:
        """Split ``inputs`` into streams and constants and check everything.

        Args:
            graph: The graph to run per event.
            inputs: Observables (one value per event) and constants, by input name.
            **options: The keyword arguments of :func:`rxsteps.pipeline`.

        Returns:
            The spec.

        Raises:
            GraphError, InputError, SchedulerError: As for :func:`rxsteps.run`.
            OptionError: A bad option.
            InputError: No observable among the inputs.
        """
        for name in ("max_in_flight", "buffer"):
            value = options.get(name, 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptionError(f"{name} must be a positive int, got {value!r}", name)
        if options.get("overflow", "block") not in OVERFLOWS:
            raise OptionError(f"overflow must be one of {', '.join(OVERFLOWS)}, "
                              f"got {options['overflow']!r}", "overflow")
        given = dict(inputs)
        streams = {k: v for k, v in given.items() if isinstance(v, reactivex.Observable)}
        if not streams:
            raise InputError("a pipeline needs at least one observable among its inputs "
                             "(one run per value); use run() for a single run", "")
        # one limiter for all the pipeline's runs: together they stay within the limits
        limiter = RunOptions(limits=options.pop("limits", None), rates=options.pop("rates", None),
                             priority=options.get("priority", "critical")).limiter
        options["limits"] = limiter
        constants = {k: v for k, v in given.items() if k not in streams}
        spec = cls(graph, tuple(streams), tuple(streams.values()), constants, **options)
        spec.check()  # the options, graph, inputs and scheduler now, not at the first event
        return spec


_Start = tuple[int, int, dict[str, Any]]  # (ticket, sequence, inputs) of a run to start


class PipelineFlow:
    """One subscription of a pipeline (see the module docstring).

    Args:
        spec: What to run and how.
        backend: Where every run of this subscription runs.
        observer: Gets each result (serially), then ``on_completed`` or ``on_error``.
        hold: A delivered result keeps its slot until :meth:`release` (the consumer
            took it) instead of until ``on_next`` returned.

    Raises:
        Nothing itself: errors of inputs and of run creation go to ``observer``.

    Example:
        >>> import reactivex
        >>> from rxsteps import Step, StepGraph
        >>> graph = StepGraph([Step("id", lambda x: x, ["x"])], inputs=["x"])
        >>> done = __import__("threading").Event()
        >>> observer = reactivex.Observer(print, None, done.set)
        >>> spec = PipelineSpec.build(graph, {"x": reactivex.of(7)})
        >>> flow = PipelineFlow(spec, spec.check(), observer)
        >>> flow.start(None); done.wait(5)  # doctest: +ELLIPSIS
        <RunResult #0 1 succeeded in ... s>
        True
    """

    def __init__(self, spec: PipelineSpec, backend: Backend,
                 observer: abc.ObserverBase[RunResult], *, hold: bool = False) -> None:
        self._spec = spec
        self._backend = backend
        self._observer = observer
        self._hold = hold
        # Results reach the user's observer on a delivery job of their own, so a slow
        # subscriber never holds the thread that ended a run (a driver, a loop); an
        # async iterator (``hold``) only queues onto its loop, so it is fed inline.
        self._sink = EventSink(
            self._deliver, self._error, observer.on_completed, on_fatal=self._fatal,
            context=None if hold or backend.virtual else delivery_context(),
        )
        # the subscriber's contextvars, for every event's run (not the emitting thread's)
        self._context = contextvars.copy_context()
        self._cond = threading.Condition(threading.Lock())
        self._local = threading.local()
        self._queues: list[deque[tuple[int, Any]]] = [deque() for _ in spec.streams]
        self._arrived = [0] * len(spec.streams)  # values seen per input
        self._done = [False] * len(spec.streams)  # inputs completed
        self._subs: list[abc.DisposableBase] = []
        self._to_dispose: list[abc.DisposableBase] = []
        self._open = True  # taking input
        self._state: FlowState = "open"
        self._held = 0  # slots: runs started and not yet delivered (or released)
        self._tickets = 0  # runs started, in input order
        self._next_out = 0  # the ticket to deliver next (ordered)
        self._finished: dict[int, RunResult] = {}  # reorder buffer
        self._runs: dict[int, Run] = {}

    def start(self, scheduler: abc.SchedulerBase | None) -> None:
        """Subscribe to the inputs, in order (a synchronous one may emit everything)."""
        for i, stream in enumerate(self._spec.streams):
            subscription = stream.subscribe(
                partial(self._offer, i), self._fail, partial(self._source_done, i),
                scheduler=scheduler,
            )
            with self._cond:
                if self._open:
                    self._subs.append(subscription)
                    continue
            subscription.dispose()
            return

    def release(self) -> None:
        """A delivered result gave its slot back: start what waits."""
        with self._cond:
            if self._state != "open":
                return
            self._held -= 1
            starts = self._take_starts()
            self._maybe_complete()
        self._after(starts)

    def dispose(self) -> None:
        """Stop: deliver nothing more, dispose the inputs, cancel runs in flight."""
        self._sink.detach()
        with self._cond:
            if self._state == "open":
                self._state = "disposed"
            runs = self._shut()
        self._after([], runs, "pipeline disposed")

    def _offer(self, i: int, value: Any) -> None:
        """A value of input ``i`` arrived (on the producer's thread)."""
        dropped: list[Any] = []
        error: BufferOverflowError | None = None
        with self._cond:
            if not self._open:
                return
            queue, index = self._queues[i], self._arrived[i]
            self._arrived[i] += 1
            full = len(queue) >= self._spec.buffer
            verdict: Verdict = self._overflow(i, queue, dropped) if full else "keep"
            if verdict == "keep" and self._open:
                queue.append((index, value))
            elif verdict == "drop":
                dropped.append(value)
            elif verdict == "error":
                error = BufferOverflowError(self._spec.names[i], self._spec.buffer)
            starts = self._take_starts()
        self._after(starts)
        if dropped and self._spec.on_drop is not None:
            for item in dropped:
                self._spec.on_drop(self._spec.names[i], item)
        if error is not None:
            self._fail(error)

    def _overflow(self, i: int, queue: deque[tuple[int, Any]], dropped: list[Any]) -> Verdict:
        """Apply the policy to a full ``queue`` (under the lock): ``"keep"`` the value,
        ``"drop"`` it or ``"error"``."""
        policy = self._spec.overflow
        if policy == "drop_newest":
            return "drop"
        if policy == "drop_oldest":
            dropped.append(queue.popleft()[1])
            return "keep"
        if policy == "error":
            return "error"
        if self._may_block(i):
            while self._open and len(queue) >= self._spec.buffer:
                self._cond.wait()
        return "keep"

    def _may_block(self, i: int) -> bool:
        """Whether waiting here surely ends: only slots are missing, and this thread is
        not one that must run for a slot to free."""
        if getattr(self._local, "delivering", False) or self._backend.virtual:
            return False
        if not all(q for j, q in enumerate(self._queues) if j != i):
            return False  # waiting for another input, maybe emitted by this very thread
        return not _on_a_loop()

    def _source_done(self, i: int) -> None:
        """Input ``i`` completed."""
        with self._cond:
            self._done[i] = True
            self._check_exhausted()
        self._after([])

    def _fail(self, error: Exception) -> None:
        with self._cond:
            if self._state != "open":
                return
            self._state = "failed"
            runs = self._shut()
            self._sink.close(error)
        self._after([], runs, "pipeline input failed")

    def _take_starts(self) -> list[_Start]:
        """Pop complete events for free slots (under the lock)."""
        starts: list[_Start] = []
        queues, names = self._queues, self._spec.names
        while self._open and self._held < self._spec.max_in_flight and all(queues):
            heads = [q.popleft() for q in queues]
            inputs = self._spec.constants | {n: h[1] for n, h in zip(names, heads, strict=True)}
            starts.append((self._tickets, heads[0][0], inputs))
            self._tickets += 1
            self._held += 1
        if starts:
            self._cond.notify_all()
            self._check_exhausted()
        return starts

    def _launch(self, ticket: int, sequence: int, inputs: dict[str, Any]) -> bool:
        """Create and start the run of one event; False if the pipeline closed."""
        spec = self._spec
        with self._cond:
            if self._state != "open":
                return False
        try:
            run = start_run(spec.graph, inputs, spec.options, backend=self._backend,
                            on_done=partial(self._run_done, ticket), sequence=sequence,
                            context=self._context)
        except StoreError as error:  # this event's run only (locked, changed): a value
            self._finish(ticket, refused_result(spec.graph, inputs, sequence, error,
                                                self._backend.now()))
            return True
        except Exception as error:
            self._fail(error)
            return False
        with self._cond:
            if not run.over():  # it may have ended already (and left _runs) on its own
                self._runs[ticket] = run
        if self._state != "open":  # closed while starting: its cancel came too early
            run.cancel("pipeline closed")
        return True

    def _run_done(self, ticket: int, run: Run) -> None:
        """A run ended (any thread): queue its result, in order if ``ordered``."""
        self._finish(ticket, run.result)  # type: ignore[arg-type]

    def _finish(self, ticket: int, result: RunResult) -> None:
        """Queue the result of ticket's event, in order if ``ordered``."""
        with self._cond:
            self._runs.pop(ticket, None)
            if self._state != "open":
                return
            if not self._spec.ordered:
                self._sink.put(result)
            else:
                self._finished[ticket] = result
                while self._next_out in self._finished:
                    self._sink.put(self._finished.pop(self._next_out))
                    self._next_out += 1
        self._sink.flush()

    def _deliver(self, result: RunResult) -> None:
        self._local.delivering = True
        try:
            self._observer.on_next(result)
        finally:
            self._local.delivering = False
            if not self._hold:
                self.release()

    def _error(self, error: BaseException) -> None:
        self._observer.on_error(error if isinstance(error, Exception) else RuntimeError(error))

    def _fatal(self, error: BaseException) -> None:
        """The subscriber raised a ``BaseException`` (``SystemExit``…) in ``on_next``:
        stop the pipeline (inputs disposed, runs in flight cancelled, nothing more
        delivered) and pass the exception itself to ``on_error``, so whoever waits for
        the pipeline (``.run()``) gets it, as from :func:`rxsteps.observe`."""
        with self._cond:
            if self._state == "open":
                self._state = "failed"
            runs = self._shut()
        self._after([], runs, f"a pipeline subscriber raised {type(error).__name__}")
        with contextlib.suppress(BaseException):  # reactivex's default on_error raises it
            self._observer.on_error(error)  # type: ignore[arg-type]

    def _check_exhausted(self) -> None:
        """End input once a completed input has no value left to pair."""
        if self._open and any(self._done[i] and not q for i, q in enumerate(self._queues)):
            self._shut()
        self._maybe_complete()

    def _maybe_complete(self) -> None:
        if not self._open and self._state == "open" and self._held == 0:
            self._state = "completed"
            self._sink.close()

    def _shut(self) -> list[Run]:
        """Take no more input; return the runs in flight (to cancel unless completing)."""
        self._open = False
        for queue in self._queues:
            queue.clear()
        self._cond.notify_all()
        self._to_dispose.extend(self._subs)
        self._subs.clear()
        if self._state == "open":
            return []
        runs = list(self._runs.values())
        self._runs.clear()
        self._finished.clear()
        return runs

    def _after(self, starts: list[_Start], runs: list[Run] | None = None,
               reason: str = "") -> None:
        """Launch ``starts``, dispose inputs, cancel ``runs``, deliver (no lock held)."""
        for ticket, sequence, inputs in starts:
            if not self._launch(ticket, sequence, inputs):
                break
        if self._to_dispose:
            with self._cond:
                subscriptions, self._to_dispose = self._to_dispose, []
            for subscription in subscriptions:
                subscription.dispose()
        for run in runs or ():
            run.cancel(reason)
        self._sink.flush()


def _on_a_loop() -> bool:
    """Whether this thread is running an event loop (which waiting here would block)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
