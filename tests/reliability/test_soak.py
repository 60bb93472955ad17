"""A short soak in CI (the long one is ``python -m benchmarks.soak``): consecutive runs
of the soak's 50-step graph (sync, coroutine and streaming steps) leave threads, file
descriptors and traced memory flat. The graph and the loop are the benchmark's own,
imported from :mod:`benchmarks.soak`."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.soak import graph_50, growth
from rxsteps import arun, run


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

    figures = growth(600, once)
    print(f"soak {scheduler}: {figures}")
    assert figures["threads"] <= 2
    assert figures["fds"] <= 3
    assert figures["traced_kib"] < 512
