"""No recursion limits: a 20,000-step chain on every scheduler and a 100,000-step
random DAG, at Python's default recursion limit, leaving no process-wide state
changed."""

from __future__ import annotations

import asyncio
import functools
import gc
import random
import sys

import pytest

from rxsteps import Step, StepGraph, arun, run
from tests.support import make_scheduler


def _increment(x: int) -> int:
    return x + 1


def _one() -> int:
    return 1


def _total(*xs: int) -> int:
    return sum(xs) % 1_000_003


def test_20000_step_chain(execute):
    limit, gc_enabled = sys.getrecursionlimit(), gc.isenabled()
    steps = [Step("c0", _one)] + [
        Step(f"c{i}", _increment, [f"c{i - 1}"]) for i in range(1, 20_000)
    ]
    outcome = execute(StepGraph(steps))
    assert outcome.error is None
    assert outcome.result["c19999"] == 20_000
    assert sys.getrecursionlimit() == limit and gc.isenabled() == gc_enabled


def _random_dag(n: int, width: int = 50, seed: int = 7) -> tuple[list[Step], dict[str, int]]:
    rnd = random.Random(seed)
    steps: list[Step] = []
    values: dict[str, int] = {}
    for i in range(n):
        layer = i // width
        lo, hi = max(0, (layer - 2) * width), layer * width
        deps = (
            [f"s{j}" for j in rnd.sample(range(lo, hi), min(hi - lo, rnd.randint(1, 3)))]
            if hi
            else []
        )
        steps.append(Step(f"s{i}", _total if deps else _one, deps))
        values[f"s{i}"] = _total(*(values[d] for d in deps)) if deps else 1
    return steps, values


@functools.cache
def _big_graph() -> tuple[StepGraph, dict[str, int]]:
    steps, expected = _random_dag(100_000)
    return StepGraph(steps), expected


@pytest.mark.slow
def test_100000_step_random_dag(scheduler_kind):

    graph, expected = _big_graph()
    scheduler, close = make_scheduler(scheduler_kind)
    try:
        if scheduler_kind == "asyncio":
            result = asyncio.run(arun(graph))
        else:
            result = run(graph, scheduler=scheduler)
    finally:
        close()
    assert dict(result) == expected
