"""What a durable store costs a run (issue 14): µs per step, and % of a makespan.

Two workloads of :mod:`benchmarks.bench_engine`, each in one fresh interpreter
(:mod:`benchmarks.child`) that runs the same prebuilt graph without and with
``store=`` alternately (without, with, without, with, ...), so both variants see the
same machine and the same warm pool; the first of each is a warm-up, untimed:

- ``noop-10k`` (300 steps with ``--quick``): 10,000 no-op steps; the figure is the
  median run time with a store minus the median without, per step, in µs (target
  ≤ 30 µs/step on SQLite);
- ``sleep-200`` (48 with ``--quick``): 200 steps sleeping 1–120 ms; the figure is the
  median makespan with a store ÷ the median without, as a % added (target ≤ 1 %).

The store is an SQLite file (the default store, WAL mode) in a temporary directory
made for the child, one file for all its runs, each run under a new ``run_id`` — so
every step's value, status and attempts are written, nothing is resumed, and the file
grows as a service's would. Every run's values are checked against a sequential
evaluation (:func:`benchmarks.bench_engine.verify`). Medians of 5 pairs (1 with
``--quick``), each shown with the range of the figure over the pairs (each pair's run
with a store against its run without), since the spread from run to run is as large
as the figure itself on a small shared machine; "met" judges the median.

Run from a clone: ``.venv/bin/python -m benchmarks --only store``.

Example:
    >>> record = overhead("noop-10k", reps=1, seed=1, quick=True)
    >>> record["steps"], len(record["samples_s"]["store"]), record["added_us_per_step"] > -1e6
    (300, 1, True)
"""

from __future__ import annotations

import functools
import gc
import os
import statistics
import tempfile
import time
from typing import Any

from benchmarks.bench_engine import make, verify
from benchmarks.child import Context
from benchmarks.report import cell, markdown

__all__ = ["TARGETS", "TASKS", "WORKLOADS", "measure", "overhead", "render", "spread"]

MODULE = "benchmarks.bench_store"
DEADLINE_S = 300.0
REPS = 5
WORKLOADS = ("noop-10k", "sleep-200")
#: workload -> (what the target bounds, the bound)
TARGETS = {"noop-10k": ("µs/step added", 30.0), "sleep-200": ("% of the makespan added", 1.0)}


def _timed(graph: Any, expected: dict[str, Any], **options: Any) -> float:
    """Seconds of one ``run(graph, **options)``, its values checked after."""
    from rxsteps import run

    gc.collect()
    start = time.perf_counter()
    values = run(graph, **options)
    elapsed = time.perf_counter() - start
    verify(values, expected, "with store=" if options else "without a store")
    return elapsed


def overhead(workload: str, *, reps: int, seed: int, quick: bool) -> dict[str, Any]:
    """In the child: ``reps`` verified runs of ``workload`` without and with a store.

    Args:
        workload: ``"noop-10k"`` or ``"sleep-200"``.
        reps: Timed pairs, after one untimed pair.
        seed: The workload's seed.
        quick: Its quick size.

    Returns:
        The samples of both variants, their medians, and the cost added per step (µs)
        and as a share of the run without a store (%).
    """
    from rxsteps import Step, StepGraph
    from rxsteps.stores.sqlite import SQLiteStore

    w = make(workload, seed, quick)
    expected = w.expected()
    graph = StepGraph([Step(s, w.actions[s], w.deps[s]) for s in w.ids])
    samples: dict[str, list[float]] = {"plain": [], "store": []}
    with tempfile.TemporaryDirectory(prefix="rxsteps-bench-store-") as folder:
        path = os.path.join(folder, "runs.db")
        for rep in range(reps + 1):
            plain = _timed(graph, expected)
            stored = _timed(graph, expected, store=path, run_id=f"bench-{rep}")
            if rep:  # the first pair warms the pool, the imports and the file
                samples["plain"].append(plain)
                samples["store"].append(stored)
        store = SQLiteStore(path)
        try:
            stored_runs = len(store.runs())  # every run with store= is in the file
        finally:
            store.close()
    plain_s, store_s = (statistics.median(samples[k]) for k in ("plain", "store"))
    return {"steps": len(w), "samples_s": samples, "plain_s": plain_s, "store_s": store_s,
            "added_us_per_step": (store_s - plain_s) / len(w) * 1e6,
            "added_percent": (store_s - plain_s) / plain_s * 100, "stored_runs": stored_runs,
            **spread(samples, len(w))}


