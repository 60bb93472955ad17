"""The engine's properties over random DAGs on every scheduler, several hundred examples
each: exactly once per zipped input, no call before the values it consumes, values equal
to a sequential evaluation, one terminal event per step, events serial.

The DAG strategy and the reference evaluation live in ``tests/test_properties.py``.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from rxsteps import EventKind, StepEvent, arun, run
from tests.conftest import SCHEDULERS, _make_scheduler
from tests.test_properties import TERMINAL, Spec, build, dags, reference


@pytest.fixture(scope="module", params=SCHEDULERS)
def scheduler(request: pytest.FixtureRequest) -> Any:
    kind = str(request.param)
    instance, close = _make_scheduler(kind)
    yield kind, instance
    close()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(specs=dags())
def test_properties_on_every_scheduler(scheduler: Any, specs: list[Spec]) -> None:
    kind, instance = scheduler
    graph, calls = build(specs)
    events: list[StepEvent] = []
    busy = threading.Lock()
    overlapping: list[StepEvent] = []

    def on_event(event: StepEvent) -> None:
        if not busy.acquire(blocking=False):
            overlapping.append(event)
            return
        events.append(event)
        busy.release()

    if kind == "asyncio":
        result = asyncio.run(arun(graph, on_event=on_event))
    else:
        result = run(graph, scheduler=instance, on_event=on_event)
    expected, expected_calls = reference(specs)
    assert overlapping == []
    assert {name: result.emitted(name) for name in graph} == expected
    assert calls == expected_calls
    emitted_at: dict[tuple[str, int], int] = {}
    seen: Counter[str] = Counter()
    for k, event in enumerate(events):
        if event.kind is EventKind.EMITTED:
            emitted_at[(event.step, seen[event.step])] = k
            seen[event.step] += 1
        elif event.kind is EventKind.STARTED:
            for dep in graph[event.step].depends:
                assert emitted_at[(dep, event.index)] < k
    terminal = Counter(e.step for e in events if e.kind in TERMINAL)
    assert terminal == Counter(list(graph))
    times = [e.time for e in events]
    assert times == sorted(times)
