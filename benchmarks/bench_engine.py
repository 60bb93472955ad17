"""The engine, end to end: µs per step with graph construction included, build cost,
peak RSS and makespan (issue 12).

Every system runs the same seeded DAGs of :mod:`benchmarks.workloads` in its own fresh
interpreter (:mod:`benchmarks.child`), and every run's values (warm-ups included) are
checked against a plain sequential evaluation: a mismatch fails with
:class:`~benchmarks.errors.BenchmarkError`.

- ``engine``: 10,000 no-op steps with 1–3 seeded dependencies (``noop-10k``), a
  5,000-step chain (``chain-5k``), a 10,000-wide fan (``fan-10k``). One run is timed
  from the plain description to the values, so each system builds its structures
  inside the timing (the ``TopologicalSorter``, the tasks, the ``Step`` objects and
  the ``StepGraph``); median of 5 after 1 warm-up. Ratios: rxsteps threads ÷ graphlib,
  rxsteps asyncio ÷ asyncio tasks. The peak RSS of each ``noop-10k`` child, and its
  ratio to graphlib's.
- ``build``: rxsteps alone on ``noop-10k``: creating the ``Step`` objects, then
  ``StepGraph(steps)`` (which adds and validates), then a second ``validate()`` (the
  cached one), and a run of the prebuilt graph; medians of 5, µs per step.
- ``makespan``: 200 steps sleeping 1–120 ms each: makespan ÷ critical path (the longest
  chain of planned sleeps), median of 5, on threads.

Run from a clone: ``.venv/bin/python -m benchmarks --only engine --only build``.

Example:
    >>> record = e2e("chain-5k", "sequential", reps=1, warmup=0, seed=1, quick=True)
    >>> record["steps"], len(record["samples_s"])
    (200, 1)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

from benchmarks.child import Context
from benchmarks.errors import BenchmarkError
from benchmarks.report import cell, markdown, ratio
from benchmarks.timing import time_each
from benchmarks.workloads import SYSTEMS, Workload, chain, fan, layered

__all__ = ["ENGINE_SYSTEMS", "TASKS", "WORKLOADS", "build", "e2e", "makespan", "verify"]

MODULE = "benchmarks.bench_engine"
DEADLINE_S = 300.0  # a child longer than this is a hang: its stacks are dumped

#: name -> (full size, quick size, how to make it)
WORKLOADS: dict[str, tuple[int, int, Callable[[int, int], Workload]]] = {
    "noop-10k": (10_000, 300, lambda n, seed: layered("noop-10k", n, width=50, seed=seed)),
    "chain-5k": (5_000, 200, lambda n, seed: chain("chain-5k", n, seed=seed)),
    "fan-10k": (10_000, 300, lambda n, seed: fan("fan-10k", n, seed=seed)),
    "sleep-200": (200, 48, lambda n, seed: layered("sleep-200", n, width=16, seed=seed,
                                                   sleep=(0.001, 0.120))),
}
ENGINE_SYSTEMS = ["graphlib", "asyncio", "rxsteps-threads", "rxsteps-asyncio", "sequential",
                  "dask-threaded"]
MAKESPAN_SYSTEMS = ["rxsteps-threads", "graphlib", "waves"]
REPS, WARMUP = 5, 1


def make(workload: str, seed: int, quick: bool) -> Workload:
    """The named workload, at its quick or full size."""
    full, small, factory = WORKLOADS[workload]
    return factory(small if quick else full, seed)


def verify(values: Mapping[str, Any], expected: Mapping[str, Any], who: str) -> None:
    """Raise :class:`BenchmarkError` unless ``values`` is exactly ``expected``."""
    wrong = [s for s, value in expected.items() if values.get(s) != value]
    if wrong or len(values) != len(expected):
        first = wrong[0] if wrong else "-"
        raise BenchmarkError(
            f"{who}: wrong values for {len(wrong)} of {len(expected)} steps "
            f"({len(values)} returned); first {first!r}: got {values.get(first)!r}, "
            f"expected {expected.get(first)!r}")


# -- tasks: these run in the child ------------------------------------------------------------


def e2e(workload: str, system: str, *, reps: int, warmup: int, seed: int,
        quick: bool) -> dict[str, Any]:
    """Time ``reps`` verified runs of ``system`` on ``workload``, construction included."""
    w = make(workload, seed, quick)
    expected = w.expected()
    runner = SYSTEMS[system].prepare(w)
    samples = time_each(runner, reps=reps, warmup=warmup,
                        check=lambda values: verify(values, expected, f"{system} on {workload}"))
    return {"steps": len(w), "samples_s": samples, "median_s": statistics.median(samples),
            "critical_path_s": w.critical_path()}


def build(*, reps: int, seed: int, quick: bool) -> dict[str, Any]:
    """rxsteps' build phases and a run of the prebuilt graph, on ``noop-10k``."""
    from rxsteps import Step, StepGraph, run

    w = make("noop-10k", seed, quick)
    expected = w.expected()
    phases: dict[str, list[float]] = {"steps": [], "graph": [], "revalidate": [], "run": []}
    for _ in range(reps):
        t0 = time.perf_counter()
        steps = [Step(s, w.actions[s], w.deps[s]) for s in w.ids]
        t1 = time.perf_counter()
        graph = StepGraph(steps)
        t2 = time.perf_counter()
        graph.validate()
        t3 = time.perf_counter()
        phases["steps"].append(t1 - t0)
        phases["graph"].append(t2 - t1)
        phases["revalidate"].append(t3 - t2)
    phases["run"] = time_each(lambda: run(graph, scheduler="threads"), reps=reps, warmup=1,
                              check=lambda values: verify(values, expected, "rxsteps run"))
    return {"steps": len(w), "samples_s": phases,
            "median_s": {k: statistics.median(v) for k, v in phases.items()}}


