"""A short soak in CI (the long one is ``benchmarks/soak.py``): consecutive runs of a
50-step graph leave threads, file descriptors and traced memory flat."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import tracemalloc
from collections.abc import Callable

import pytest

from rxsteps import Step, StepGraph, arun, run


def graph_50() -> StepGraph:
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    steps = [Step("s0", lambda: 0)]
    for i in range(1, 50):
        deps = [f"s{i - 1}"] + ([f"s{i // 2}"] if i > 2 else [])
        action = fetch if i % 7 == 0 and len(deps) == 1 else (lambda *xs: sum(xs) % 9973)
        steps.append(Step(f"s{i}", action, deps))
    return StepGraph(steps)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def soak(runs: int, once: Callable[[], object]) -> dict[str, float]:
    """Run ``once`` ``runs`` times; the growth of threads, fds and traced memory
    between the first tenth and the end."""
    warmup = max(1, runs // 10)
    tracemalloc.start()  # before the warm-up, so one-time caches count as baseline
    for _ in range(warmup):
        once()
    gc.collect()
    threads, fds = threading.active_count(), _fds()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(runs - warmup):
        once()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {
        "threads": threading.active_count() - threads,
        "fds": _fds() - fds,
        "traced_bytes": after - before,
    }


@pytest.mark.parametrize("scheduler", ["threads", "asyncio"])
def test_consecutive_runs_stay_flat(scheduler: str) -> None:
    graph = graph_50()
    expected = dict(run(graph))

    def once() -> object:
        if scheduler == "asyncio":
            result = asyncio.run(arun(graph))
        else:
            result = run(graph)
        assert dict(result) == expected
        return result

    growth = soak(600, once)
    print(f"soak {scheduler}: {growth}")
    assert growth["threads"] <= 2
    assert growth["fds"] <= 3
    assert growth["traced_bytes"] < 512 * 1024
