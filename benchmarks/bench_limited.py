"""Makespan when capacity is short: sleeping DAGs with 4 and with 8 slots (issue 13).

The 200-step sleeping DAG of :mod:`benchmarks.bench_engine` (``sleep-200``; 48 steps
with ``--quick``) runs with only ``slots`` actions at a time. Its lower bound is
``max(critical path, total work ÷ slots)``; each system's makespan is reported as a
ratio to it (1.00 is perfect). One DAG is one draw of random durations, and which
order wins on one draw is partly luck (first-come order is 1.024 on seed 2 with 8
slots, 1.060 on average over 300 DAGs in virtual time), so each system runs
``DAGS`` DAGs (seeds ``seed`` … ``seed + DAGS - 1``, one run each; 1 with
``--quick``) and the table gives the mean ratio, the per-DAG ratios kept in the
record. Systems:

- ``rxsteps-critical``: ``run(graph, max_concurrency=slots)``: the waiting step with the
  longest remaining path starts first, every step counting one unit (no hints), ties
  to the one with more direct dependents;
- ``rxsteps-history``: the same with ``history=`` an earlier run's result (measured
  durations), as a service running the same graph again would;
- ``rxsteps-fifo``: ``priority="fifo"``: first come, first served;
- ``graphlib``: ``graphlib.TopologicalSorter`` with a ``ThreadPoolExecutor(slots)``;
- ``dask``: ``dask.threaded.get(..., num_workers=slots)`` (skipped without dask).

A second table takes the noise out: the same engine in virtual time (a reactivex
``TestScheduler``; each action is a timer of its planned duration, so nothing sleeps
and a run costs milliseconds) over ``VIRTUAL_DAGS`` DAGs, for the three orders:
critical path without hints, with every duration given (``Step(estimate=)``, what
``history=`` measures), and first come. It measures the orders alone, no thread
wake-ups.

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

__all__ = ["ORDERS", "SYSTEMS", "TASKS", "limited", "lower_bound", "measure", "render",
           "virtual", "virtual_makespan"]

MODULE = "benchmarks.bench_limited"
DEADLINE_S = 300.0
SLOTS = (4, 8)
DAGS = 5  # seeds seed .. seed + DAGS - 1, one run each
VIRTUAL_DAGS = 100
#: order -> (name in the table, run options, whether each step gets its estimate)
ORDERS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "critical": ("critical path (no hints)", {}, False),
    "estimates": ("critical path (every duration known)", {}, True),
    "fifo": ('priority="fifo"', {"priority": "fifo"}, False),
}


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
    """In the child: verified makespans of ``system`` with ``slots`` workers, one per
    DAG, and their mean ratio to the bound."""
    ratios, samples = [], []
    for dag_seed in range(seed, seed + (1 if quick else DAGS)):
        w = make("sleep-200", dag_seed, quick)
        assert w.durations is not None
        expected = w.expected()
        try:
            runner = SYSTEMS[system][1](w, slots)
        except Unavailable as missing:
            return {"status": "skipped", "why": str(missing)}
        t0 = time.perf_counter()
        values = runner()
        elapsed = time.perf_counter() - t0
        verify(values, expected, f"{system} with {slots} slots on seed {dag_seed}")
        samples.append(elapsed)
        ratios.append(elapsed / lower_bound(w.durations, w.critical_path(), slots))
    return {"steps": len(w), "seeds": list(range(seed, seed + len(ratios))),
            "samples_s": samples, "ratios": ratios, "ratio": statistics.mean(ratios)}


def virtual_makespan(w: Workload, slots: int, order: str) -> float:
    """The makespan of one run of ``w`` in virtual time with ``slots`` slots.

    Example:
        >>> from benchmarks.workloads import layered
        >>> w = layered("tiny", 6, width=3, seed=1, sleep=(1.0, 1.0))
        >>> virtual_makespan(w, 3, "critical")
        2.0
    """
    import reactivex
    from reactivex import operators as ops
    from reactivex.testing import TestScheduler

    from rxsteps import EventKind, Step, StepGraph, observe

    assert w.durations is not None
    durations = w.durations
    _name, options, hinted = ORDERS[order]
    scheduler = TestScheduler()

    def timed(step: str) -> Callable[..., Any]:
        return lambda *_: reactivex.timer(durations[step], scheduler=scheduler).pipe(
            ops.map(lambda _: step))

    graph = StepGraph([Step(s, timed(s), w.deps[s],
                            estimate=durations[s] if hinted else None) for s in w.ids])
    ends: list[float] = []
    observe(graph, scheduler=scheduler, max_concurrency=slots, **options).subscribe(
        lambda e: ends.append(e.time) if e.kind is EventKind.SUCCEEDED else None)
    scheduler.start()
    if len(ends) != len(w):
        raise AssertionError(f"{order}: {len(ends)} of {len(w)} steps succeeded")
    return max(ends)


def virtual(*, seed: int, quick: bool) -> dict[str, Any]:
    """In the child: mean makespan ÷ bound of each order, per slot count, in virtual
    time over ``VIRTUAL_DAGS`` DAGs (3 with ``--quick``)."""
    seeds = range(seed, seed + (3 if quick else VIRTUAL_DAGS))
    ratios: dict[str, list[float]] = {f"{o}@{n}": [] for n in SLOTS for o in ORDERS}
    for dag_seed in seeds:
        w = make("sleep-200", dag_seed, quick)
        assert w.durations is not None
        for slots in SLOTS:
            bound = lower_bound(w.durations, w.critical_path(), slots)
            for order in ORDERS:
                ratios[f"{order}@{slots}"].append(virtual_makespan(w, slots, order) / bound)
    return {"dags": len(seeds), "ratios": {k: statistics.mean(v) for k, v in ratios.items()},
            "worst": {k: max(v) for k, v in ratios.items()}}


TASKS = {"limited": limited, "virtual": virtual}


def measure(ctx: Context) -> dict[str, Any]:
    """Every system with every slot count, one child each."""
    out = {f"{system}@{slots}": ctx.spawn(MODULE, "limited", deadline_s=DEADLINE_S,
                                          system=system, slots=slots)
           for slots in SLOTS for system in SYSTEMS}
    out["virtual"] = ctx.spawn(MODULE, "virtual", deadline_s=DEADLINE_S)
    return out


def render(out: dict[str, Any]) -> str:
    """Makespan ÷ lower bound per system and slot count (target ≤ 1.10 for rxsteps), then
    the orders in virtual time."""
    rows = []
    for system, (name, _prepare) in SYSTEMS.items():
        row = [name]
        for slots in SLOTS:
            record = out.get(f"{system}@{slots}", {})
            row.append("skipped" if record.get("status") == "skipped"
                       else cell(record, lambda r: f"{r['ratio']:.3f}"))
        rows.append(row)
    some: dict[str, Any] = next((r for key, r in out.items()
                                 if key != "virtual" and r.get("status") == "ok"), {})
    dags = len(some.get("seeds", ()))
    real = (f"### Makespan with short capacity, {some.get('steps', 0)} sleeping steps, mean "
            f"over {dags} DAG{'s' if dags != 1 else ''} "
            "(÷ max(critical path, work ÷ slots); target ≤ 1.10)\n\n"
            + markdown(["system", *(f"{s} slots" for s in SLOTS)], rows))
    record = out.get("virtual", {})
    vrows = [[f"rxsteps, {name}", *(cell(record, _virtual_cell(f"{order}@{n}"))
                                    for n in SLOTS)]
             for order, (name, _options, _hinted) in ORDERS.items()]
    return (real + f"\n\n### The same orders in virtual time, mean over "
            f"{record.get('dags', 0)} DAGs (no thread wake-ups, no noise)\n\n"
            + markdown(["order", *(f"{s} slots" for s in SLOTS)], vrows))


def _virtual_cell(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda r: f"{r['ratios'][key]:.4f} (worst {r['worst'][key]:.3f})"
