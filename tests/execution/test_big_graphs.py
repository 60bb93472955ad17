"""100,000-step graphs: build, validate and run in linear time and bounded memory.

The graphs are random DAGs: step ``s<i>`` depends on up to three earlier steps among
the previous thousand, and its value is its depth (the longest chain of steps ending
at it), which a plain loop over the dependency lists recomputes independently.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import tracemalloc
from typing import Any

import pytest

from rxsteps import Step, StepGraph, run

STEPS = 100_000
BYTES_PER_STEP = 4096  # measured ~2,000: steps, graph, networkx view, run state, result
WINDOW = 1000


def depth(*values: int) -> int:
    return max(values, default=0) + 1


def random_dependencies(count: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    deps: list[list[int]] = []
    for i in range(count):
        low = max(0, i - WINDOW)
        deps.append(rng.sample(range(low, i), min(rng.randint(0, 3), i - low)))
    return deps


def steps_for(deps: list[list[int]]) -> list[Step]:
    return [Step(f"s{i}", depth, [f"s{j}" for j in d]) for i, d in enumerate(deps)]


def expected_depths(deps: list[list[int]]) -> list[int]:
    values: list[int] = []
    for d in deps:
        values.append(max((values[j] for j in d), default=0) + 1)
    return values


@pytest.mark.slow
def test_a_100k_step_graph_builds_validates_and_runs_in_bounded_memory() -> None:
    deps = random_dependencies(STEPS, seed=5)
    tracemalloc.start()
    try:
        started = time.perf_counter()
        graph = StepGraph()
        for step in steps_for(deps):
            graph.add(step)
        built = time.perf_counter()
        graph.validate()
        validated = time.perf_counter()
        result = run(graph)
        ran = time.perf_counter()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # generous: tracemalloc slows allocation several times (~4 s, 8 s, 8 s here)
    assert built - started < 60
    assert validated - built < 60
    assert ran - validated < 90
    assert peak / STEPS < BYTES_PER_STEP, f"{peak / STEPS:.0f} bytes per step"
    assert result.ok and len(result) == STEPS
    want = expected_depths(deps)
    for i in random.Random(7).sample(range(STEPS), 1000):
        assert result[f"s{i}"] == want[i]
    assert result["s99999"] == want[-1]


@pytest.mark.slow
def test_validation_work_grows_linearly() -> None:
    # 4x the steps: 4x the work if linear, 16x if quadratic. Work is counted, not
    # timed: the Python and C calls validate() makes (4.0x, the same on every machine),
    # where a timing ratio on a loaded machine varied from 4.5x to 13x.
    deps = random_dependencies(STEPS, seed=11)
    small, large = steps_for(deps[: STEPS // 4]), steps_for(deps)
    ratio = _calls_to_validate(large) / _calls_to_validate(small)
    assert ratio <= 5, f"4x the steps took {ratio:.1f}x the calls to validate"


@pytest.mark.slow
def test_validation_time_grows_linearly() -> None:
    # Time catches quadratic work inside builtins, which counting calls cannot see.
    # Measured in turns, small then large, so load on the machine weighs on both, and
    # the best of five of each is compared against a generous bound: linear is ~4-5.5x
    # (bigger tables miss the caches more), quadratic 16x. The collector is paused
    # while timing: its full passes scale with the whole heap, not with the work.
    deps = random_dependencies(STEPS, seed=11)
    small, large = steps_for(deps[: STEPS // 4]), steps_for(deps)
    gc.disable()
    try:
        times: dict[int, list[float]] = {len(small): [], len(large): []}
        for _ in range(5):
            for steps in (small, large):
                times[len(steps)].append(_time_to_validate(steps))
    finally:
        gc.enable()
    ratio = min(times[len(large)]) / min(times[len(small)])
    assert ratio <= 12, f"4x the steps took {ratio:.1f}x as long to validate"


def _unvalidated(steps: list[Step]) -> StepGraph:
    graph = StepGraph()
    for step in steps:
        graph.add(step)
    return graph


def _calls_to_validate(steps: list[Step]) -> int:
    graph = _unvalidated(steps)
    calls = 0

    def count(_frame: Any, event: str, _arg: Any) -> None:
        nonlocal calls
        calls += event in ("call", "c_call")

    sys.setprofile(count)
    try:
        graph.validate()
    finally:
        sys.setprofile(None)
    return calls


def _time_to_validate(steps: list[Step]) -> float:
    graph = _unvalidated(steps)
    started = time.perf_counter()
    graph.validate()
    return time.perf_counter() - started


@pytest.mark.slow
def test_a_100k_step_chain_runs_without_recursion() -> None:
    graph = StepGraph(
        [Step("s0", depth)] + [Step(f"s{i}", depth, [f"s{i - 1}"]) for i in range(1, STEPS)]
    )
    assert run(graph)[f"s{STEPS - 1}"] == STEPS
