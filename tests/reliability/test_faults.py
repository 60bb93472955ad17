"""Fault injection over random DAGs: retried faults leave no trace in the values;
fail-fast stops starting steps the moment a failure is known; keep-going skips exactly
the descendants of failed steps."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rxsteps import (
    EventKind,
    Retry,
    Step,
    StepEvent,
    StepFailedError,
    StepGraph,
    StepStatus,
    arun,
    current,
    run,
)

FAULTS = ["none", "raise", "hang", "late", "async-raise", "async-hang"]


@st.composite
def faulty_dags(draw: st.DrawFn) -> list[tuple[tuple[int, ...], str]]:
    size = draw(st.integers(1, 16))
    specs = []
    for i in range(size):
        deps = tuple(draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True))) if i else ()
        specs.append((deps, draw(st.sampled_from(FAULTS))))
    return specs


def _value(i: int, args: tuple[int, ...]) -> int:
    return (i * 31 + sum(args)) % 100_003


def _action(i: int, fault: str, faulty: bool) -> Any:
    """An action whose *first* attempt misbehaves (if ``faulty``); later ones work."""

    def sync(*args: int) -> int:
        if faulty and current().attempt == 1:
            if fault == "raise":
                raise ConnectionError("transient")
            if fault == "hang":
                current().wait(30)  # abandoned by the timeout, told to stop
                return -1
            if fault == "late":
                time.sleep(0.05)  # ignores cancellation; its value must be dropped
                return -2
        return _value(i, args)

    async def coroutine(*args: int) -> int:
        if faulty and current().attempt == 1:
            if fault == "async-raise":
                raise ConnectionError("transient")
            await asyncio.sleep(30)
        return _value(i, args)

    return coroutine if fault.startswith("async") else sync


def _graph(specs: list[tuple[tuple[int, ...], str]], faulty: bool) -> StepGraph:
    return StepGraph(
        Step(
            f"s{i}",
            _action(i, fault, faulty),
            [f"s{d}" for d in deps],
            timeout=0.02 if fault in ("hang", "late", "async-hang") else None,
            retry=Retry(attempts=2, backoff=0),
        )
        for i, (deps, fault) in enumerate(specs)
    )


def _run(graph: StepGraph, scheduler: str, **options: Any) -> Any:
    if scheduler == "asyncio":
        return asyncio.run(arun(graph, **options))
    return run(graph, scheduler=scheduler, **options)


@pytest.mark.parametrize("scheduler", ["threads", "asyncio"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=faulty_dags())
def test_retried_faults_leave_the_values_of_a_fault_free_run(scheduler: str, specs: Any) -> None:
    expected = dict(_run(_graph(specs, faulty=False), scheduler))
    result = _run(_graph(specs, faulty=True), scheduler)
    assert dict(result) == expected
    for attempt in result.attempts:
        if attempt.outcome != "succeeded":
            assert attempt.attempt == 1


def _failing_graph(specs: list[tuple[tuple[int, ...], bool]]) -> StepGraph:
    def make(i: int, fails: bool) -> Any:
        def action(*args: int) -> int:
            if fails:
                raise RuntimeError(f"s{i} broke")
            return _value(i, args)

        return action

    return StepGraph(
        Step(f"s{i}", make(i, fails), [f"s{d}" for d in deps])
        for i, (deps, fails) in enumerate(specs)
    )


@st.composite
def failing_dags(draw: st.DrawFn) -> list[tuple[tuple[int, ...], bool]]:
    size = draw(st.integers(2, 20))
    specs = []
    for i in range(size):
        deps = tuple(draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True))) if i else ()
        specs.append((deps, draw(st.booleans()) and draw(st.booleans())))
    return specs


@pytest.mark.parametrize("scheduler", ["threads", "asyncio"])
@settings(max_examples=100, deadline=None)
@given(specs=failing_dags())
def test_fail_fast_starts_nothing_after_the_failure(scheduler: str, specs: Any) -> None:
    events: list[StepEvent] = []
    lock = threading.Lock()

    def record(event: StepEvent) -> None:
        with lock:
            events.append(event)

    graph = _failing_graph(specs)
    try:
        _run(graph, scheduler, on_event=record)
    except StepFailedError as error:
        failed_at = next(k for k, e in enumerate(events) if e.kind is EventKind.FAILED)
        assert events[failed_at].step == error.step
        assert not any(e.kind is EventKind.STARTED for e in events[failed_at:])
        statuses = error.result.status.values()
        assert all(s.done for s in statuses)
        assert list(error.result.status.values()).count(StepStatus.FAILED) == 1
    else:
        assert not any(fails for _, fails in specs)


@pytest.mark.parametrize("scheduler", ["threads", "asyncio"])
@settings(max_examples=100, deadline=None)
@given(specs=failing_dags())
def test_keep_going_skips_exactly_the_descendants_of_failures(scheduler: str, specs: Any) -> None:
    graph = _failing_graph(specs)
    result = _run(graph, scheduler, fail_fast=False)
    dag = graph.to_networkx()
    failed = {f"s{i}" for i, (_, fails) in enumerate(specs) if fails}
    # a failing step whose ancestor failed is skipped before it can run
    ran_and_failed = {s for s in failed if not (nx.ancestors(dag, s) & failed)}
    doomed = (
        set().union(*(nx.descendants(dag, s) for s in ran_and_failed)) if ran_and_failed else set()
    )
    for name in graph:
        status = result.status[name]
        if name in ran_and_failed:
            assert status is StepStatus.FAILED
        elif name in doomed:
            assert status is StepStatus.SKIPPED
        else:
            assert status is StepStatus.SUCCEEDED
