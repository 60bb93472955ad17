"""Every kind of scheduler, made the same way, and what a run on one produced.

``execute(graph, inputs, **options)`` runs the graph on the scheduler the test is
parametrised with and returns an :class:`Outcome`: the result (or the error), and the
events in the order they were delivered. The contract suite runs every behaviour
through it, so each scheduler meets the same contract.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from reactivex.scheduler import EventLoopScheduler, NewThreadScheduler, ThreadPoolScheduler

from rxsteps import EventKind, RunResult, StepEvent

SCHEDULERS = ["threads", "asyncio", "rx-eventloop", "rx-threadpool", "rx-newthread", "executor"]


@dataclass
class Outcome:
    """What a run produced, whatever the scheduler."""

    result: RunResult | None
    error: BaseException | None
    events: list[StepEvent] = field(default_factory=list)

    def kinds(self, step: str) -> list[EventKind]:
        return [e.kind for e in self.events if e.step == step]

    def values(self) -> dict[str, Any]:
        assert self.result is not None, f"run failed: {self.error!r}"
        return dict(self.result)


def make_scheduler(kind: str) -> tuple[Any, Callable[[], None]]:
    if kind in ("threads", "asyncio"):
        return kind, lambda: None
    if kind == "rx-eventloop":
        scheduler = EventLoopScheduler()
        return scheduler, scheduler.dispose
    if kind == "rx-threadpool":
        pool = ThreadPoolScheduler(8)
        return pool, lambda: pool.executor.shutdown(wait=False)
    if kind == "rx-newthread":
        return NewThreadScheduler(), lambda: None
    if kind == "executor":
        executor = ThreadPoolExecutor(16)
        return executor, lambda: executor.shutdown(wait=False, cancel_futures=True)
    raise AssertionError(kind)
