"""Any ``concurrent.futures.Executor`` as the place actions run.

A ``ThreadPoolExecutor`` runs the engine's worker loop itself, like ``"threads"``. Any
other executor — a ``ProcessPoolExecutor``, a Dask ``Client.get_executor()``, a
``loky`` pool — is *remote*: each call ships the action and its arguments with
``submit`` and the engine continues from the future's done-callback, which never runs
user code. Everything shipped must pickle: before a run starts, every action is
pickled once, and a step whose action cannot be fails the run with an error naming it.
Streaming actions (generators) cannot cross a process boundary and are refused up
front; coroutine actions run on an event loop lent to the run. A timed-out call is
abandoned and ``Future.cancel()`` is tried (it stops calls still queued). A call the
executor refuses (it was shut down, or a process pool broke) fails its step. For Dask,
pass the ``distributed.Client`` itself rather than ``client.get_executor()``: see
:mod:`.dask`, where values stay on the cluster.

Example:
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from rxsteps import Step, StepGraph, run
    >>> with ThreadPoolExecutor(4) as pool:
    ...     run(StepGraph([Step("a", lambda: 41), Step("b", lambda a: a + 1, ["a"])]),
    ...         scheduler=pool)["b"]
    42
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from .base import Backend, Handle

__all__ = ["ExecutorBackend"]


class _FutureHandle:
    __slots__ = ("_future",)

    def __init__(self, future: Future[Any]) -> None:
        self._future = future

    def cancel(self) -> None:
        self._future.cancel()


class ExecutorBackend(Backend):
    """Actions on a ``concurrent.futures.Executor``."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.name = type(executor).__name__
        self.remote = not isinstance(executor, ThreadPoolExecutor)

    def abandoned(self, count: int) -> None:
        """Not rxsteps' pool: nothing to count."""

    def spawn(self, fn: Callable[[Any], None], arg: Any) -> None:
        self.executor.submit(fn, arg)

    def submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: Callable[[Future[Any]], None]
    ) -> Handle:
        try:
            future = self.executor.submit(fn, *args)
        except Exception as error:  # shut down, or broken (a worker process died)
            future = Future()
            future.set_exception(error)
        future.add_done_callback(done)
        return _FutureHandle(future)
