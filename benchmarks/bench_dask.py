"""rxsteps on a Dask cluster against Dask itself, on the same graphs (GitHub issue 5).

Run from the repository root::

    .venv/bin/python benchmarks/bench_dask.py            # 500 and 2,000 tasks
    .venv/bin/python benchmarks/bench_dask.py --sizes 1000 --reps 5

One ``LocalCluster(n_workers=2, processes=True, threads_per_worker=1)`` serves every
system. The graphs are seeded random DAGs of no-op tasks: task ``i`` depends on up to
three of the previous 50 and returns ``combine(salt, *values)``, so values flow along
every edge and a wrong, missing or reordered argument changes the result; every run's
values are checked against a plain sequential evaluation.

Systems, each returning every task's value to the client:

- ``dask compute``: ``client.compute`` of ``dask.delayed`` objects (the whole graph goes
  to the scheduler at once), then one gather;
- ``client.submit``: one ``client.submit`` per task, all at once, in topological order,
  with the dependencies' futures as arguments, then one ``client.gather``;
- ``rxsteps``: ``run(graph, scheduler=client)`` (``gather="result"``): each task is
  submitted when its dependencies have finished, from their done-callbacks, and the
  result is gathered once at the end.

Reported: the median wall time of ``--reps`` runs after one warm-up, the time per task,
and the ratio to ``dask compute``. Graph definitions (delayed objects, the StepGraph)
are built once, outside the timing.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import dask
from distributed import Client, LocalCluster

from rxsteps import Step, StepGraph, run

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


def dask_compute(dag: Dag, client: Client) -> Callable[[], list[int]]:
    nodes: list[Any] = []
    for salt, deps in dag:
        nodes.append(dask.delayed(combine, pure=False)(salt, *(nodes[j] for j in deps)))

    def runner() -> list[int]:
        return list(client.gather(client.compute(nodes)))

    return runner


def client_submit(dag: Dag, client: Client) -> Callable[[], list[int]]:
    def runner() -> list[int]:
        futures: list[Any] = []
        for salt, deps in dag:
            futures.append(client.submit(combine, salt, *(futures[j] for j in deps), pure=False))
        return list(client.gather(futures))

    return runner


def rxsteps_dask(dag: Dag, client: Client) -> Callable[[], list[int]]:
    graph = StepGraph([
        Step(f"t{i}", partial(combine, salt), [f"t{j}" for j in deps])
        for i, (salt, deps) in enumerate(dag)
    ])

    def runner() -> list[int]:
        result = run(graph, scheduler=client)
        return [result[f"t{i}"] for i in range(len(dag))]

    return runner


SYSTEMS: Mapping[str, Callable[[Dag, Client], Callable[[], list[int]]]] = {
    "dask compute": dask_compute,
    "client.submit": client_submit,
    "rxsteps": rxsteps_dask,
}


def measure(runner: Callable[[], list[int]], want: list[int], reps: int) -> float:
    times = []
    for rep in range(reps + 1):
        started = time.perf_counter()
        values = runner()
        elapsed = time.perf_counter() - started
        if values != want:
            raise AssertionError("wrong values")
        if rep:  # the first run warms up workers and caches
            times.append(elapsed)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rows = []
    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
        silence_logs=logging.CRITICAL,
    ) as cluster, Client(cluster) as client:
        for n in args.sizes:
            dag = random_dag(n, args.seed)
            want = expected(dag)
            base = None
            for name, define in SYSTEMS.items():
                seconds = measure(define(dag, client), want, args.reps)
                base = base or seconds
                rows.append((n, name, seconds, seconds / n * 1e3, seconds / base))
    print("| tasks | system | wall (s) | ms / task | × dask compute |")
    print("|---:|---|---:|---:|---:|")
    for n, name, seconds, per_task, ratio in rows:
        print(f"| {n:,} | {name} | {seconds:.3f} | {per_task:.2f} | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
