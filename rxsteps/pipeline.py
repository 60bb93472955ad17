"""Per-event pipelines: run the graph once for every event of an input stream.

:func:`pipeline` turns observables of requests (chat messages, webhooks, queue
messages…) into an observable of :class:`~rxsteps.RunResult`, one per event:

- **Events.** Each value of an input observable is an event; several observables are
  zipped (the n-th values of each make the n-th event); inputs that are not
  observables are constants. ``result.sequence`` is the event's position in its
  (first) observable input, ``result.inputs`` what its run was given.
- **Slots.** At most ``max_in_flight`` runs at once. A run keeps its slot until its
  result was delivered, so a slow subscriber slows intake, and at most
  ``max_in_flight`` results are ever held (none after delivery: memory stays flat
  however many events pass). ``ordered=True`` emits in input order, a finished run
  waiting for the ones before it; ``ordered=False`` as runs finish.
- **Errors are values.** A failing event yields a result holding the failure
  (``result.failure``, ``.status``, ``.errors``); later events are unaffected. The
  pipeline errors only when an input errors — at once: runs in flight are cancelled
  and waiting events dropped.
- **End.** Completes when an input completed with all its values used and every
  result was delivered. Disposing the subscription disposes the inputs and cancels
  the runs in flight; nothing is emitted after.

**Backpressure.** Each input keeps at most ``buffer`` values waiting for a slot. A
value arriving at a full buffer meets the ``overflow`` policy:

=================  ====================================================================
``"block"``        (default, loses nothing) the producing thread waits until a run
                   starts. So only a producer emitting on a thread of its own is
                   slowed down. Never blocked, because they may be what frees a slot:
                   a thread running an event loop (it may run the steps, or take
                   ``apipeline`` results), a virtual-time scheduler's, a thread
                   delivering a result (an observer that feeds the input), and an
                   input ahead of another in the zip (the other may emit on the same
                   thread). There the value is kept and the buffer grows past
                   ``buffer``: give such producers a drop policy, or a thread.
``"drop_oldest"``  the oldest waiting value of that input is discarded.
``"drop_newest"``  the arriving value is discarded.
``"error"``        the pipeline errors with :class:`BufferOverflowError`.
=================  ====================================================================

``on_drop(name, value)`` is called on the producer's thread for every discarded
value, and dropped values leave gaps in ``sequence``.

**Sizing.** Memory is bounded by ``max_in_flight`` runs plus ``buffer`` values per
input. ``max_in_flight`` is the concurrency the steps' services accept (model calls,
tools, databases); ``buffer`` absorbs bursts above it. A producer that must never wait
takes a drop policy; one that must lose nothing and may wait keeps ``"block"``.
Inside an event loop, iterate :func:`rxsteps.apipeline` with ``async for``: results
are taken at the consumer's pace, each holding its slot until taken.

Example:
    >>> import reactivex
    >>> from reactivex import operators as ops
    >>> from rxsteps import Step, StepGraph, pipeline
    >>> graph = StepGraph([Step("double", lambda q: 2 * q, ["q"])], inputs=["q"])
    >>> results = pipeline(graph, {"q": reactivex.of(1, 2, 3)}).pipe(ops.to_list()).run()
    >>> [(r.sequence, r["double"]) for r in results]
    [(0, 2), (1, 4), (2, 6)]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import reactivex
from reactivex import abc
from reactivex.disposable import Disposable

from ._options_doc import shared_options
from .errors import BufferOverflowError
from .execution.flow import OVERFLOWS, Overflow, PipelineFlow, PipelineSpec
from .execution.limits import Limiter
from .graph import StepGraph
from .result import RunResult

__all__ = ["OVERFLOWS", "BufferOverflowError", "Overflow", "pipeline"]


@shared_options
def pipeline(
    graph: StepGraph,
    inputs: Mapping[str, Any],
    *,
    scheduler: Any = "threads",
    max_in_flight: int = 8,
    ordered: bool = True,
    buffer: int = 1000,
    overflow: Overflow = "block",
    on_drop: Callable[[str, Any], Any] | None = None,
    fail_fast: bool = True,
    max_concurrency: int | None = None,
    tracer_provider: Any = None,
    limits: Mapping[str, int] | Limiter | None = None,
    rates: Mapping[str, Any] | None = None,
    priority: str = "critical",
    store: Any = None,
    run_id: str | Callable[[Mapping[str, Any]], str] | None = None,
    fresh: bool = False,
    serializer: str = "pickle",
) -> reactivex.Observable[RunResult]:
    """A cold observable running ``graph`` once per input event.

    ``result.sequence`` is the event's position in its (first) observable input,
    ``result.inputs`` what its run was given. ``ordered=True`` emits in input order (a
    finished run waits, keeping its slot, for the ones before it). A failing event
    yields a result holding the failure (``.failure``, ``.status``, ``.errors``); later
    events are unaffected. An input's error is passed on at once, cancelling runs in
    flight; disposing disposes the inputs and cancels runs in flight. Buffering and
    ``overflow`` are described in the module docstring; the machinery is
    :class:`~rxsteps.execution.flow.PipelineFlow`.

    Args:
        graph: The steps to run for each event.
        inputs: For each declared input, an observable (one value per event) or a
            constant. At least one must be an observable.
        scheduler: Where actions run, as for :func:`rxsteps.run`; resolved when
            subscribed (``"asyncio"`` then means the subscriber's running loop).
        max_in_flight: Most runs started and not yet delivered.
        ordered: Emit results in input order (else as runs finish).
        buffer: Most values each input keeps waiting for a slot.
        overflow: What a full buffer does: ``"block"``, ``"drop_oldest"``,
            ``"drop_newest"`` or ``"error"``.
        on_drop: Called with ``(input name, value)`` for every value dropped.
        fail_fast: Per run, as for :func:`rxsteps.run`; a failure is in the result.
        max_concurrency: Most actions of one run at once.
        tracer_provider: OpenTelemetry provider; runs carry ``rxsteps.sequence``.
        {pipeline options: limits, rates, priority, store, run_id, fresh, serializer}

    Returns:
        An observable of :class:`~rxsteps.RunResult`; each subscription is a new
        pipeline with its own subscriptions to the inputs.

    Raises:
        GraphError, InputError, SchedulerError: Before anything is subscribed.
        ValueError: Bad options, or no observable among the inputs.

    Example:
        >>> import reactivex
        >>> from reactivex import operators as ops
        >>> from rxsteps import Step, StepGraph, pipeline
        >>> graph = StepGraph([Step("greet", lambda g, n: f"{g}, {n}", ["g", "n"])],
        ...                   inputs=["g", "n"])
        >>> out = pipeline(graph, {"g": "hi", "n": reactivex.of("ada", "bob")})
        >>> [r["greet"] for r in out.pipe(ops.to_list()).run()]
        ['hi, ada', 'hi, bob']
    """
    spec = PipelineSpec.build(
        graph, inputs, scheduler=scheduler, max_in_flight=max_in_flight, ordered=ordered,
        buffer=buffer, overflow=overflow, on_drop=on_drop, fail_fast=fail_fast,
        max_concurrency=max_concurrency, tracer_provider=tracer_provider, limits=limits,
        rates=rates, priority=priority, store=store, run_id=run_id, fresh=fresh,
        serializer=serializer,
    )

    def subscribe(
        observer: abc.ObserverBase[RunResult], scheduler_: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        flow = PipelineFlow(spec, spec.check(), observer)
        flow.start(scheduler_)
        return Disposable(flow.dispose)

    return reactivex.create(subscribe)
