"""Shared fixtures: one way to run a graph on every kind of scheduler.

``execute(graph, inputs, **options)`` runs the graph on the scheduler the test is
parametrised with and returns an :class:`Outcome`: the result (or the error), and the
events in the order they were delivered. The contract suite runs every behaviour
through it, so each scheduler meets the same contract.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from reactivex.scheduler import EventLoopScheduler, NewThreadScheduler, ThreadPoolScheduler

import rxsteps
from rxsteps import EventKind, RunResult, StepEvent, StepGraph

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


def _make_scheduler(kind: str) -> tuple[Any, Callable[[], None]]:
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


@pytest.fixture(params=SCHEDULERS)
def scheduler_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def execute(scheduler_kind: str) -> Iterator[Callable[..., Outcome]]:
    """Run a graph on the parametrised scheduler; blocks until it ends."""
    scheduler, close = _make_scheduler(scheduler_kind)

    def execute(graph: StepGraph, inputs: dict[str, Any] | None = None, **options: Any) -> Outcome:
        events: list[StepEvent] = []
        lock = threading.Lock()
        user_on_event = options.pop("on_event", None)

        def record(event: StepEvent) -> None:
            with lock:
                events.append(event)
            if user_on_event is not None:
                user_on_event(event)

        try:
            if scheduler_kind == "asyncio":
                result = asyncio.run(
                    asyncio.wait_for(
                        rxsteps.arun(graph, inputs, on_event=record, **options), timeout=60
                    )
                )
            else:
                result = rxsteps.run(graph, inputs, scheduler=scheduler, on_event=record, **options)
        except rxsteps.StepFailedError as error:
            return Outcome(error.result, error, events)
        return Outcome(result, None, events)

    yield execute
    close()


@pytest.fixture
def parallel(scheduler_kind: str) -> None:
    """Skip on schedulers that run one sync action at a time."""
    if scheduler_kind == "rx-eventloop":
        pytest.skip("EventLoopScheduler has one thread: sync actions cannot overlap")


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event tests release to let blocked actions finish; set on teardown."""
    event = threading.Event()
    yield event
    event.set()
