"""Scaling out and up (GitHub issue 5): CPU-bound steps on a process pool, and
100,000-step graphs.

Run from the repository root::

    .venv/bin/python benchmarks/bench_scale.py
    .venv/bin/python benchmarks/bench_scale.py --steps 200000 --cpu-steps 32

Two tables:

1. **CPU-bound steps.** ``--cpu-steps`` independent steps (default 16), each a pure
   Python loop calibrated to take about ``--cpu-ms`` (50) milliseconds, plus a sink
   adding their results. Run sequentially in a plain loop, on rxsteps ``"threads"``
   (the GIL serialises them), on ``ProcessPoolExecutor(os.cpu_count())`` (spawned
   workers, warmed up by one untimed run), and, for reference, the same loops through
   that pool's ``map`` without rxsteps (what the cores allow). Median of ``--reps`` runs.
2. **Big graphs.** A seeded random DAG (step ``i`` depends on up to three of the
   previous thousand; its value is its depth): the time to create the steps, add them
   to a graph, validate it, and run it on ``"threads"``; then the ``tracemalloc`` peak
   of doing all of it once more, per step. Validation alone is also timed at a tenth,
   a quarter and half the size, with the collector paused: a linear pass takes ~10× as
   long on 10× the steps, a quadratic one ~100×.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from rxsteps import Step, StepGraph, run

# -- CPU-bound steps ----------------------------------------------------------------------


def spin(rounds: int) -> int:
    """A pure-Python loop: holds the GIL for its whole duration."""
    acc = 0
    for i in range(rounds):
        acc = (acc + i * i) % 1_000_003
    return acc


class Spin:
    """``spin(rounds)`` as a picklable step action with no dependencies."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds

    def __call__(self) -> int:
        return spin(self.rounds)


def add_all(*values: int) -> int:
    return sum(values)


def calibrate(milliseconds: float) -> int:
    """Loop rounds that take ``milliseconds`` here (the best of five timings)."""
    rounds = 200_000
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        spin(rounds)
        best = min(best, time.perf_counter() - started)
    return int(rounds * milliseconds / 1e3 / best)


def cpu_graph(steps: int, rounds: int) -> StepGraph:
    spins = [Step(f"spin{i}", Spin(rounds)) for i in range(steps)]
    return StepGraph([*spins, Step("total", add_all, [s.id for s in spins])])


def median_time(fn: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_cpu(steps: int, milliseconds: float, reps: int) -> None:
    rounds = calibrate(milliseconds)
    graph = cpu_graph(steps, rounds)
    want = steps * spin(rounds)
    workers = os.cpu_count() or 1
    rows = [("sequential loop", median_time(lambda: [spin(rounds) for _ in range(steps)], reps))]
    assert run(graph)["total"] == want
    rows.append(('rxsteps "threads"', median_time(lambda: run(graph), reps)))
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
        assert run(graph, scheduler=pool)["total"] == want  # warm-up: start the workers
        rows.append((f"rxsteps ProcessPoolExecutor({workers})",
                     median_time(lambda: run(graph, scheduler=pool), reps)))
        rows.append((f"ProcessPoolExecutor({workers}).map, no rxsteps",
                     median_time(lambda: list(pool.map(spin, [rounds] * steps)), reps)))
    threads = rows[1][1]
    print(f"\n{steps} steps of ~{milliseconds:g} ms of pure Python each, {workers} cores\n")
    print("| system | wall (s) | speed-up vs threads |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {threads / seconds:.2f}× |")


# -- big graphs ---------------------------------------------------------------------------


def depth(*values: int) -> int:
    return max(values, default=0) + 1


def random_dependencies(count: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    deps: list[list[int]] = []
    for i in range(count):
        low = max(0, i - 1000)
        deps.append(rng.sample(range(low, i), min(rng.randint(0, 3), i - low)))
    return deps


def phases(deps: list[list[int]]) -> tuple[dict[str, float], int]:
    """Seconds per phase, and the number of steps the run produced a value for."""
    times: dict[str, float] = {}
    started = time.perf_counter()
    steps = [Step(f"s{i}", depth, [f"s{j}" for j in d]) for i, d in enumerate(deps)]
    times["create steps"] = time.perf_counter() - started
    started = time.perf_counter()
    graph = StepGraph()
    for step in steps:
        graph.add(step)
    times["add to graph"] = time.perf_counter() - started
    started = time.perf_counter()
    graph.validate()
    times["validate"] = time.perf_counter() - started
    started = time.perf_counter()
    result = run(graph)
    times["run (threads)"] = time.perf_counter() - started
    return times, len(result)


def validate_seconds(deps: list[list[int]], reps: int = 3) -> float:
    steps = [Step(f"s{i}", depth, [f"s{j}" for j in d]) for i, d in enumerate(deps)]
    best = float("inf")
    for _ in range(reps):
        graph = StepGraph()
        for step in steps:
            graph.add(step)
        started = time.perf_counter()
        graph.validate()
        best = min(best, time.perf_counter() - started)
    return best


def bench_big(n: int, seed: int) -> None:
    deps = random_dependencies(n, seed)
    edges = sum(map(len, deps))
    times, produced = phases(deps)
    assert produced == n
    tracemalloc.start()
    phases(deps)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    sizes = [n // 10, n // 4, n // 2, n]
    gc.disable()  # full collections scale with the heap, not with the work timed
    try:
        validation = {size: validate_seconds(deps[:size]) for size in sizes}
    finally:
        gc.enable()
    print(f"\nRandom DAG: {n:,} steps, {edges:,} edges\n")
    print("| phase | seconds | µs / step |")
    print("|---|---:|---:|")
    for name, seconds in times.items():
        print(f"| {name} | {seconds:.2f} | {seconds / n * 1e6:.1f} |")
    total = sum(times.values())
    print(f"| total | {total:.2f} | {total / n * 1e6:.1f} |")
    print(f"\ntracemalloc peak of all phases: {peak / 2**20:.0f} MiB, "
          f"{peak / n:,.0f} bytes per step")
    print("\nValidation alone (best of 3, collector paused):\n")
    print("| steps | seconds | µs / step | × the smallest |")
    print("|---:|---:|---:|---:|")
    for size, seconds in validation.items():
        ratio = seconds / validation[sizes[0]]
        print(f"| {size:,} | {seconds:.3f} | {seconds / size * 1e6:.2f} | {ratio:.1f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu-steps", type=int, default=16)
    parser.add_argument("--cpu-ms", type=float, default=50.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    bench_cpu(args.cpu_steps, args.cpu_ms, args.reps)
    bench_big(args.steps, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
