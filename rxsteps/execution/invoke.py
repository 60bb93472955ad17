"""How one attempt executes, for each kind of action, and where.

Each step gets a *mode* when the run is built:

- ``sync`` — functions, generators and runnables with ``invoke``: run by a driver
  (:func:`drive`, a worker thread that keeps taking this run's next ready sync step);
- ``async`` — coroutine and async-generator functions, and runnables with only
  ``ainvoke`` (or any runnable under ``"asyncio"``): a task on the backend's loop;
- ``remote`` — sync actions on a remote executor (process pool…): shipped with
  ``submit``, continued from the future's callback.

What an action returns decides the rest at run time: a generator or an observable
streams (each value through :meth:`Run.emit_value`), an awaitable or async iterator
continues on the loop, anything else is the single value. Every path ends in exactly
one :meth:`Run.finish` (or finds its attempt abandoned). While a sync action runs,
:func:`rxsteps.current` returns its context and its step span is current.

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

import contextvars
import inspect
import pickle
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from reactivex import Observable

from ..backends.base import DisposableHandle, Handle
from ..context import _CURRENT
from ..errors import SchedulerError, StepCancelledError
from .attempt import RUNNING, ActiveAttempt
from .tracing import RunTracer, attach, detach

if TYPE_CHECKING:
    from .run import Run

__all__ = ["drive", "end_span", "launch", "prepare"]

_PLAIN = frozenset({int, float, str, bytes, bool, type(None), dict, list, tuple, set})

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")  # keeps pickling errors reproducible


def prepare(run: Run) -> None:
    """Choose each step's mode; refuse what the backend cannot run, before anything runs."""
    backend = run.backend
    dumps = getattr(backend, "dumps", pickle.dumps)  # Dask checks with cloudpickle
    for node in run.nodes.values():
        step = node.step
        assert step is not None
        kind = step.kind
        if kind in ("coroutine", "asyncgen"):
            node.mode = "async"
        elif kind == "runnable":
            has_invoke = callable(getattr(step.action, "invoke", None))
            has_ainvoke = callable(getattr(step.action, "ainvoke", None))
            node.mode = "async" if has_ainvoke and (
                not has_invoke or backend.name == "asyncio"
            ) else "sync"
        if node.mode == "sync" and backend.remote:
            if kind == "generator":
                raise SchedulerError(
                    f"step {step.id!r} is a generator (a streaming step); the {backend.name} "
                    "backend ships each call to another process and gets one value back, so "
                    "it cannot stream: return a list, or run the graph on 'threads' or "
                    "'asyncio'"
                )
            try:
                dumps(step.action)
            except Exception as error:
                detail = _ADDRESS.sub("", str(error))
                raise SchedulerError(
                    f"step {step.id!r}: its action cannot be pickled for the {backend.name} "
                    f"backend: {type(error).__name__}: {detail}"
                ) from error
            node.mode = "remote"


def launch(run: Run, attempt: ActiveAttempt) -> None:
    """Start an async or remote ``attempt`` (outside the run lock)."""
    node = attempt.node
    assert node is not None and node.step is not None
    if node.step.timeout is not None:
        arm_timeout(run, attempt)
    if node.mode == "async":
        _start_async(run, attempt, None)
    else:
        tracer = run.tracer
        if tracer is not None and tracer.enabled:
            _open_span(run, tracer, attempt)
        args = attempt.args
        if node.step.kind == "runnable":
            args = (runnable_input(node, args),)
        attempt.handle = run.backend.submit(
            _call_remote, (node.step.action, node.step.kind, args), _RemoteDone(run, attempt)
        )


def arm_timeout(run: Run, attempt: ActiveAttempt) -> None:
    timeout = attempt.node.step.timeout  # type: ignore[union-attr]
    timer = run.backend.call_later(timeout, lambda: run.timed_out(attempt))  # type: ignore[arg-type]
    attempt.timer = timer
    if attempt.state is not RUNNING:
        timer.cancel()


def drive(run: Run) -> None:
    """A driver's loop on a worker thread: run this run's ready sync steps, one after
    another, until none is left for it."""
    attempt = run.drive()
    while attempt is not None:
        if attempt.node.step.timeout is not None:  # type: ignore[union-attr]
            arm_timeout(run, attempt)
        attempt = _run_sync(run, attempt)
    run.driver_exit()


def _run_sync(run: Run, attempt: ActiveAttempt) -> ActiveAttempt | None:
    if attempt.state is not RUNNING:
        return run.finish(attempt, inline=True)  # abandoned before it began: a no-op
    node = attempt.node
    step = node.step  # type: ignore[union-attr]
    tokens = _enter(run, attempt)
    try:
        if step.kind == "runnable":  # type: ignore[union-attr]
            value = step.action.invoke(runnable_input(node, attempt.args))  # type: ignore[union-attr]
        else:
            value = step.action(*attempt.args)  # type: ignore[union-attr]
        if type(value) in _PLAIN:  # the common case, without the checks below
            return run.finish(attempt, value, inline=True)
        if inspect.isgenerator(value):
            return _drain_generator(run, attempt, value)
    except BaseException as error:
        return run.finish(attempt, error=error, inline=True)
    finally:
        _exit(tokens)
    if isinstance(value, Observable):
        _subscribe(run, attempt, value)
        return None
    if inspect.isawaitable(value) or isinstance(value, AsyncIterator):
        _start_async(run, attempt, value)
        return None
    return run.finish(attempt, value, inline=True)


