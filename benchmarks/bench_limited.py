"""Makespan when capacity is short: the sleeping DAG with 4 and with 8 slots (issue 13).

The 200-step sleeping DAG of :mod:`benchmarks.bench_engine` (``sleep-200``; 48 steps
with ``--quick``) runs with only ``slots`` actions at a time. Its lower bound is
``max(critical path, total work ÷ slots)``; each system's makespan is reported as a
ratio to it (1.00 is perfect), median of 3 (1 with ``--quick``). Systems:

- ``rxsteps-critical``: ``run(graph, max_concurrency=slots)``: the waiting step with the
  longest remaining path starts first, every step counting one unit (no hints);
- ``rxsteps-history``: the same with ``history=`` an earlier run's result (measured
  durations), as a service running the same graph again would;
- ``rxsteps-fifo``: ``priority="fifo"``: first come, first served;
- ``graphlib``: ``graphlib.TopologicalSorter`` with a ``ThreadPoolExecutor(slots)``;
- ``dask``: ``dask.threaded.get(..., num_workers=slots)`` (skipped without dask).

Example:
    >>> lower_bound({"a": 1.0, "b": 1.0, "c": 1.0}, 1.0, 2)
    1.5
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

from benchmarks.bench_engine import make, verify
from benchmarks.child import Context
from benchmarks.errors import Unavailable
from benchmarks.report import cell, markdown
from benchmarks.workloads import Workload, graphlib_pool

__all__ = ["SYSTEMS", "TASKS", "limited", "lower_bound", "measure", "render"]

MODULE = "benchmarks.bench_limited"
DEADLINE_S = 300.0
SLOTS = (4, 8)


def lower_bound(durations: Mapping[str, float], critical: float, slots: int) -> float:
    """``max(critical path, total work ÷ slots)``: no schedule can be shorter."""
    return max(critical, sum(durations.values()) / slots)


def _rxsteps(priority: str, with_history: bool) -> Callable[[Workload, int], Callable[[], Any]]:
    def prepare(w: Workload, slots: int) -> Callable[[], Any]:
        from rxsteps import Step, StepGraph, run

        graph = StepGraph([Step(s, w.actions[s], w.deps[s]) for s in w.ids])
        history = run(graph, max_concurrency=slots) if with_history else None
        return lambda: dict(run(graph, max_concurrency=slots, priority=priority,
                                history=history))
    return prepare


def _graphlib(w: Workload, slots: int) -> Callable[[], Any]:
    return graphlib_pool(w, slots)


def _dask(w: Workload, slots: int) -> Callable[[], Any]:
    try:
        import dask.threaded
    except ImportError as error:
        raise Unavailable("dask is not installed") from error
    keys = list(w.ids)

    def run_once() -> dict[str, Any]:
        graph = {s: (w.actions[s], *w.deps[s]) for s in w.ids}
        return dict(zip(keys, dask.threaded.get(graph, keys, num_workers=slots), strict=True))

    return run_once


#: system -> (name in the table, how to prepare a runner for a workload and slots)
SYSTEMS: dict[str, tuple[str, Callable[[Workload, int], Callable[[], Any]]]] = {
    "rxsteps-critical": ("rxsteps, critical path (no hints)", _rxsteps("critical", False)),
    "rxsteps-history": ("rxsteps, critical path (history=)", _rxsteps("critical", True)),
    "rxsteps-fifo": ('rxsteps, priority="fifo"', _rxsteps("fifo", False)),
    "graphlib": ("graphlib + ThreadPoolExecutor(slots)", _graphlib),
    "dask": ("dask.threaded.get(num_workers=slots)", _dask),
}


def limited(system: str, slots: int, *, seed: int, quick: bool) -> dict[str, Any]:
    """In the child: verified makespans of ``system`` with ``slots`` workers."""
    w = make("sleep-200", seed, quick)
    assert w.durations is not None
    expected = w.expected()
    try:
        runner = SYSTEMS[system][1](w, slots)
    except Unavailable as missing:
        return {"status": "skipped", "why": str(missing)}
    samples = []
    for _ in range(1 if quick else 3):
        t0 = time.perf_counter()
        values = runner()
        samples.append(time.perf_counter() - t0)
        verify(values, expected, f"{system} with {slots} slots")
    bound = lower_bound(w.durations, w.critical_path(), slots)
    median = statistics.median(samples)
    return {"steps": len(w), "samples_s": samples, "median_s": median, "bound_s": bound,
            "ratio": median / bound}


TASKS = {"limited": limited}


def measure(ctx: Context) -> dict[str, Any]:
    """Every system with every slot count, one child each."""
    return {f"{system}@{slots}": ctx.spawn(MODULE, "limited", deadline_s=DEADLINE_S,
                                           system=system, slots=slots)
            for slots in SLOTS for system in SYSTEMS}


def render(out: dict[str, Any]) -> str:
    """Makespan ÷ lower bound per system and slot count (target ≤ 1.10 for rxsteps)."""
    rows = []
    for system, (name, _prepare) in SYSTEMS.items():
        row = [name]
        for slots in SLOTS:
            record = out.get(f"{system}@{slots}", {})
            row.append("skipped" if record.get("status") == "skipped"
                       else cell(record, lambda r: f"{r['ratio']:.3f}"))
        rows.append(row)
    some: dict[str, Any] = next((r for r in out.values() if r.get("status") == "ok"), {})
    return (f"### Makespan with short capacity, {some.get('steps', 0)} sleeping steps "
            "(÷ max(critical path, work ÷ slots); target ≤ 1.10)\n\n"
            + markdown(["system", *(f"{s} slots" for s in SLOTS)], rows))
