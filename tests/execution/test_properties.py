"""Properties of the engine over random DAGs (hypothesis), on threads and asyncio,
against the sequential reference of :mod:`tests.support.properties`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from rxsteps import StepGraph, arun, run
from tests.support import Spec, check, conditional_dags, dags


@pytest.mark.parametrize("scheduler", ["threads", "asyncio"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=dags())
def test_engine_matches_sequential_evaluation(scheduler: str, specs: list[Spec]) -> None:
    def run_graph(graph: StepGraph, on_event: Any) -> Any:
        if scheduler == "asyncio":
            return asyncio.run(arun(graph, on_event=on_event))
        return run(graph, scheduler=scheduler, on_event=on_event)

    check(specs, run_graph)


@pytest.mark.parametrize("scheduler", ["threads", "asyncio"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=conditional_dags())
def test_conditions_match_sequential_evaluation(scheduler: str, specs: list[Spec]) -> None:
    # random conditions per call and optional dependencies: the same calls, values,
    # ordering and one terminal event per step as the reference, which also says
    # which steps a condition skipped
    def run_graph(graph: StepGraph, on_event: Any) -> Any:
        if scheduler == "asyncio":
            return asyncio.run(arun(graph, on_event=on_event))
        return run(graph, scheduler=scheduler, on_event=on_event)

    check(specs, run_graph)
