"""How one attempt executes, for each kind of action, and where.

Each step gets a *mode* when the run is built:

- ``sync`` — functions, generators and runnables with ``invoke``: run by a driver
  (:meth:`.drivers.Drivers.serve`, a worker thread that keeps taking this run's next
  ready sync step) through :func:`run_sync`;
- ``async`` — coroutine and async-generator functions, and runnables whose ``invoke``
  cannot be used (only ``ainvoke``, a LangChain ``RunnableLambda`` over a coroutine
  function, or any runnable under ``"asyncio"``): a task on the run's event loop;
- ``remote`` — sync actions on a remote executor (process pool…): shipped with
  ``submit``, continued from the future's callback.

What an action returns decides the rest at run time: a generator or an observable
streams (each value through :meth:`Run.emit_value`), an awaitable or async iterator
continues on the loop, anything else is the single value. Every path ends in exactly
one :meth:`Run.finish` (or finds its attempt abandoned).

Every action runs in a copy of the context its run's caller had (``contextvars``: a
request id, a tenant, a LangChain callback configuration), on every scheduler and
however warm the pool, with :func:`rxsteps.current` returning its attempt and its
step span current.

Example:
    >>> from rxsteps import Step, StepGraph, run
    >>> def tokens():
    ...     yield from ["eager", " ", "steps"]
    >>> graph = StepGraph([Step("tokens", tokens),
    ...                    Step("text", "".join, ["tokens"], join="collect")])
    >>> run(graph)["text"]
    'eager steps'
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import re
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from reactivex import Observable

from ..backends.base import Backend, DisposableHandle, Handle
from ..backends.loops import start_on_loop
from ..context import _CURRENT
from ..errors import SchedulerError, StepCancelledError
from .ahead import Ahead
from .attempt import RUNNING, ActiveAttempt
from .node import Mode, Node
from .tracing import RunTracer, attach

if TYPE_CHECKING:
    from ..step import Step

__all__ = [
    "AttemptOwner", "arm_timeout", "check_steps", "end_span", "launch", "mode_of", "prepare",
    "remote_call", "run_sync",
]

_PLAIN = frozenset({int, float, str, bytes, bool, type(None), dict, list, tuple, set})

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")  # keeps pickling errors reproducible

_NOTHING: Any = object()


class AttemptOwner(Protocol):
    """What an attempt needs of its run (:class:`~.run.Run` is the one owner)."""

    backend: Backend
    tracer: RunTracer | None
    context: contextvars.Context
    ahead: Ahead | None  # remote tasks submitted as the run started (see .ahead)

    def emit_value(self, attempt: ActiveAttempt, value: Any) -> bool:
        """A streaming attempt produced ``value``; False if it no longer counts."""
        ...

    def finish(
        self,
        attempt: ActiveAttempt,
        value: Any = _NOTHING,
        error: BaseException | None = None,
        *,
        inline: bool = False,
    ) -> ActiveAttempt | None:
        """The attempt ended; with ``inline``, the next sync attempt for this driver."""
        ...

    def timed_out(self, attempt: ActiveAttempt) -> None:
        """The attempt's timeout passed."""
        ...

    def coroutine_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop this run's coroutine steps run on."""
        ...


def mode_of(step: Step, backend: Backend) -> Mode:
    """How ``step`` executes on ``backend``: a coroutine (or a runnable that must go
    through ``ainvoke``) is async; any other action is sync, or remote on a remote
    backend.

    Args:
        step: The step.
        backend: Where the run executes.

    Returns:
        The step's :class:`~.node.Mode`.
    """
    kind = step.kind
    if kind in ("coroutine", "asyncgen") or (
        kind == "runnable" and _wants_ainvoke(step.action, backend)
    ):
        return Mode.ASYNC
    return Mode.REMOTE if backend.remote else Mode.SYNC


def check_steps(steps: Iterable[Step], backend: Backend) -> None:
    """Refuse, before anything runs, a step that ``backend`` cannot execute.

    A mapped step on a backend that keeps its values remote cannot see its items; a
    remote step must be a plain action that pickles (not a generator).

    Args:
        steps: The graph's steps.
        backend: Where the run would execute.

    Raises:
        SchedulerError: Naming the first such step and what to do instead.
    """
    if not (backend.remote or backend.keeps_values):
        return  # a local backend runs any step: skip the loop, once per run
    for step in steps:
        if step.map is not None and backend.keeps_values:
            _refuse_map(step, backend)
        if mode_of(step, backend) is Mode.REMOTE:
            _check_shippable(step, backend)


def prepare(nodes: list[Node], backend: Backend) -> None:
    """Give each step its mode (:func:`mode_of`); the steps were checked already
    (:func:`check_steps`, through :func:`~.checks.check_run`)."""
    for node in nodes:
        node.mode = mode_of(node.step, backend)


def _refuse_map(step: Step, backend: Backend) -> None:
    raise SchedulerError(
        f"step {step.id!r} maps over {step.map!r} (map={step.map!r}), but the "
        f"{backend.name} backend keeps values where they were made and gives the run "
        f"only references to them, so the items of {step.map!r} are not known here: "
        "use DaskBackend(client, gather='events') (each value is fetched as it comes) "
        "or run the graph on 'threads' or 'asyncio'"
    )


