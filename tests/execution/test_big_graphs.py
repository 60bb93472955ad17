"""100,000-step graphs: build, validate and run in linear time and bounded memory.

The graphs are random DAGs: step ``s<i>`` depends on up to three earlier steps among
the previous thousand, and its value is its depth (the longest chain of steps ending
at it), which a plain loop over the dependency lists recomputes independently.
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc

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


def test_validation_time_grows_linearly() -> None:
    # 4x the steps: ~4x the time if linear (measured 4.5-5.5x: bigger tables miss the
    # caches more), 16x if quadratic. The collector is paused while timing: its full
    # passes scale with the whole heap, not with the work measured.
    deps = random_dependencies(STEPS, seed=11)
    small, large = steps_for(deps[: STEPS // 4]), steps_for(deps)
    gc.disable()
    try:
        ratio = _best_validate(large, 3) / _best_validate(small, 3)
    finally:
        gc.enable()
    assert ratio < 10, f"4x the steps took {ratio:.1f}x as long to validate"


def _best_validate(steps: list[Step], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        graph = StepGraph()
        for step in steps:
            graph.add(step)
        started = time.perf_counter()
        graph.validate()
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.slow
def test_a_100k_step_chain_runs_without_recursion() -> None:
    graph = StepGraph(
        [Step("s0", depth)] + [Step(f"s{i}", depth, [f"s{i - 1}"]) for i in range(1, STEPS)]
    )
    assert run(graph)[f"s{STEPS - 1}"] == STEPS
