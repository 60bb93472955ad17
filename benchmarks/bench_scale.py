"""Big graphs and processes (issues 5 and 12): cycle detection, CPU-bound steps.

1. **Cycles** (a section of ``python -m benchmarks``, ``--only cycles``): the time to
   reject, as :class:`rxsteps.CycleError`, a 100,000-step chain with a 10-step cycle in
   the middle, and a 1,000-step chain whose root is a 2-cycle; the ``Step`` objects are
   built first, ``StepGraph(steps)`` is timed. ``dask.get`` on the same graph (it raises
   "Cycle detected") for comparison. Each in its own child with a hard deadline: a
   search that does not answer is reported as "timed out after N s". Up to 3 runs
   (fewer when one takes seconds), the median.
2. **CPU-bound steps** and **validation scaling** (``.venv/bin/python -m
   benchmarks.bench_scale``): ``--cpu-steps`` independent steps (default 16), each a
   pure Python loop of about ``--cpu-ms`` (50) milliseconds, plus a sink: sequentially,
   on rxsteps ``"threads"`` (the GIL serialises them), on
   ``ProcessPoolExecutor(os.cpu_count())`` (spawned workers, warmed up), and through
   that pool's ``map`` without rxsteps (what the cores allow); median of ``--reps``.
   Then a seeded random DAG of ``--steps`` steps: create, add, validate and run, and
   validation alone at a tenth, a quarter, half and all of it (best of 3, collector
   paused): a linear pass takes ~10× as long on 10× the steps, a quadratic one ~100×.

Example:
    >>> record = cycle("root-2cycle-1k", "rxsteps", seed=1, quick=True)
    >>> sorted(set(record["cycle"])), len(record["cycle"]), record["steps"]
    (['c0', 'c1'], 3, 100)
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

from benchmarks.child import Context
from benchmarks.errors import BenchmarkError, Unavailable
from benchmarks.report import cell, markdown
from benchmarks.timing import best_of, median_of
from rxsteps import CycleError, Step, StepGraph, run

__all__ = ["TASKS", "cycle", "cycle_graph", "main"]

MODULE = "benchmarks.bench_scale"
CYCLE_CASES: dict[str, tuple[int, int, str]] = {  # name -> (steps, quick steps, what)
    "middle-100k": (100_000, 2_000, "a chain with a 10-step cycle in the middle"),
    "root-2cycle-1k": (1_000, 100, "a chain whose root is a 2-cycle"),
}
CYCLE_DEADLINE_S, QUICK_CYCLE_DEADLINE_S = 30.0, 20.0
CYCLE_BUDGET_S = 5.0  # stop repeating once the runs took this long


# -- cycles -------------------------------------------------------------------------------


def cycle_graph(case: str, n: int) -> dict[str, list[str]]:
    """Step id -> dependencies of the named cyclic case, in listing order."""
    deps = {f"c{i}": [f"c{i - 1}"] if i else [] for i in range(n)}
    if case == "middle-100k":
        middle = n // 2
        deps[f"c{middle}"].append(f"c{middle + 9}")  # c(m) -> ... -> c(m+9) -> c(m)
    else:
        deps["c0"].append("c1")  # c0 <-> c1
    return deps


def _first(x: int, *rest: int) -> int:
    return x


def _reject_rxsteps(deps: dict[str, list[str]]) -> tuple[Callable[[], Any], list[str]]:
    steps = [Step(s, _first if d else (lambda: 0), d) for s, d in deps.items()]
    found: list[str] = []

    def reject() -> None:
        try:
            StepGraph(steps)
        except CycleError as error:
            found[:] = list(error.cycle)
            return
        raise BenchmarkError("StepGraph accepted a graph with a cycle")

    return reject, found


def _reject_dask(deps: dict[str, list[str]]) -> tuple[Callable[[], Any], list[str]]:
    try:
        from dask.local import get_sync  # what dask.get is
    except ImportError as error:
        raise Unavailable("dask is not installed") from error
    graph = {s: (_first, *d) if d else (int, 0) for s, d in deps.items()}
    last = list(deps)[-1]
    found: list[str] = []

    def reject() -> None:
        try:
            get_sync(graph, [last])
        except RuntimeError as error:
            if "Cycle detected" not in str(error):
                raise
            found[:] = [line.strip(" ->") for line in str(error).splitlines()[1:]]
            return
        raise BenchmarkError("dask.get accepted a graph with a cycle")

    return reject, found


def cycle(case: str, system: str, *, seed: int, quick: bool) -> dict[str, Any]:
    """Seconds for ``system`` (``rxsteps`` or ``dask``) to reject the cyclic ``case``."""
    full, small, _ = CYCLE_CASES[case]
    n = small if quick else full
    reject, found = (_reject_rxsteps if system == "rxsteps" else _reject_dask)(
        cycle_graph(case, n))
    samples: list[float] = []
    while len(samples) < 3 and sum(samples) < CYCLE_BUDGET_S:
        samples.append(median_of(reject, reps=1))
    return {"steps": n, "samples_s": samples, "median_s": statistics.median(samples),
            "cycle": found}


TASKS = {"cycle": cycle}


def measure_cycles(ctx: Context) -> dict[str, Any]:
    deadline = QUICK_CYCLE_DEADLINE_S if ctx.quick else CYCLE_DEADLINE_S
    return {case: {system: ctx.spawn(MODULE, "cycle", deadline_s=deadline, case=case,
                                     system=system) for system in ("rxsteps", "dask")}
            for case in CYCLE_CASES}


def render_cycles(out: dict[str, Any]) -> str:
    def seconds(r: dict[str, Any]) -> str:
        return f"{r['median_s']:.3f} s (cycle of {len(r['cycle']) - 1})"

    rows = []
    for case, records in out.items():
        steps = next((r["steps"] for r in records.values() if "steps" in r),
                     CYCLE_CASES[case][0])
        rows.append([f"{steps:,} steps, {CYCLE_CASES[case][2]}",
                     cell(records["rxsteps"], seconds), cell(records["dask"], seconds)])
    return ("### Cycle detection: time to reject (target < 0.2 s for 100,000 steps)\n\n"
            + markdown(["graph", "rxsteps `StepGraph(steps)` → `CycleError`",
                        "`dask.get` → \"Cycle detected\""], rows))

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


def bench_cpu(steps: int, milliseconds: float, reps: int) -> None:
    rounds = calibrate(milliseconds)
    graph = cpu_graph(steps, rounds)
    want = steps * spin(rounds)
    workers = os.cpu_count() or 1
    rows = [("sequential loop", median_of(lambda: [spin(rounds) for _ in range(steps)], reps=reps))]
    assert run(graph)["total"] == want
    rows.append(('rxsteps "threads"', median_of(lambda: run(graph), reps=reps)))
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
        assert run(graph, scheduler=pool)["total"] == want  # warm-up: start the workers
        rows.append((f"rxsteps ProcessPoolExecutor({workers})",
                     median_of(lambda: run(graph, scheduler=pool), reps=reps)))
        rows.append((f"ProcessPoolExecutor({workers}).map, no rxsteps",
                     median_of(lambda: list(pool.map(spin, [rounds] * steps)), reps=reps)))
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
    """The best of ``reps`` first validations of fresh graphs (adding them is untimed)."""
    steps = [Step(f"s{i}", depth, [f"s{j}" for j in d]) for i, d in enumerate(deps)]
    graphs = []
    for _ in range(reps):
        graph = StepGraph()
        for step in steps:
            graph.add(step)
        graphs.append(graph)
    fresh = iter(graphs)
    return best_of(lambda: next(fresh).validate(), reps=reps)


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
