"""Turn what a user passes as ``scheduler=`` into a :class:`~.base.Backend`.

==========================================  =========================================
``scheduler=``                              backend
==========================================  =========================================
``"threads"``                               :class:`~.threads.ThreadsBackend`
``"asyncio"``                               :class:`~.aio.AsyncioBackend` on the
                                            running loop (else a loop lent to the run)
``AsyncIOScheduler`` / ``…ThreadSafe…``     :class:`~.aio.AsyncioBackend` on its loop
another reactivex scheduler                 :class:`~.rx.RxSchedulerBackend`
``concurrent.futures.Executor``             :class:`~.executor.ExecutorBackend`
a ``distributed.Client``                    :class:`~.dask.DaskBackend` (``rxsteps[dask]``)
any :class:`~.base.Backend`                 itself (``DaskBackend(client, gather=…)``)
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
import threading
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
from .aio import AsyncioBackend
from .base import Backend
from .executor import ExecutorBackend
from .loops import running_loop
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
    if isinstance(scheduler, Backend):
        return scheduler  # built by hand: ThreadsBackend(), DaskBackend(client, gather=…)
    if isinstance(scheduler, str):
        if scheduler == "threads":
            return ThreadsBackend()
        if scheduler == "asyncio":
            return AsyncioBackend(running_loop())
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
        return AsyncioBackend(_loop_of(scheduler))
    if isinstance(scheduler, abc.SchedulerBase):
        return RxSchedulerBackend(scheduler)
    if isinstance(scheduler, Executor):
        return ExecutorBackend(scheduler)
    if _is_dask_client(scheduler):
        from .dask import DaskBackend

        return DaskBackend(scheduler)
    raise SchedulerError(f"unknown scheduler {scheduler!r}; {_USE}")


def _loop_of(scheduler: AsyncIOScheduler) -> asyncio.AbstractEventLoop:
    """The loop an ``AsyncIOScheduler`` serves, found by running on it (reactivex has no
    public accessor): the running loop when called there, else a probe scheduled on it."""
    loop = running_loop()
    if loop is not None:
        return loop
    found: list[asyncio.AbstractEventLoop] = []
    ready = threading.Event()

    def probe(_scheduler: Any, _state: Any) -> None:
        found.append(asyncio.get_running_loop())
        ready.set()

    scheduler.schedule(probe)
    if not ready.wait(2.0):
        raise SchedulerError(
            f"{type(scheduler).__name__}: its event loop did not run a probe within 2 s; "
            "call arun() on that loop, or pass 'asyncio' from inside it"
        )
    return found[0]


_USE = "use 'threads', 'asyncio', a reactivex scheduler or a concurrent.futures.Executor"


def _is_dask_client(obj: Any) -> bool:
    cls = type(obj)
    return cls.__module__.startswith("distributed") and cls.__name__ == "Client"
