"""Shared fixtures: one way to run a graph on every kind of scheduler.

``execute(graph, inputs, **options)`` runs the graph on the scheduler the test is
parametrised with and returns an :class:`~tests.support.Outcome`. The helpers
themselves live in :mod:`tests.support`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import rxsteps
from rxsteps import StepEvent, StepGraph
from tests.support import SCHEDULERS, Outcome, make_scheduler


@pytest.fixture(params=SCHEDULERS)
def scheduler_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def execute(scheduler_kind: str) -> Iterator[Callable[..., Outcome]]:
    """Run a graph on the parametrised scheduler; blocks until it ends."""
    scheduler, close = make_scheduler(scheduler_kind)

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
