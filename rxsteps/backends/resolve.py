"""Turn what a user passes as ``scheduler=`` into a :class:`~.backend.Backend`.

==========================================  =========================================
``scheduler=``                              backend
==========================================  =========================================
``"threads"``                               :class:`~.threads.ThreadsBackend`
``"asyncio"``                               :class:`~.aio.AsyncioBackend` on the
                                            running loop (else the background loop)
``AsyncIOScheduler`` / ``…ThreadSafe…``     :class:`~.aio.AsyncioBackend` on its loop
another reactivex scheduler                 :class:`~.rx.RxSchedulerBackend`
``concurrent.futures.Executor``             :class:`~.executor.ExecutorBackend`
a ``distributed.Client``                    :class:`~.dask.DaskBackend` (``rxsteps[dask]``)
a :class:`~.dask.DaskBackend`               itself (to choose its ``gather`` mode)
==========================================  =========================================

Example:
    >>> resolve_backend("thread")
    Traceback (most recent call last):
    ...
    rxsteps.errors.SchedulerError: unknown scheduler 'thread' (did you mean 'threads'?); \
use 'threads', 'asyncio', a reactivex scheduler or a concurrent.futures.Executor
"""

from __future__ import annotations

import asyncio
import difflib
import sys
from concurrent.futures import Executor
from typing import Any

from reactivex import abc
from reactivex.scheduler import (
    CurrentThreadScheduler,
    ImmediateScheduler,
    TrampolineScheduler,
)
from reactivex.scheduler.eventloop import AsyncIOScheduler, AsyncIOThreadSafeScheduler

from ..errors import SchedulerError
from .aio import AsyncioBackend, background_loop
from .base import Backend
from .executor import ExecutorBackend
from .rx import RxSchedulerBackend
from .threads import ThreadsBackend

__all__ = ["SCHEDULER_NAMES", "resolve_backend"]

SCHEDULER_NAMES = ("threads", "asyncio")
_REFUSED = (ImmediateScheduler, CurrentThreadScheduler, TrampolineScheduler)


def resolve_backend(scheduler: Any) -> Backend:
    """The backend for ``scheduler``.

    Raises:
        SchedulerError: An unknown name or object, or a scheduler that cannot run a
            step graph (one that runs work on the calling thread).
    """
    if isinstance(scheduler, str):
        if scheduler == "threads":
            return ThreadsBackend()
        if scheduler == "asyncio":
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = background_loop()
            return AsyncioBackend(loop)
        close = difflib.get_close_matches(scheduler, SCHEDULER_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SchedulerError(f"unknown scheduler {scheduler!r}{hint}; {_USE}")
    if isinstance(scheduler, _REFUSED):
        raise SchedulerError(
            f"{type(scheduler).__name__} cannot run a step graph: it runs every step on "
            "the calling thread, nested in the previous one (no parallelism, timers "
            "that sleep, recursion limits); use 'threads', 'asyncio' or a scheduler "
            "with threads of its own"
        )
    if isinstance(scheduler, AsyncIOScheduler | AsyncIOThreadSafeScheduler):
        return AsyncioBackend(scheduler._loop)
    if isinstance(scheduler, abc.SchedulerBase):
        return RxSchedulerBackend(scheduler)
    if isinstance(scheduler, Executor):
        return ExecutorBackend(scheduler)
    if _is_dask_client(scheduler):
        from .dask import DaskBackend

        return DaskBackend(scheduler)
    dask = sys.modules.get(f"{__package__}.dask")  # a DaskBackend implies it was imported
    if dask is not None and isinstance(scheduler, dask.DaskBackend):
        return scheduler  # type: ignore[no-any-return]
    raise SchedulerError(f"unknown scheduler {scheduler!r}; {_USE}")


_USE = "use 'threads', 'asyncio', a reactivex scheduler or a concurrent.futures.Executor"


def _is_dask_client(obj: Any) -> bool:
    cls = type(obj)
    return cls.__module__.startswith("distributed") and cls.__name__ == "Client"
