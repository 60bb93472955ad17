"""A running graph you can hold: :class:`RunHandle`, from :func:`rxsteps.start`.

Each step of the run is a ``reactivex.Observable`` of its values
(:class:`StepObservable`: the engine's own node for the step, not a copy): hot — the
step runs whether or not anyone subscribes — and replaying, so a late subscriber first
gets every value the step emitted so far, then the rest as they come, then completion
when the step succeeds or was skipped, or an error when it failed (its own exception)
or was cancelled (:class:`~rxsteps.StepCancelledError`). Values arrive serially, on a
thread of their own, in the order the step emitted them; compose them with
``reactivex.operators``.
Disposing a subscription stops only that subscription; :meth:`RunHandle.cancel`
stops the run.

Inside the engine a dependent's join subscribes to the same observables, with the
engine's own operator rather than reactivex's per-subscription machinery (its ``zip``
queues are quadratic for a fast stream against a slow one): see
:mod:`rxsteps.execution.node`. Holding a handle costs nothing per step until someone
subscribes.

Example:
    >>> from reactivex import operators as ops
    >>> from rxsteps import Step, StepGraph, start
    >>> def tokens():
    ...     yield from ["a", "b", "c"]
    >>> graph = StepGraph([Step("tokens", tokens),
    ...                    Step("text", "".join, ["tokens"], join="collect")])
    >>> handle = start(graph)
    >>> handle.result()["text"]
    'abc'
    >>> handle.steps["tokens"].pipe(ops.to_list()).run()  # late: replayed
    ['a', 'b', 'c']
"""

from __future__ import annotations

import asyncio
import difflib
import threading
from collections.abc import Generator, Iterator, Mapping
from typing import Any

import reactivex
from reactivex import abc
from reactivex.disposable import Disposable

from .events import StepEvent
from .execution.node import StepObservable
from .execution.options import RunOptions
from .execution.run import Run, start_run
from .graph import StepGraph
from .result import RunResult

__all__ = ["RunHandle", "StepObservable"]


class _Events(reactivex.Observable[StepEvent]):
    def __init__(self, run: Run) -> None:
        super().__init__()
        self._run = run

    def _subscribe_core(
        self, observer: abc.ObserverBase[StepEvent], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        return Disposable(self._run.subscribe_events(observer))


class _Steps(Mapping[str, StepObservable]):
    """``handle.steps``: a step observable per step id (did-you-mean on a typo)."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def __getitem__(self, step: str) -> StepObservable:
        if step not in self._run.nodes:
            close = difflib.get_close_matches(str(step), list(self._run.nodes), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"the run has no step {step!r}{hint}")
        return self._run.nodes[step]

    def __iter__(self) -> Iterator[str]:
        return iter(self._run.nodes)

    def __len__(self) -> int:
        return len(self._run.nodes)


class RunHandle:
    """A started run: its steps as observables, its events, its result.

    Attributes:
        steps: A mapping of step id to :class:`StepObservable`.
        events: Every :class:`~rxsteps.StepEvent` of the run (replayed to late
            subscribers), completing when the run ends or erroring with its failure.

    Example:
        >>> import asyncio
        >>> from reactivex import operators as ops
        >>> from rxsteps import Step, StepGraph, start
        >>> handle = start(StepGraph([Step("a", lambda: 1), Step("b", lambda a: a + 1, ["a"])]))
        >>> async def main():
        ...     return (await handle)["b"]
        >>> asyncio.run(main())
        2
        >>> [e.kind.name for e in handle.events.pipe(ops.to_list()).run()][-1]
        'SUCCEEDED'
    """

    def __init__(self, run: Run, done: threading.Event, waiters: list[Any]) -> None:
        self._run = run
        self._done = done
        self._waiters = waiters  # wakers of awaiting coroutines, called by _wake
        self.steps: Mapping[str, StepObservable] = _Steps(run)
        self.events: reactivex.Observable[StepEvent] = _Events(run)

    @classmethod
    def start(
        cls, graph: StepGraph, inputs: Mapping[str, Any] | None, options: RunOptions
    ) -> RunHandle:
        """Start a recording run of ``graph`` and return its handle."""
        done = threading.Event()
        waiters: list[Any] = []
        run = start_run(graph, inputs, options, record=True,
                        on_done=lambda _run: _wake(done, waiters))
        return cls(run, done, waiters)

    @property
    def done(self) -> bool:
        """Whether the run is over and its events delivered."""
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> RunResult:
        """Wait for the run and return its :class:`~rxsteps.RunResult`.

        Args:
            timeout: Seconds to wait at most (``None``: as long as it takes).

        Raises:
            StepFailedError: The run failed (``fail_fast``); partial result attached.
            TimeoutError: ``timeout`` passed first (the run goes on).
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"the run did not finish within {timeout} s")
        return self._outcome()

    def cancel(self, reason: str = "run cancelled") -> None:
        """Stop the run: nothing new starts, running steps end CANCELLED."""
        self._run.cancel(reason, silent=False)

    def __await__(self) -> Generator[Any, None, RunResult]:
        return self._wait().__await__()

    async def _wait(self) -> RunResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.append(lambda: loop.call_soon_threadsafe(_settle, future))
        if self._done.is_set():
            _settle(future)
        try:
            await future
        except asyncio.CancelledError:
            self.cancel("the awaiting task was cancelled")
            raise
        return self._outcome()

    def _outcome(self) -> RunResult:
        run = self._run
        if run.fatal is not None:
            raise run.fatal
        if run.failure is not None:
            raise run.failure
        assert run.result is not None
        return run.result

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<RunHandle {len(self.steps)} steps, {state}>"


def _wake(done: threading.Event, waiters: list[Any]) -> None:
    done.set()
    for waiter in list(waiters):
        waiter()


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