def _wants_ainvoke(action: Any, backend: Backend) -> bool:
    """A runnable goes through ``ainvoke`` when its ``invoke`` cannot be used: it has
    none, or it is a LangChain ``RunnableLambda`` over a coroutine function (``afunc``
    and no ``func``: its ``invoke`` raises "Cannot invoke a coroutine function
    synchronously"), or the backend prefers it (:attr:`Backend.prefers_async`:
    ``"asyncio"``)."""
    if not callable(getattr(action, "ainvoke", None)):
        return False
    if not callable(getattr(action, "invoke", None)):
        return True
    if hasattr(action, "afunc") and not hasattr(action, "func"):
        return True
    return backend.prefers_async


def _check_shippable(step: Step, backend: Backend) -> None:
    if step.kind == "generator":
        raise SchedulerError(
            f"step {step.id!r} is a generator (a streaming step); the {backend.name} "
            "backend ships each call to another process and gets one value back, so "
            "it cannot stream: return a list, or run the graph on 'threads' or "
            "'asyncio'"
        )
    try:
        backend.dumps(step.action)
    except Exception as error:
        detail = _ADDRESS.sub("", str(error))
        raise SchedulerError(
            f"step {step.id!r}: its action cannot be pickled for the {backend.name} "
            f"backend: {type(error).__name__}: {detail}"
        ) from error


def launch(run: AttemptOwner, attempt: ActiveAttempt) -> None:
    """Start an async or remote ``attempt`` (outside the run lock)."""
    node = attempt.node
    if node.step.timeout is not None and attempt.timer is None:  # else armed when queued
        arm_timeout(run, attempt)
    if node.mode is Mode.ASYNC:
        _start_async(run, attempt, None)
        return
    tracer = run.tracer
    if tracer is not None and tracer.enabled:
        _open_span(tracer, attempt)
    done = _RemoteDone(run, attempt)
    submitted = None if run.ahead is None else run.ahead.take(attempt)
    if submitted is not None:
        attempt.handle = submitted.attach(done)
    else:
        attempt.handle = run.backend.submit(*remote_call(node, attempt.args), done)