def makespan(system: str, *, reps: int, seed: int, quick: bool) -> dict[str, Any]:
    """Makespans of ``system`` on the sleeping DAG, and its critical path."""
    return e2e("sleep-200", system, reps=reps, warmup=0, seed=seed, quick=quick)


TASKS = {"e2e": e2e, "build": build, "makespan": makespan}


# -- sections: these run in the parent ------------------------------------------------------


def _reps(ctx: Context) -> tuple[int, int]:
    return (1, 0) if ctx.quick else (REPS, WARMUP)


def measure_engine(ctx: Context) -> dict[str, Any]:
    """Every system on every µs/step workload, one child each."""
    reps, warmup = _reps(ctx)
    out: dict[str, Any] = {"timing": f"median of {reps}" + (f" after {warmup} warm-up"
                                                            if warmup else ""), "workloads": {}}
    for workload in ("noop-10k", "chain-5k", "fan-10k"):
        out["workloads"][workload] = {
            system: ctx.spawn(MODULE, "e2e", deadline_s=DEADLINE_S, workload=workload,
                              system=system, reps=reps, warmup=warmup)
            for system in ENGINE_SYSTEMS}
    return out


def _per_step(record: dict[str, Any] | None) -> float | None:
    if record is None or record.get("status") != "ok":
        return None
    return float(record["median_s"]) / int(record["steps"]) * 1e6


def render_engine(out: dict[str, Any]) -> str:
    """The µs/step table and the peak-RSS table."""
    names = [SYSTEMS[s].name for s in ENGINE_SYSTEMS]
    rows = []
    for workload, records in out["workloads"].items():
        steps = next((r["steps"] for r in records.values() if "steps" in r), 0)
        rows.append([f"`{workload}` ({steps:,} steps), µs/step"]
                    + [cell(records[s], lambda r: f"{_per_step(r):.1f}") for s in ENGINE_SYSTEMS]
                    + [ratio(_per_step(records["rxsteps-threads"]), _per_step(records["graphlib"])),
                       ratio(_per_step(records["rxsteps-asyncio"]), _per_step(records["asyncio"]))])
    headers = ["workload", *names, "rxsteps threads ÷ graphlib", "rxsteps asyncio ÷ asyncio"]
    text = (f"### End to end, graph construction included ({out['timing']}; one fresh "
            "process per system)\n\n" + markdown(headers, rows))
    noop = out["workloads"].get("noop-10k", {})
    base = noop.get("graphlib", {}).get("peak_rss_bytes")
    rss = [[SYSTEMS[s].name, cell(noop.get(s), lambda r: f"{r['peak_rss_bytes'] / 2**20:.1f}"),
            ratio(noop.get(s, {}).get("peak_rss_bytes"), base)] for s in ENGINE_SYSTEMS]
    text += ("\n\n### Peak RSS of each system's process, `noop-10k` (the child's VmHWM: "
             "interpreter, imports and every run)\n\n"
             + markdown(["system", "peak RSS MiB", "÷ graphlib"], rss))
    return text


def measure_build(ctx: Context) -> dict[str, Any]:
    """rxsteps' build cost, in one child."""
    return ctx.spawn(MODULE, "build", deadline_s=DEADLINE_S, reps=_reps(ctx)[0])


def render_build(record: dict[str, Any]) -> str:
    """Build phases in µs per step, against the target of 2."""
    if record.get("status") != "ok":
        return "### Build cost\n\n" + cell(record, str)
    n, med = record["steps"], record["median_s"]
    us = {k: v / n * 1e6 for k, v in med.items()}
    rows = [["create the `Step` objects", f"{us['steps']:.2f}"],
            ["`StepGraph(steps)`: add + first validation", f"{us['graph']:.2f}"],
            ["**build total** (target ≤ 2)", f"**{us['steps'] + us['graph']:.2f}**"],
            ["second `validate()` (cached)", f"{us['revalidate']:.3f}"],
            ['run of the prebuilt graph, `scheduler="threads"`', f"{us['run']:.2f}"]]
    return (f"### Build cost, rxsteps on `noop-10k` ({n:,} steps; medians of "
            f"{len(record['samples_s']['steps'])})\n\n" + markdown(["phase", "µs/step"], rows))


def measure_makespan(ctx: Context) -> dict[str, Any]:
    """The sleeping DAG on threads (and the hand-written loops for reference)."""
    reps = 1 if ctx.quick else REPS
    return {system: ctx.spawn(MODULE, "makespan", deadline_s=DEADLINE_S, system=system,
                              reps=reps) for system in MAKESPAN_SYSTEMS}


def render_makespan(out: dict[str, Any]) -> str:
    """Makespan ÷ critical path per system (target ≤ 1.01 for rxsteps threads)."""
    some = next((r for r in out.values() if r.get("status") == "ok"), None)
    critical = some["critical_path_s"] if some else 0.0
    rows = [[SYSTEMS[s].name,
             cell(r, lambda r: f"{r['median_s'] * 1e3:.1f}"),
             cell(r, lambda r: f"{r['median_s'] / r['critical_path_s']:.3f}")]
            for s, r in out.items()]
    steps = some["steps"] if some else 0
    return (f"### Makespan, {steps} steps sleeping 1–120 ms (critical path "
            f"{critical * 1e3:.1f} ms; target ≤ 1.01 on threads)\n\n"
            + markdown(["system", "makespan ms", "÷ critical path"], rows))
