"""Fault injection on remote schedulers: a process pool and a real Dask cluster.

Steps of random DAGs fail transiently (the first call of a faulty step raises, decided
by a marker file, so it holds across processes); with retries the values equal those
of a fault-free run. Under keep-going, exactly the descendants of permanently failing
steps are skipped.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from distributed import Client, LocalCluster

from rxsteps import Retry, Step, StepGraph, StepStatus, run


def _step(i: int, marker: str | None, permanent: bool, *args: int) -> int:
    if permanent:
        raise RuntimeError(f"s{i} is down")
    if marker is not None and not os.path.exists(marker):
        Path(marker).touch()
        raise ConnectionError(f"s{i} flaked")
    return (i * 31 + sum(args)) % 100_003


def _random_graph(seed: int, folder: Path | None, permanent: set[int] = frozenset()) -> StepGraph:
    rnd = random.Random(seed)
    steps = []
    for i in range(12):
        deps = [f"s{d}" for d in rnd.sample(range(i), min(i, rnd.randint(0, 3)))]
        faulty = rnd.random() < 0.4 and folder is not None  # same draws either way
        marker = str(folder / f"s{i}") if faulty else None
        action = partial(_step, i, marker, i in permanent)
        steps.append(Step(f"s{i}", action, deps, retry=Retry(attempts=2, backoff=0)))
    return StepGraph(steps)


@pytest.fixture(scope="module")
def process_pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(params=["process-pool", "dask"])
def remote(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(
        "process_pool" if request.param == "process-pool" else "dask_client"
    )


@pytest.mark.parametrize("seed", range(6))
def test_transient_faults_leave_the_fault_free_values(
    remote: Any, seed: int, tmp_path: Path
) -> None:
    expected = dict(run(_random_graph(seed, None)))
    result = run(_random_graph(seed, tmp_path), scheduler=remote)
    assert dict(result) == expected
    retried = {a.step for a in result.attempts if a.outcome == "failed"}
    assert retried == {p.name for p in tmp_path.iterdir()}


@pytest.mark.parametrize("seed", range(3))
def test_keep_going_skips_exactly_the_descendants(remote: Any, seed: int) -> None:
    permanent = {2, 5}
    graph = _random_graph(seed, None, permanent)
    result = run(graph, scheduler=remote, fail_fast=False)
    dag = graph.to_networkx()
    failed = {f"s{i}" for i in permanent}
    ran_and_failed = {s for s in failed if not (nx.ancestors(dag, s) & failed)}
    doomed = set().union(*(nx.descendants(dag, s) for s in ran_and_failed))
    for name in graph:
        if name in ran_and_failed:
            assert result.status[name] is StepStatus.FAILED
        elif name in doomed:
            assert result.status[name] is StepStatus.SKIPPED
        else:
            assert result.status[name] is StepStatus.SUCCEEDED