def remote_call(node: Node, args: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    """What a remote backend ships for a call of ``node`` with ``args``: ``(fn, args)``
    — the action itself, as plain as a task can be (measured on Dask, 1,000 tasks:
    wrapping each call in a function of rxsteps' cost 0.2–0.3 s), or, for a runnable,
    a call of its ``invoke`` with its one input.

    Example:
        >>> import functools
        >>> from rxsteps import Step
        >>> node = Node(Step("s", functools.partial(max, 1), ["x"]), [])
        >>> remote_call(node, (5,)) == (max, (1, 5))
        True
    """
    action = node.step.action
    if node.step.kind == "runnable":
        return _invoke_remote, (action, runnable_input(node, args))
    if type(action) is functools.partial and not action.keywords:
        # the same call, as a task Dask builds and runs faster (measured, 1,000 tasks:
        # a partial as the task's function costs 0.3 s more client CPU than its parts)
        return action.func, action.args + args
    return action, args


def arm_timeout(run: AttemptOwner, attempt: ActiveAttempt) -> None:
    """Start ``attempt``'s timeout (its step has one)."""
    timeout = attempt.node.step.timeout
    assert timeout is not None
    timer = run.backend.call_later(timeout, lambda: run.timed_out(attempt))
    attempt.timer = timer
    if attempt.state is not RUNNING:
        timer.cancel()


def run_sync(run: AttemptOwner, attempt: ActiveAttempt) -> ActiveAttempt | None:
    """Run a sync ``attempt`` on this thread, in a copy of the caller's context; return
    the next sync attempt for this driver, if any."""
    if attempt.state is not RUNNING:
        return run.finish(attempt, inline=True)  # abandoned before it began: a no-op
    if attempt.node.step.timeout is not None and attempt.timer is None:  # else armed when queued
        arm_timeout(run, attempt)
    return run.context.copy().run(_call_sync, run, attempt)


def _call_sync(run: AttemptOwner, attempt: ActiveAttempt) -> ActiveAttempt | None:
    _CURRENT.set(attempt)
    tracer = run.tracer
    if tracer is not None and tracer.enabled:
        attach(tracer.step_context(_open_span(tracer, attempt)))
    step = attempt.node.step
    try:
        if step.kind == "runnable":
            value = _invoke(step.action, runnable_input(attempt.node, attempt.args))
        else:
            value = step.action(*attempt.args)
        if type(value) in _PLAIN:  # the common case, without the checks below
            return run.finish(attempt, value, inline=True)
        if inspect.isgenerator(value):
            return _drain_generator(run, attempt, value)
    except BaseException as error:
        return run.finish(attempt, error=error, inline=True)
    if isinstance(value, Observable):
        _subscribe(run, attempt, value)
        return None
    if inspect.isawaitable(value) or isinstance(value, AsyncIterator):
        _start_async(run, attempt, value)
        return None
    return run.finish(attempt, value, inline=True)


_NO_SYNC_INVOKE = "Cannot invoke a coroutine function synchronously"


def _invoke(runnable: Any, value: Any) -> Any:
    """``runnable.invoke(value)``; for a composite whose ``invoke`` cannot be used (a
    LangChain sequence ending in an async lambda raises this ``TypeError``), the
    awaitable of its ``ainvoke``, which the attempt then awaits on the run's loop."""
    try:
        return runnable.invoke(value)
    except TypeError as error:
        if _NO_SYNC_INVOKE not in str(error) or not callable(getattr(runnable, "ainvoke", None)):
            raise
    return runnable.ainvoke(value)


def _drain_generator(run: AttemptOwner, attempt: ActiveAttempt,
                     generator: Any) -> ActiveAttempt | None:
    try:
        for value in generator:
            if not run.emit_value(attempt, value):
                generator.close()
                return run.finish(attempt, inline=True)  # abandoned: a no-op
    except BaseException as error:
        return run.finish(attempt, error=error, inline=True)
    return run.finish(attempt, inline=True)


def _subscribe(run: AttemptOwner, attempt: ActiveAttempt, observable: Observable[Any]) -> None:
    holder: list[Any] = []

    def on_next(value: Any) -> None:
        if not run.emit_value(attempt, value) and holder:
            holder[0].dispose()

    def on_error(error: Exception) -> None:
        run.finish(attempt, error=error)

    def on_completed() -> None:
        run.finish(attempt)

    subscription = observable.subscribe(
        on_next, on_error, on_completed, scheduler=run.backend.scheduler
    )
    holder.append(subscription)
    attempt.handle = DisposableHandle(subscription)
    if attempt.state is not RUNNING:
        subscription.dispose()


def _start_async(run: AttemptOwner, attempt: ActiveAttempt, started: Any) -> None:
    context = run.context.copy()
    context.run(_CURRENT.set, attempt)
    tracer = run.tracer
    if tracer is not None and tracer.enabled:
        span = attempt.span or _open_span(tracer, attempt)
        context.run(attach, tracer.step_context(span))
    coroutine = _run_coroutine(run, attempt, started)
    handle: Handle = start_on_loop(run.coroutine_loop(), coroutine, context)
    attempt.handle = handle
    if attempt.state is not RUNNING:
        handle.cancel()


async def _run_coroutine(run: AttemptOwner, attempt: ActiveAttempt, started: Any) -> None:
    node = attempt.node
    step = node.step
    try:
        if started is None:
            if step.kind == "runnable":
                started = step.action.ainvoke(runnable_input(node, attempt.args))
            else:
                started = step.action(*attempt.args)
        if isinstance(started, AsyncIterator):
            async for value in started:
                if not run.emit_value(attempt, value):
                    await started.aclose()  # type: ignore[attr-defined]
                    return
            run.finish(attempt)
            return
        value = await started
    except BaseException as error:  # CancelledError too: the attempt ends either way
        if attempt.state is RUNNING and isinstance(error, asyncio.CancelledError):
            error = StepCancelledError(node.id)
        run.finish(attempt, error=error)
        return
    run.finish(attempt, value)


def _invoke_remote(runnable: Any, value: Any) -> Any:
    """A runnable's call, on the remote side."""
    return runnable.invoke(value)


class _RemoteDone:
    """A remote call's done-callback. ``label`` (``"<step>-<attempt>"``) names the call
    for backends that key their tasks (Dask)."""

    __slots__ = ("attempt", "run")

    def __init__(self, run: AttemptOwner, attempt: ActiveAttempt) -> None:
        self.run = run
        self.attempt = attempt

    @property
    def label(self) -> str:
        return f"{self.attempt.node.id}-{self.attempt.number}"

    def __call__(self, future: Any) -> None:
        _remote_done(self.run, self.attempt, future)


def _remote_done(run: AttemptOwner, attempt: ActiveAttempt, future: Any) -> None:
    if future.cancelled():
        run.finish(attempt, error=StepCancelledError(attempt.node.id))
        return
    error = future.exception()
    if error is not None:
        run.finish(attempt, error=error)
    else:
        run.finish(attempt, future.result())


def runnable_input(node: Node, args: tuple[Any, ...]) -> Any:
    """A runnable's single input: nothing, the one value, or a dict by dependency name."""
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return dict(zip(node.step.depends, args, strict=True))


# -- spans ----------------------------------------------------------------------------


def _open_span(tracer: RunTracer, attempt: ActiveAttempt) -> Any:
    node = attempt.node
    links = [dep.span_context for dep in node.deps]
    attempt.open_span(tracer.start_step(node.id, attempt.number, attempt.index, links,
                                        item=node.step.map is not None))
    return attempt.span


def end_span(
    attempt: ActiveAttempt, error: BaseException | None, outcome: str | None = None
) -> None:
    """Close the attempt's span, if tracing made one and no one closed it yet."""
    span = attempt.claim_span()
    if span is not None:
        RunTracer.end_step(span, error, outcome or ("failed" if error else "succeeded"))
