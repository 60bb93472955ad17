"""The engine's properties over random DAGs on every scheduler, several hundred examples
each: exactly once per zipped input, no call before the values it consumes, values equal
to a sequential evaluation, one terminal event per step, events serial.

The DAG strategy and the reference evaluation live in ``tests/test_properties.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from rxsteps import arun, run
from tests.support import SCHEDULERS, Spec, check, dags, make_scheduler


@pytest.fixture(scope="module", params=SCHEDULERS)
def scheduler(request: pytest.FixtureRequest) -> Any:
    kind = str(request.param)
    instance, close = make_scheduler(kind)
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

    def run_graph(graph: Any, on_event: Any) -> Any:
        if kind == "asyncio":
            return asyncio.run(arun(graph, on_event=on_event))
        return run(graph, scheduler=instance, on_event=on_event)

    check(specs, run_graph)
