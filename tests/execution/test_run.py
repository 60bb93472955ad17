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
    branches = [Step(f"freed-b{i}", lambda a: a + 1, ["freed-a"]) for i in range(width)]
    return StepGraph([Step("freed-a", lambda: 1), *branches,
                      Step("freed-c", lambda *xs: sum(xs), [b.id for b in branches])])


def _ours(graph: StepGraph) -> Callable[[object], str | None]:
    """The kind of ``o`` if it belongs to a run of ``graph`` (runs that other tests
    left finishing in the background may become garbage meanwhile; they are not
    this test's)."""
    ids = set(graph.order())

    def kind(o: object) -> str | None:
        name = type(o).__qualname__
        if name == "Run" and getattr(o, "graph", None) is graph:
            return name
        if name in ("Node", "Attempt") and getattr(o, "id", getattr(o, "step", None)) in ids:
            return name
        return None

    return kind


@pytest.fixture
def cyclic_garbage() -> Iterator[Callable[[StepGraph], Counter[str]]]:
    """The kinds of cyclic garbage from runs of a graph, made since the last count."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)

    def count(graph: StepGraph) -> Counter[str]:
        gc.collect()
        kind = _ours(graph)
        found = Counter(k for o in gc.garbage if (k := kind(o)) is not None)
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
    start: Callable[[StepGraph], Any],
    cyclic_garbage: Callable[[StepGraph], Counter[str]],
) -> None:
    graph = _diamond(20)
    start(graph)  # warm: first-use caches (pools, loops) are not the run's
    cyclic_garbage(graph)
    result = start(graph)
    assert result["freed-c"] == 40
    del result
    garbage = cyclic_garbage(graph)
    assert (garbage["Run"], garbage["Node"], garbage["Attempt"]) == (0, 0, 0), garbage
