"""The run's lifetime: a finished run, its nodes and attempts are freed by reference
counting as soon as nobody holds the result — no cycle left for the collector."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from rxsteps import RunResult, Step, StepGraph, arun, run


def _diamond(width: int) -> StepGraph:
    branches = [Step(f"b{i}", lambda a: a + 1, ["a"]) for i in range(width)]
    return StepGraph([Step("a", lambda: 1), *branches,
                      Step("c", lambda *xs: sum(xs), [b.id for b in branches])])


@pytest.fixture
def cyclic_garbage() -> Iterator[Callable[[], Counter[str]]]:
    """The types of the cyclic garbage made since the fixture started."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)

    def count() -> Counter[str]:
        gc.collect()
        found = Counter(type(o).__qualname__ for o in gc.garbage)
        gc.garbage.clear()
        return found

    try:
        yield count
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _threads(graph: StepGraph) -> RunResult:
    return run(graph, scheduler="threads")


def _asyncio(graph: StepGraph) -> RunResult:
    return asyncio.run(arun(graph))


def _executor(graph: StepGraph) -> RunResult:
    with ThreadPoolExecutor(4) as pool:
        return run(graph, scheduler=pool)


@pytest.mark.parametrize("start", [_threads, _asyncio, _executor],
                         ids=["threads", "asyncio", "executor"])
def test_a_finished_run_leaves_no_cyclic_garbage(
    start: Callable[[StepGraph], Any], cyclic_garbage: Callable[[], Counter[str]]
) -> None:
    graph = _diamond(20)
    start(graph)  # warm: first-use caches (pools, loops) are not the run's
    cyclic_garbage()
    result = start(graph)
    assert result["c"] == 40
    del result
    garbage = cyclic_garbage()
    assert (garbage["Run"], garbage["Node"], garbage["Attempt"]) == (0, 0, 0), garbage
