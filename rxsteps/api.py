"""Running a graph: :func:`run` (blocking), :func:`arun` (awaitable), :func:`observe`
(a cold ``reactivex.Observable`` of step events) and :func:`start` (a
:class:`~rxsteps.RunHandle` whose steps are observables).

All of them validate the graph and the inputs before anything runs, start every step
the moment its own dependencies have produced, and share the same options:

- ``scheduler`` — ``"threads"``, ``"asyncio"``, a reactivex scheduler or a
  ``concurrent.futures.Executor`` (see :mod:`rxsteps.backends.resolve`);
- ``fail_fast`` — stop at the first failure (default) or run independent branches to
  the end and skip only what depended on a failure;
- ``max_concurrency`` — how many actions of this run may run at once;
- ``tracer_provider`` — an OpenTelemetry provider (default: the global one);
- ``resume`` — a previous :class:`~rxsteps.RunResult` whose succeeded steps are reused;
- ``on_event`` — a callback for every event (on a thread of its own, serially);
- ``store``, ``run_id``, ``fresh``, ``serializer`` — keep the run in a durable store
  and resume it after a crash (:mod:`rxsteps.execution.durable`).

Each builds one :class:`~rxsteps.execution.options.RunOptions` and starts the run
through :func:`~rxsteps.execution.run.start_run`, which checks everything first
(:func:`~rxsteps.execution.checks.check_run`).

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
import contextlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

import reactivex
from reactivex import abc
from reactivex.disposable import Disposable

from ._options_doc import shared_options
from .backends.loops import running_loop
from .events import StepEvent
from .execution.checks import check_run
from .execution.limits import Limiter
from .execution.options import RunOptions
from .execution.run import Run, should_help, start_run
from .graph import StepGraph
from .handle import RunHandle
from .result import RunResult

__all__ = ["arun", "observe", "run", "start"]


@shared_options
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
    limits: Mapping[str, int] | Limiter | None = None,
    rates: Mapping[str, Any] | None = None,
    priority: str = "critical",
    history: RunResult | None = None,
    store: Any = None,
    run_id: str | None = None,
    fresh: bool = False,
    serializer: str = "pickle",
) -> RunResult:
    """Run ``graph`` and block until every step has finished.

    Called from inside a step (a nested run), the calling thread drives the inner
    run's steps itself instead of waiting for another thread, so nested runs work at
    any fan-out.

    Args:
        graph: The steps to run.
        inputs: A value for each of the graph's declared inputs.
        scheduler: Where actions run (default ``"threads"``).
        fail_fast: Stop at the first failure and raise; else skip only its dependents.
        max_concurrency: Most actions of this run running at once (default: no limit
            beyond the worker pool's).
        on_event: Called with every :class:`~rxsteps.StepEvent`, serially, in order,
            on a thread of its own.
        tracer_provider: OpenTelemetry tracer provider for the run's spans.
        resume: Reuse the succeeded steps of this earlier result; run only the rest.
        {run options: limits, rates, priority, history, store, run_id, fresh, serializer}

    Returns:
        The :class:`~rxsteps.RunResult`.

    Raises:
        StepFailedError: With ``fail_fast``, the first failure; the original exception
            is ``__cause__`` and the partial result is ``.result``.
        CapacityError: The process ran out of worker threads (partial result attached).
        GraphError, InputError, OptionError, SchedulerError: Before anything ran.
        StoreError: With ``store``, the store cannot be used; RunChangedError: the
            stored run had another graph or inputs; RunLockedError: it runs elsewhere.
        KeyboardInterrupt: After cancelling the run; also a ``BaseException`` raised by
            an ``on_event`` callback, after ending the run.

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> run(StepGraph([Step("a", lambda: "done")]))["a"]
        'done'
    """
    options = RunOptions.from_arguments(locals())
    done = threading.Event()
    execution: Run | None = None
    try:
        execution = start_run(graph, inputs, options, on_done=lambda _run: done.set(),
                              waits=True)
        if should_help():
            execution.help_until_done(done)
        else:
            while not done.wait(0.05):  # wakes to let _thread.interrupt_main() in
                pass
    except BaseException:
        if execution is not None:
            execution.cancel("run interrupted")
        raise
    return _outcome(execution)


@shared_options
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
    limits: Mapping[str, int] | Limiter | None = None,
    rates: Mapping[str, Any] | None = None,
    priority: str = "critical",
    history: RunResult | None = None,
    store: Any = None,
    run_id: str | None = None,
    fresh: bool = False,
    serializer: str = "pickle",
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
        on_event: Called with every :class:`~rxsteps.StepEvent`, serially, in order,
            on a thread of its own (never on this loop).
        tracer_provider: OpenTelemetry tracer provider for the run's spans.
        resume: Reuse the succeeded steps of this earlier result; run only the rest.
        {run options: limits, rates, priority, history, store, run_id, fresh, serializer}

    Returns:
        The :class:`~rxsteps.RunResult`.

    Raises:
        StepFailedError: With ``fail_fast``, the first failure (cause and partial
            result attached).
        GraphError, InputError, OptionError, SchedulerError: Before anything ran.
        StoreError: With ``store``, the store cannot be used; RunChangedError: the
            stored run had another graph or inputs; RunLockedError: it runs elsewhere.
        asyncio.CancelledError: The awaiting task was cancelled (the run was too).

    Example:
        >>> import asyncio
        >>> from rxsteps import Step, StepGraph, arun
        >>> async def hello():
        ...     return "hi"
        >>> asyncio.run(arun(StepGraph([Step("hello", hello)])))["hello"]
        'hi'
    """
    options = RunOptions.from_arguments(locals())
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Run] = loop.create_future()

    def done(execution: Run) -> None:
        if running_loop() is loop:
            _resolve(future, execution)
        elif not loop.is_closed():  # closed: no one awaits (Ctrl-C ended asyncio.run)
            with contextlib.suppress(RuntimeError):  # closed just now
                loop.call_soon_threadsafe(_resolve, future, execution)

    execution = start_run(graph, inputs, options, on_done=done)
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        execution.cancel("run cancelled")
        raise
    return _outcome(execution)


