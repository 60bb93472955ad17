"""Running a graph: :func:`run` (blocking), :func:`arun` (awaitable) and :func:`observe`
(a cold ``reactivex.Observable`` of step events).

All three validate the graph and the inputs before anything runs, start every step
the moment its own dependencies have produced, and share the same options:

- ``scheduler`` — ``"threads"``, ``"asyncio"``, a reactivex scheduler or a
  ``concurrent.futures.Executor`` (see :mod:`rxsteps.backends.resolve`);
- ``fail_fast`` — stop at the first failure (default) or run independent branches to
  the end and skip only what depended on a failure;
- ``max_concurrency`` — how many actions of this run may run at once;
- ``tracer_provider`` — an OpenTelemetry provider (default: the global one);
- ``resume`` — a previous :class:`~rxsteps.RunResult` whose succeeded steps are reused.

Example:
    >>> from rxsteps import Step, StepGraph, run
    >>> graph = StepGraph(
    ...     [Step("search", lambda q: [q, q.upper()], depends=["query"]),
    ...      Step("docs", lambda q: [q[::-1]], depends=["query"]),
    ...      Step("answer", lambda s, d: s + d, depends=["search", "docs"])],
    ...     inputs=["query"],
    ... )
    >>> run(graph, inputs={"query": "rx"})["answer"]
    ['rx', 'RX', 'xr']
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any

import reactivex
from reactivex import abc
from reactivex.disposable import Disposable

from .backends.resolve import resolve_backend
from .errors import SchedulerError
from .events import StepEvent
from .execution.run import Run, preflight
from .graph import StepGraph
from .result import RunResult

__all__ = ["arun", "observe", "run"]


class _Callback:
    """An observer that forwards events to a plain callback (for ``on_event=``)."""

    __slots__ = ("on_next",)

    def __init__(self, on_next: Callable[[StepEvent], Any]) -> None:
        self.on_next = on_next

    def on_error(self, error: BaseException) -> None:
        pass

    def on_completed(self) -> None:
        pass


def run(
    graph: StepGraph,
    inputs: Mapping[str, Any] | None = None,
    *,
    scheduler: Any = "threads",
    fail_fast: bool = True,
    max_concurrency: int | None = None,
    on_event: Callable[[StepEvent], Any] | None = None,
    tracer_provider: Any = None,
    resume: RunResult | None = None,
) -> RunResult:
    """Run ``graph`` and block until every step has finished.

    Args:
        graph: The steps to run.
        inputs: A value for each of the graph's declared inputs.
        scheduler: Where actions run (default ``"threads"``).
        fail_fast: Stop at the first failure and raise; else skip only its dependents.
        max_concurrency: Most actions of this run running at once (default: no limit
            beyond the worker pool's).
        on_event: Called with every :class:`~rxsteps.StepEvent`, serially, in order.
        tracer_provider: OpenTelemetry tracer provider for the run's spans.
        resume: Reuse the succeeded steps of this earlier result; run only the rest.

    Returns:
        The :class:`~rxsteps.RunResult`.

    Raises:
        StepFailedError: With ``fail_fast``, the first failure; the original exception
            is ``__cause__`` and the partial result is ``.result``.
        GraphError, InputError, SchedulerError, TypeError, ValueError: Before anything
            ran.
        KeyboardInterrupt: After cancelling the run.

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> run(StepGraph([Step("a", lambda: "done")]))["a"]
        'done'
    """
    backend = resolve_backend(scheduler)
    if backend.virtual:
        raise SchedulerError(
            "run() cannot wait on a virtual-time scheduler: nothing would advance its "
            "clock; use observe() and advance the scheduler"
        )
    loop = getattr(backend, "loop", None)
    if loop is not None and _running_loop() is loop:
        raise SchedulerError(
            "run() would block the event loop its steps need; use 'await arun(...)'"
        )
    done = threading.Event()
    execution = Run(
        graph, inputs, backend,
        fail_fast=fail_fast, max_concurrency=max_concurrency,
        observer=_Callback(on_event) if on_event is not None else None,
        on_done=lambda _run: done.set(), tracer_provider=tracer_provider, resume=resume,
    )
    execution.start()
    try:
        done.wait()
    except BaseException:
        execution.cancel("run interrupted")
        raise
    return _outcome(execution)


async def arun(
    graph: StepGraph,
    inputs: Mapping[str, Any] | None = None,
    *,
    scheduler: Any = "asyncio",
    fail_fast: bool = True,
    max_concurrency: int | None = None,
    on_event: Callable[[StepEvent], Any] | None = None,
    tracer_provider: Any = None,
    resume: RunResult | None = None,
) -> RunResult:
    """Run ``graph`` on the running event loop and await its result.

    Coroutine actions are tasks on this loop; sync actions run on worker threads and
    never block it. Cancelling the awaiting task cancels the run.

    Args:
        graph: The steps to run.
        inputs: A value for each of the graph's declared inputs.
        scheduler: Where actions run (default ``"asyncio"``: this loop).
        fail_fast: Stop at the first failure and raise; else skip only its dependents.
        max_concurrency: Most actions of this run running at once.
        on_event: Called with every :class:`~rxsteps.StepEvent`, serially, in order.
        tracer_provider: OpenTelemetry tracer provider for the run's spans.
        resume: Reuse the succeeded steps of this earlier result; run only the rest.

    Returns:
        The :class:`~rxsteps.RunResult`.

    Raises:
        StepFailedError: With ``fail_fast``, the first failure (cause and partial
            result attached).
        GraphError, InputError, SchedulerError, TypeError, ValueError: Before anything
            ran.
        asyncio.CancelledError: The awaiting task was cancelled (the run was too).

    Example:
        >>> import asyncio
        >>> from rxsteps import Step, StepGraph, arun
        >>> async def hello():
        ...     return "hi"
        >>> asyncio.run(arun(StepGraph([Step("hello", hello)])))["hello"]
        'hi'
    """
    loop = asyncio.get_running_loop()
    backend = resolve_backend(scheduler)
    future: asyncio.Future[Run] = loop.create_future()

    def done(execution: Run) -> None:
        if _running_loop() is loop:
            _resolve(future, execution)
        else:
            loop.call_soon_threadsafe(_resolve, future, execution)

    execution = Run(
        graph, inputs, backend,
        fail_fast=fail_fast, max_concurrency=max_concurrency,
        observer=_Callback(on_event) if on_event is not None else None,
        on_done=done, tracer_provider=tracer_provider, resume=resume,
    )
    execution.start()
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        execution.cancel("run cancelled")
        raise
    return _outcome(execution)


def observe(
    graph: StepGraph,
    inputs: Mapping[str, Any] | None = None,
    *,
    scheduler: Any = "threads",
    fail_fast: bool = True,
    max_concurrency: int | None = None,
    tracer_provider: Any = None,
    resume: RunResult | None = None,
) -> reactivex.Observable[StepEvent]:
    """A cold observable of the run's events: each subscription is a new run.

    Events arrive serially and in time order; the stream completes after the last
    one, or — with ``fail_fast`` — errors with the :class:`~rxsteps.StepFailedError`
    after FAILED and the CANCELLED events. Disposing the subscription cancels the run.
    The graph and inputs are checked now, so bad ones raise here, not at subscribe.

    Args:
        graph: The steps to run.
        inputs: A value for each of the graph's declared inputs.
        scheduler: Where actions run (default ``"threads"``; a reactivex
            ``TestScheduler`` runs them in virtual time).
        fail_fast: Stop at the first failure; else skip only its dependents.
        max_concurrency: Most actions of one run running at once.
        tracer_provider: OpenTelemetry tracer provider for the runs' spans.
        resume: Reuse the succeeded steps of this earlier result; run only the rest.

    Returns:
        A cold ``reactivex.Observable`` of :class:`~rxsteps.StepEvent`.

    Raises:
        GraphError, InputError, SchedulerError, ValueError: At once, for bad input.

    Example:
        >>> from reactivex import operators as ops
        >>> from rxsteps import Step, StepGraph, observe
        >>> events = observe(StepGraph([Step("a", lambda: 1)]))
        >>> [e.kind.name for e in events.pipe(ops.to_list()).run()]
        ['STARTED', 'EMITTED', 'SUCCEEDED']
    """
    preflight(graph, inputs, max_concurrency)
    resolve_backend(scheduler)  # fail now on a bad scheduler

    def subscribe(
        observer: abc.ObserverBase[StepEvent], _scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        execution = Run(
            graph, inputs, resolve_backend(scheduler),
            fail_fast=fail_fast, max_concurrency=max_concurrency, observer=observer,
            tracer_provider=tracer_provider, resume=resume,
        )
        execution.start()
        return Disposable(lambda: execution.cancel("subscription disposed"))

    return reactivex.create(subscribe)


def _outcome(execution: Run) -> RunResult:
    if execution.failure is not None:
        raise execution.failure
    assert execution.result is not None
    return execution.result


def _resolve(future: asyncio.Future[Run], execution: Run) -> None:
    if not future.done():
        future.set_result(execution)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