def spread(samples: dict[str, list[float]], steps: int) -> dict[str, list[float]]:
    """The range over the pairs of what the store adds: ``[min, max]`` of each pair's
    µs per step and % (a pair: one run with a store against the one without before it).

    Example:
        >>> added = spread({"plain": [1.0, 1.0], "store": [1.1, 1.3]}, 1000)
        >>> [round(x, 6) for x in added["added_percent_range"]]
        [10.0, 30.0]
    """
    pairs = list(zip(samples["plain"], samples["store"], strict=True))
    if not pairs:
        return {}
    per_step = [(store - plain) / steps * 1e6 for plain, store in pairs]
    percent = [(store - plain) / plain * 100 for plain, store in pairs]
    return {"added_us_per_step_range": [min(per_step), max(per_step)],
            "added_percent_range": [min(percent), max(percent)]}


TASKS = {"overhead": overhead}


def measure(ctx: Context) -> dict[str, Any]:
    """Both workloads, one child each."""
    reps = 1 if ctx.quick else REPS
    return {workload: ctx.spawn(MODULE, "overhead", deadline_s=DEADLINE_S,
                                workload=workload, reps=reps) for workload in WORKLOADS}


def render(out: dict[str, Any]) -> str:
    """Without and with a store, and what the store adds, against the targets."""
    rows = []
    for workload in WORKLOADS:
        record = out.get(workload)
        what, bound = TARGETS[workload]
        steps = record.get("steps", 0) if record else 0
        rows.append([f"`{workload}` ({steps:,} steps)",
                     cell(record, lambda r: f"{r['plain_s'] * 1e3:.1f}"),
                     cell(record, lambda r: f"{r['store_s'] * 1e3:.1f}"),
                     cell(record, functools.partial(_spread, "added_us_per_step", 1)),
                     cell(record, functools.partial(_spread, "added_percent", 2)),
                     f"≤ {bound:g} {what}",
                     cell(record, functools.partial(_met, workload))])
    some: dict[str, Any] = next((r for r in out.values() if r.get("status") == "ok"), {})
    pairs = len(some.get("samples_s", {}).get("store", []))
    return (f"### A durable store's cost: `store=` an SQLite file against none (medians "
            f"of {pairs} alternating pairs, one process per workload; what is added is "
            "shown as its median (min–max over the pairs); \"met\" judges the median)\n\n"
            + markdown(["workload", "without ms", "with store= ms", "added µs/step",
                        "added %", "target", "met (median)"], rows))


def _spread(key: str, digits: int, record: dict[str, Any]) -> str:
    """``median (min–max)`` of a figure; the range is computed from the samples when
    the record predates it."""
    bounds = record.get(f"{key}_range")
    if bounds is None:
        bounds = spread(record.get("samples_s", _NO_SAMPLES), record["steps"]).get(
            f"{key}_range")
    if not bounds:
        return f"{record[key]:.{digits}f}"
    low, high = bounds
    return f"{record[key]:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


_NO_SAMPLES: dict[str, list[float]] = {"plain": [], "store": []}


def _met(workload: str, record: dict[str, Any]) -> str:
    """Whether ``record``'s median is within its workload's target (:data:`TARGETS`)."""
    figure = record["added_us_per_step" if workload == "noop-10k" else "added_percent"]
    return "yes" if figure <= TARGETS[workload][1] else "**no**"