@shared_options
def observe(
    graph: StepGraph,
    inputs: Mapping[str, Any] | None = None,
    *,
    scheduler: Any = "threads",
    fail_fast: bool = True,
    max_concurrency: int | None = None,
    tracer_provider: Any = None,
    resume: RunResult | None = None,
    limits: Mapping[str, int] | Limiter | None = None,
    rates: Mapping[str, Any] | None = None,
    priority: str = "critical",
    history: RunResult | None = None,
    store: Any = None,
    run_id: str | None = None,
    fresh: bool = False,
    serializer: str = "pickle",
) -> reactivex.Observable[StepEvent]:
    """A cold observable of the run's events: each subscription is a new run.

    Events arrive serially and in time order, on a thread of their own; the stream
    completes after the last one, or — with ``fail_fast`` — errors with the
    :class:`~rxsteps.StepFailedError` after FAILED and the CANCELLED events. Disposing
    the subscription cancels the run. The graph and inputs are checked now, so bad
    ones raise here, not at subscribe.

    Args:
        graph: The steps to run.
        inputs: A value for each of the graph's declared inputs.
        scheduler: Where actions run (default ``"threads"``; a reactivex
            ``TestScheduler`` runs them in virtual time).
        fail_fast: Stop at the first failure; else skip only its dependents.
        max_concurrency: Most actions of one run running at once.
        tracer_provider: OpenTelemetry tracer provider for the runs' spans.
        resume: Reuse the succeeded steps of this earlier result; run only the rest.
        {run options: limits, rates, priority, history, store, run_id, fresh, serializer}

    Returns:
        A cold ``reactivex.Observable`` of :class:`~rxsteps.StepEvent`.

    Raises:
        GraphError, InputError, OptionError, SchedulerError: At once, for bad input.

    Example:
        >>> from reactivex import operators as ops
        >>> from rxsteps import Step, StepGraph, observe
        >>> events = observe(StepGraph([Step("a", lambda: 1)]))
        >>> [e.kind.name for e in events.pipe(ops.to_list()).run()]
        ['STARTED', 'EMITTED', 'SUCCEEDED']
    """
    options = RunOptions.from_arguments(locals())
    check_run(graph, inputs, options)  # fail now, not at subscribe

    def subscribe(
        observer: abc.ObserverBase[StepEvent], _scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        execution = start_run(graph, inputs, options, observer=observer)
        return Disposable(lambda: execution.cancel("subscription disposed"))

    return reactivex.create(subscribe)


@shared_options
def start(
    graph: StepGraph,
    inputs: Mapping[str, Any] | None = None,
    *,
    scheduler: Any = "threads",
    fail_fast: bool = True,
    max_concurrency: int | None = None,
    on_event: Callable[[StepEvent], Any] | None = None,
    tracer_provider: Any = None,
    resume: RunResult | None = None,
    limits: Mapping[str, int] | Limiter | None = None,
    rates: Mapping[str, Any] | None = None,
    priority: str = "critical",
    history: RunResult | None = None,
    store: Any = None,
    run_id: str | None = None,
    fresh: bool = False,
    serializer: str = "pickle",
) -> RunHandle:
    """Start ``graph`` and return at once with a :class:`~rxsteps.RunHandle`.

    The handle's ``steps[name]`` is each step as a hot ``reactivex.Observable`` of its
    values (replaying what it emitted so far to a late subscriber), ``events`` the
    whole event stream (replayed too); ``result()`` blocks for the
    :class:`~rxsteps.RunResult`, ``await handle`` awaits it, ``cancel()`` stops the run.

    Args:
        graph: The steps to run.
        inputs: A value for each of the graph's declared inputs.
        scheduler: Where actions run (default ``"threads"``).
        fail_fast: Stop at the first failure; else skip only its dependents.
        max_concurrency: Most actions of this run running at once.
        on_event: Called with every event, serially, on a thread of its own.
        tracer_provider: OpenTelemetry tracer provider for the run's spans.
        resume: Reuse the succeeded steps of this earlier result; run only the rest.
        {run options: limits, rates, priority, history, store, run_id, fresh, serializer}

    Returns:
        The :class:`~rxsteps.RunHandle` of the started run.

    Raises:
        GraphError, InputError, OptionError, SchedulerError: Before anything ran.
        StoreError: With ``store``, the store cannot be used; RunChangedError: the
            stored run had another graph or inputs; RunLockedError: it runs elsewhere.

    Example:
        >>> from reactivex import operators as ops
        >>> from rxsteps import Step, StepGraph, start
        >>> def tokens():
        ...     yield from ["eager", "steps"]
        >>> handle = start(StepGraph([Step("tokens", tokens)]))
        >>> handle.steps["tokens"].pipe(ops.map(str.upper), ops.to_list()).run()
        ['EAGER', 'STEPS']
        >>> handle.result()["tokens"]
        'steps'
    """
    options = RunOptions.from_arguments(locals())
    return RunHandle.start(graph, inputs, options)


def _outcome(execution: Run) -> RunResult:
    if execution.fatal is not None:
        raise execution.fatal
    if execution.failure is not None:
        raise execution.failure
    assert execution.result is not None
    return execution.result


def _resolve(future: asyncio.Future[Run], execution: Run) -> None:
    if not future.done():
        future.set_result(execution)
