"""rxsteps on a Dask cluster against Dask itself, on the same graph (issues 5 and 12).

A section of ``python -m benchmarks`` (``--only dask``). Each system runs in its own
fresh interpreter (:mod:`benchmarks.child`) with its own
``LocalCluster(n_workers=2, processes=True, threads_per_worker=1)`` (``--quick``: one
in-process worker with 2 threads, to stay within seconds). The graph is a seeded random
DAG of no-op tasks: task ``i`` depends on up to three of the previous 50 and returns
``combine(salt, *values)``, so values flow along every edge and a wrong, missing or
reordered argument changes the result; every run's values are checked against a
plain sequential evaluation. Skipped, with a note, when ``distributed`` is missing.

Systems, each building its graph inside the timing and returning every task's value:

- ``dask compute``: ``dask.delayed`` objects, ``client.compute`` of all of them (the
  whole graph goes to the scheduler at once), then one gather;
- ``client.submit``: one ``client.submit`` per task, all at once, in topological order,
  with the dependencies' futures as arguments, then one ``client.gather``;
- ``rxsteps``: ``Step`` objects, a ``StepGraph``, ``run(graph, scheduler=client)``.

Reported: the median wall time of 5 runs after one warm-up, per task, and the ratio
to ``dask compute`` (the target of issue 12 is ≤ 1.3 for rxsteps).

Example:
    >>> values = expected(random_dag(5, seed=1))
    >>> len(values)
    5
"""

from __future__ import annotations

import logging
import random
import statistics
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from benchmarks.child import Context
from benchmarks.errors import BenchmarkError, Unavailable
from benchmarks.report import cell, markdown, ratio
from benchmarks.timing import time_each

__all__ = ["SYSTEMS", "TASKS", "compute", "expected", "random_dag"]

MODULE = "benchmarks.bench_dask"
TASKS_FULL, TASKS_QUICK, REPS, WARMUP = 1_000, 30, 5, 1
DEADLINE_S = 600.0
MODULUS = (1 << 61) - 1
WINDOW = 50

Dag = list[tuple[int, list[int]]]  # per task: its salt and its dependencies


def combine(salt: int, *values: int) -> int:
    """The no-op task: a value derived from the salt and every argument, in order."""
    acc = salt
    for value in values:
        acc = (acc * 1_000_003 + value) % MODULUS
    return acc


def random_dag(n: int, seed: int) -> Dag:
    rng = random.Random(seed)
    dag: Dag = []
    for i in range(n):
        low = max(0, i - WINDOW)
        deps = rng.sample(range(low, i), min(rng.randint(1, 3), i - low))
        dag.append((rng.randrange(MODULUS), deps))
    return dag


def expected(dag: Dag) -> list[int]:
    values: list[int] = []
    for salt, deps in dag:
        values.append(combine(salt, *(values[j] for j in deps)))
    return values


def dask_compute(dag: Dag, client: Any) -> Callable[[], list[int]]:
    from dask.delayed import delayed

    def runner() -> list[int]:
        nodes: list[Any] = []
        for salt, deps in dag:
            nodes.append(delayed(combine, pure=False)(salt, *(nodes[j] for j in deps)))
        return list(client.gather(client.compute(nodes)))

    return runner


def client_submit(dag: Dag, client: Any) -> Callable[[], list[int]]:
    def runner() -> list[int]:
        futures: list[Any] = []
        for salt, deps in dag:
            futures.append(client.submit(combine, salt, *(futures[j] for j in deps), pure=False))
        return list(client.gather(futures))

    return runner


def rxsteps_dask(dag: Dag, client: Any) -> Callable[[], list[int]]:
    from rxsteps import Step, StepGraph, run

    def runner() -> list[int]:
        graph = StepGraph([
            Step(f"t{i}", partial(combine, salt), [f"t{j}" for j in deps])
            for i, (salt, deps) in enumerate(dag)
        ])
        result = run(graph, scheduler=client)
        return [result[f"t{i}"] for i in range(len(dag))]

    return runner


#: key -> (table name, how to make a runner on a client)
SYSTEMS: Mapping[str, tuple[str, Callable[[Dag, Any], Callable[[], list[int]]]]] = {
    "compute": ("`client.compute` of `dask.delayed`", dask_compute),
    "submit": ("one `client.submit` per task", client_submit),
    "rxsteps": ("rxsteps, `run(graph, scheduler=client)`", rxsteps_dask),
}


def compute(system: str, *, n: int, reps: int, warmup: int, seed: int,
            quick: bool) -> dict[str, Any]:
    """Start a cluster, time ``reps`` verified runs of ``system`` on ``n`` tasks."""
    try:
        import distributed
    except ImportError as error:
        raise Unavailable("distributed is not installed (pip install 'dask[distributed]')"
                          ) from error
    dag = random_dag(n, seed)
    want = expected(dag)

    def check(values: list[int]) -> None:
        if values != want:
            raise BenchmarkError(f"{system} on dask: wrong values")

    workers = {"n_workers": 1, "threads_per_worker": 2, "processes": False} if quick else {
        "n_workers": 2, "threads_per_worker": 1, "processes": True}
    cluster_type: Any = distributed.LocalCluster  # untyped
    client_type: Any = distributed.Client
    with cluster_type(dashboard_address=None, silence_logs=logging.CRITICAL,
                      **workers) as cluster, client_type(cluster) as client:
        samples = time_each(SYSTEMS[system][1](dag, client), reps=reps, warmup=warmup,
                            check=check)
    return {"tasks": n, "cluster": workers, "samples_s": samples,
            "median_s": statistics.median(samples)}


TASKS = {"compute": compute}


def measure(ctx: Context) -> dict[str, Any]:
    n, reps, warmup = (TASKS_QUICK, 1, 0) if ctx.quick else (TASKS_FULL, REPS, WARMUP)
    return {s: ctx.spawn(MODULE, "compute", deadline_s=DEADLINE_S, system=s, n=n, reps=reps,
                         warmup=warmup) for s in SYSTEMS}


def render(out: dict[str, Any]) -> str:
    def median(r: dict[str, Any]) -> float | None:
        return float(r["median_s"]) if r.get("status") == "ok" else None

    base = median(out["compute"])
    rows = [[name, cell(out[key], lambda r: f"{r['median_s']:.3f}"),
             cell(out[key], lambda r: f"{r['median_s'] / r['tasks'] * 1e3:.2f}"),
             ratio(median(out[key]), base)] for key, (name, _) in SYSTEMS.items()]
    some: dict[str, Any] = next((r for r in out.values() if r.get("status") == "ok"), {})
    cluster = some.get("cluster", {})
    return (f"### Dask: {some.get('tasks', 0):,} no-op tasks on a LocalCluster ({cluster}; "
            f"median of {len(some.get('samples_s', []))}, graph construction included)\n\n"
            + markdown(["system", "wall s", "ms/task", "÷ dask compute (target ≤ 1.3)"], rows))
