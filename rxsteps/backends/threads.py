"""The ``"threads"`` backend: sync actions on the process's worker threads.

Sync actions run on :mod:`.pool`'s threads, timers on :mod:`.timers`, and each run
with coroutine steps borrows an event loop of its own (:mod:`.loops`) — all defaults
of :class:`~.base.Backend`. Per-run limits are the engine's ``max_concurrency``; the
pool's cap is only a process-wide safety bound.

Example:
    >>> from rxsteps import Step, StepGraph, run
    >>> run(StepGraph([Step("a", lambda: 1)]), scheduler=ThreadsBackend())["a"]
    1
"""

from __future__ import annotations

from .base import Backend
from .pool import WorkerPool, shared_pool

__all__ = ["ThreadsBackend", "WorkerPool", "shared_pool"]


class ThreadsBackend(Backend):
    """Sync actions on worker threads; coroutines on a loop lent to the run."""

    name = "threads"
