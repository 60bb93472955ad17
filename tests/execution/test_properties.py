"""Properties of the engine over random DAGs (hypothesis), on threads and asyncio,
against the sequential reference of :mod:`tests.support.properties`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


@st.composite
def limited_dags(draw: st.DrawFn) -> tuple[list[Spec], list[dict[str, int]], dict[str, int]]:
    """A random DAG whose steps use random subsets of three resources of random
    capacities (each step within them, or preflight would refuse it)."""
    specs = draw(dags())
    capacities = {name: draw(st.integers(1, 3)) for name in ("llm", "web", "db")}
    uses = [
        {name: draw(st.integers(1, cap)) for name, cap in capacities.items()
         if draw(st.booleans())}
        for _ in specs
    ]
    return specs, uses, capacities


@pytest.mark.parametrize("scheduler", ["threads", "asyncio"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=limited_dags(), priority=st.sampled_from(["critical", "fifo"]),
       slots=st.sampled_from([None, 1, 2]))
def test_limits_never_exceeded_and_values_match(
    scheduler: str, case: tuple[list[Spec], list[dict[str, int]], dict[str, int]],
    priority: str, slots: int | None,
) -> None:
    specs, uses, capacities = case
    options: dict[str, Any] = {"limits": capacities, "priority": priority,
                               "max_concurrency": slots}

    def run_graph(graph: StepGraph, on_event: Any) -> Any:
        if scheduler == "asyncio":
            return asyncio.run(arun(graph, on_event=on_event, **options))
        return run(graph, scheduler=scheduler, on_event=on_event, **options)

    check(specs, run_graph, uses, capacities)
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