def _drain_generator(run: Run, attempt: ActiveAttempt, generator: Any) -> ActiveAttempt | None:
    try:
        for value in generator:
            if not run.emit_value(attempt, value):
                generator.close()
                return run.finish(attempt, inline=True)  # abandoned: a no-op
    except BaseException as error:
        return run.finish(attempt, error=error, inline=True)
    return run.finish(attempt, inline=True)


def _subscribe(run: Run, attempt: ActiveAttempt, observable: Observable[Any]) -> None:
    holder: list[Any] = []

    def on_next(value: Any) -> None:
        if not run.emit_value(attempt, value) and holder:
            holder[0].dispose()

    def on_error(error: Exception) -> None:
        run.finish(attempt, error=error)

    def on_completed() -> None:
        run.finish(attempt)

    subscription = observable.subscribe(
        on_next, on_error, on_completed, scheduler=getattr(run.backend, "scheduler", None)
    )
    holder.append(subscription)
    attempt.handle = DisposableHandle(subscription)
    if attempt.state is not RUNNING:
        subscription.dispose()


def _start_async(run: Run, attempt: ActiveAttempt, started: Any) -> None:
    context = contextvars.copy_context()
    context.run(_CURRENT.set, attempt)
    tracer = run.tracer
    if tracer is not None and tracer.enabled:
        span = attempt.span or _open_span(run, tracer, attempt)
        context.run(attach, tracer.step_context(span))
    handle: Handle = run.backend.start_coroutine(_drive(run, attempt, started), context)
    attempt.handle = handle
    if attempt.state is not RUNNING:
        handle.cancel()


async def _drive(run: Run, attempt: ActiveAttempt, started: Any) -> None:
    node = attempt.node
    step = node.step  # type: ignore[union-attr]
    try:
        if started is None:
            if step.kind == "runnable":  # type: ignore[union-attr]
                started = step.action.ainvoke(runnable_input(node, attempt.args))  # type: ignore[union-attr]
            else:
                started = step.action(*attempt.args)  # type: ignore[union-attr]
        if isinstance(started, AsyncIterator):
            async for value in started:
                if not run.emit_value(attempt, value):
                    await started.aclose()  # type: ignore[attr-defined]
                    return
            run.finish(attempt)
            return
        value = await started
    except BaseException as error:  # CancelledError too: the attempt ends either way
        if attempt.state is RUNNING and type(error).__name__ == "CancelledError":
            error = StepCancelledError(node.id)  # type: ignore[union-attr]
        run.finish(attempt, error=error)
        return
    run.finish(attempt, value)


def _call_remote(action: Any, kind: str, args: tuple[Any, ...]) -> Any:
    if kind == "runnable":
        return action.invoke(args[0])
    return action(*args)


class _RemoteDone:
    """A remote call's done-callback. ``label`` (``"<step>-<attempt>"``) names the call
    for backends that key their tasks (Dask)."""

    __slots__ = ("attempt", "run")

    def __init__(self, run: Run, attempt: ActiveAttempt) -> None:
        self.run = run
        self.attempt = attempt

    @property
    def label(self) -> str:
        return f"{self.attempt.node.id}-{self.attempt.number}"  # type: ignore[union-attr]

    def __call__(self, future: Any) -> None:
        _remote_done(self.run, self.attempt, future)


def _remote_done(run: Run, attempt: ActiveAttempt, future: Any) -> None:
    if future.cancelled():
        run.finish(attempt, error=StepCancelledError(attempt.node.id))  # type: ignore[union-attr]
        return
    error = future.exception()
    if error is not None:
        run.finish(attempt, error=error)
    else:
        run.finish(attempt, future.result())


def runnable_input(node: Any, args: tuple[Any, ...]) -> Any:
    """A runnable's single input: nothing, the one value, or a dict by dependency name."""
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return dict(zip(node.step.depends, args, strict=True))


# -- context and spans ----------------------------------------------------------------


def _open_span(run: Run, tracer: RunTracer, attempt: ActiveAttempt) -> Any:
    node = attempt.node
    links = [dep.span_context for dep in node.deps]  # type: ignore[union-attr]
    attempt.span = tracer.start_step(node.id, attempt.number, attempt.index, links)  # type: ignore[union-attr]
    return attempt.span


def _enter(run: Run, attempt: ActiveAttempt) -> tuple[Any, Any]:
    token = _CURRENT.set(attempt)
    tracer = run.tracer
    if tracer is None or not tracer.enabled:
        return token, None
    span = _open_span(run, tracer, attempt)
    return token, attach(tracer.step_context(span))


def _exit(tokens: tuple[Any, Any]) -> None:
    token, otel_token = tokens
    if otel_token is not None:
        detach(otel_token)
    _CURRENT.reset(token)


def end_span(
    run: Run, attempt: ActiveAttempt, error: BaseException | None, outcome: str | None = None
) -> None:
    """Close the attempt's span, if tracing made one."""
    if attempt.span is not None:
        RunTracer.end_step(attempt.span, error, outcome or ("failed" if error else "succeeded"))
