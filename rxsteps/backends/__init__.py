"""Where a run's actions execute: the backends, and the one function that picks one.

The engine (:mod:`rxsteps.execution`) decides *what* runs and *when*; a backend decides
*where*. Every backend is a :class:`Backend` (:mod:`.base` holds the whole contract:
each member the engine uses, with the default most backends share), so the engine
never asks which backend it has, only what the backend declares it can do.

The backends:

- :class:`ThreadsBackend` (``"threads"``) — sync actions on the process's worker pool
  (:mod:`.pool`), timers on rxsteps' timer thread (:mod:`.timers`), coroutine steps on
  an event loop lent to the run (:mod:`.loops`);
- :class:`AsyncioBackend` (``"asyncio"``) — coroutine steps as tasks on the caller's
  event loop, sync actions on the worker pool;
- :class:`RxSchedulerBackend` — any reactivex scheduler; a virtual-time one
  (``TestScheduler``) runs timers in virtual time;
- :class:`ExecutorBackend` — any ``concurrent.futures.Executor``; any but a
  ``ThreadPoolExecutor`` is *remote*: actions are pickled and shipped;
- :class:`DaskBackend` — a Dask ``distributed.Client``: actions as tasks on a cluster,
  values kept there (needs ``rxsteps[dask]``; imported only when asked for).

``scheduler=`` resolves through :func:`resolve_backend` alone: a name (``"threads"``,
``"asyncio"``), a reactivex scheduler, an ``Executor``, a ``distributed.Client``, or a
:class:`Backend` built by hand, which is used as it is. Anything else is refused with
a :class:`~rxsteps.SchedulerError` before a run starts.

Layering: backends know nothing of graphs, steps or runs. They import only the model
(:mod:`rxsteps.errors`, :mod:`rxsteps.result`) and each other; the engine imports them,
never the other way round.

Example:
    >>> from rxsteps.backends import ThreadsBackend, resolve_backend
    >>> isinstance(resolve_backend("threads"), ThreadsBackend)
    True
"""

from __future__ import annotations

from typing import Any

from .aio import AsyncioBackend
from .base import Backend, Handle, Submitted
from .executor import ExecutorBackend
from .resolve import resolve_backend
from .rx import RxSchedulerBackend
from .threads import ThreadsBackend

__all__ = [
    "GATHER_MODES", "AsyncioBackend", "Backend", "DaskBackend", "ExecutorBackend",
    "GatherMode", "Handle", "RxSchedulerBackend", "Submitted", "ThreadsBackend",
    "resolve_backend",
]

_DASK_NAMES = ("DaskBackend", "GATHER_MODES", "GatherMode")


def __getattr__(name: str) -> Any:
    """The Dask names, imported on first use: ``dask`` is an optional dependency.

    Args:
        name: The attribute asked for.

    Returns:
        ``DaskBackend``, ``GATHER_MODES`` or ``GatherMode`` from :mod:`.dask`.

    Raises:
        AttributeError: Any other name.
        ImportError: A Dask name, without ``rxsteps[dask]`` installed.
    """
    if name in _DASK_NAMES:
        from . import dask

        return getattr(dask, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
