"""Engine benchmark (GitHub issue 2): rxsteps against hand-written schedulers and dask.

Run from the repository root::

    .venv/bin/python benchmarks/bench_engine.py --json out/bench.json

Every system runs the same seeded DAGs of :mod:`workloads`, in which every step
receives its dependencies' values and returns a value derived from them; after every
run (warm-up runs included) all final values are compared with a plain sequential
evaluation, and a mismatch stops the benchmark with an error.

What is timed: one complete run, ``time.perf_counter`` around the runner, so per-run
work (rxsteps' run state, a ``TopologicalSorter``, asyncio tasks and the event loop
of ``asyncio.run``) is included; the one-off graph definition (a validated
``StepGraph``, the dask graph dict, dependents lists) is not. Thread pools are warm:
one 64-worker ``ThreadPoolExecutor`` shared by the baselines, rxsteps' own process-wide
pool. ``gc.collect()`` runs, untimed, before every run; the collector stays enabled.

Metrics:

- ``sleep-200``: makespan ÷ critical path (the longest chain of planned sleeps), the
  median of 3 runs. 1.00 is a perfect scheduler; overheads and late starts add to it.
  The waves row also shows what the plan alone predicts for a barrier per wave.
- ``noop-10k``, ``chain-5k``, ``fan-10k``: wall time ÷ steps, in µs, the median of 5
  runs after 1 warm-up (the best and worst of the 5 are shown too), and its ratio to
  graphlib + ThreadPoolExecutor in the same process.
- ``memory-100k`` (first, while the process is fresh: no pool has grown yet): rxsteps
  threads on 100,000 steps: times to create the steps, add them, validate (once each),
  run (median of 3 untraced runs), then the ``tracemalloc`` peak during one more run
  and what the ``RunResult`` retains after it, in bytes and bytes per step.

A run that takes more than ``DEADLINE_S`` is a hang: every thread's stack is dumped,
the main thread interrupted, and the benchmark fails (tables measured so far are
already printed). The process state a benchmark could disturb (recursion limit, gc, switch interval,
tracemalloc) is checked before and after every system; the recursion limit must be the
interpreter default, 1000.
"""

from __future__ import annotations

import argparse
import datetime
import faulthandler
import gc
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from workloads import Runner, Unavailable, Workload, chain, fan, layered, systems

from rxsteps import Step, StepGraph, run

POOL_WORKERS = 64
DEFAULT_RECURSION_LIMIT = 1000
RUNS_100K = 3
DEADLINE_S = 60.0  # one run taking longer than this is a hang: fail, do not wait forever
PACKAGES = ("rxsteps", "reactivex", "networkx", "dask", "distributed", "opentelemetry-api")


class BenchmarkError(RuntimeError):
    """A system computed wrong values, or changed the process state."""


# -- measuring ----------------------------------------------------------------------------


def process_state() -> dict[str, Any]:
    """What a benchmark could leave changed in the process."""
    return {
        "recursionlimit": sys.getrecursionlimit(),
        "gc_enabled": gc.isenabled(),
        "gc_threshold": gc.get_threshold(),
        "switchinterval": sys.getswitchinterval(),
        "tracemalloc": tracemalloc.is_tracing(),
    }


def check_state(before: dict[str, Any], who: str) -> None:
    after = process_state()
    if after != before:
        raise BenchmarkError(f"{who} changed the process state: {before} -> {after}")


def verify(values: Mapping[str, Any], expected: Mapping[str, Any], who: str) -> None:
    """Fail loudly unless ``values`` has exactly the expected value for every step."""
    wrong = [s for s, value in expected.items() if values.get(s) != value]
    if wrong or len(values) != len(expected):
        first = wrong[0] if wrong else "-"
        raise BenchmarkError(
            f"{who}: wrong values for {len(wrong)} of {len(expected)} steps "
            f"({len(values)} returned); first {first!r}: got {values.get(first)!r}, "
            f"expected {expected.get(first)!r}"
        )


def measure(runner: Runner, expected: Mapping[str, Any], *, reps: int, warmup: int,
            who: str) -> list[float]:
    """Seconds of each of ``reps`` verified runs after ``warmup`` verified runs."""
    samples: list[float] = []
    for i in range(warmup + reps):
        gc.collect()
        fired = threading.Event()
        timer = threading.Timer(DEADLINE_S, _hung, (who, fired))
        timer.daemon = True
        timer.start()
        try:
            start = time.perf_counter()
            values = runner()
            elapsed = time.perf_counter() - start
        except KeyboardInterrupt:
            if fired.is_set():
                raise BenchmarkError(f"{who}: no result after {DEADLINE_S:.0f} s; "
                                     f"{_pool_state()}") from None
            raise
        finally:
            timer.cancel()
        verify(values, expected, who)
        del values
        if i >= warmup:
            samples.append(elapsed)
    return samples


def _hung(who: str, fired: threading.Event) -> None:
    """The watchdog fired: dump every thread's stack, then interrupt the main thread
    (a real SIGINT, so that a blocking wait there is interrupted too)."""
    fired.set()
    print(f"\n{who}: still running after {DEADLINE_S:.0f} s; {_pool_state()}; stacks:",
          file=sys.stderr, flush=True)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


def _pool_state() -> str:
    """rxsteps' worker pool as seen from outside, for a hang report (private fields)."""
    from rxsteps.backends.threads import shared_pool

    pool = shared_pool()
    return (f"rxsteps pool: {pool.threads} threads alive, idle counter "
            f"{getattr(pool, '_idle', '?')}, {pool._queue.qsize()} queued")


@dataclass
class Plan:
    """A workload and how it is measured."""

    make: Callable[[int], Workload]
    metric: str  # "makespan" or "per_step"
    reps: int
    warmup: int


PLANS: dict[str, Plan] = {
    "sleep-200": Plan(lambda seed: layered("sleep-200", 200, width=16, seed=seed,
                                           sleep=(0.001, 0.120)), "makespan", 3, 0),
    "noop-10k": Plan(lambda seed: layered("noop-10k", 10_000, width=50, seed=seed),
                     "per_step", 5, 1),
    "chain-5k": Plan(lambda seed: chain("chain-5k", 5_000, seed=seed), "per_step", 5, 1),
    "fan-10k": Plan(lambda seed: fan("fan-10k", 10_000, seed=seed), "per_step", 5, 1),
}


def bench_workload(plan: Plan, seed: int, pool: ThreadPoolExecutor, quick: bool,
                   state: dict[str, Any]) -> dict[str, Any]:
    """Measure every system on one workload; return its JSON record."""
    w = plan.make(seed)
    expected = w.expected()
    reps, warmup = (1, 0) if quick else (plan.reps, plan.warmup)
    critical = w.critical_path()
    rows: list[dict[str, Any]] = []
    for name, define, note in systems(w):
        row: dict[str, Any] = {"system": name, "note": note}
        rows.append(row)
        if name == "sequential loop" and w.durations is not None:
            row.update(status="planned", median_s=sum(w.durations.values()),
                       note=f"not run: the sum of all sleeps, {sum(w.durations.values()):.1f} s")
            continue
        try:
            runner = define(w, pool)
        except Unavailable as why:
            row.update(status="skipped", note=f"skipped: {why}")
            continue
        samples = measure(runner, expected, reps=reps, warmup=warmup, who=f"{name} on {w.name}")
        check_state(state, f"{name} on {w.name}")
        row.update(status="ok", samples_s=samples, median_s=statistics.median(samples),
                   min_s=min(samples))
        _progress(f"{w.name}: {name}: median {row['median_s'] * 1e3:.1f} ms")
    baseline = next(r for r in rows if r["system"].startswith("graphlib"))
    for row in rows:
        if "median_s" not in row:
            continue
        row["per_step_us"] = row["median_s"] / len(w) * 1e6
        if "min_s" in row:
            row["min_per_step_us"] = row["min_s"] / len(w) * 1e6
            row["max_per_step_us"] = max(row["samples_s"]) / len(w) * 1e6
        if "median_s" in baseline:
            row["vs_graphlib"] = row["median_s"] / baseline["median_s"]
        if critical:
            row["vs_critical_path"] = row["median_s"] / critical
    how = f"median of {reps}" + (f" after {warmup} warm-up" if warmup else "")
    return {"workload": w.name, "description": w.description, "steps": len(w),
            "metric": plan.metric, "timing": how, "critical_path_s": critical or None,
            "rows": rows}


def bench_memory(n: int, seed: int, reps: int, state: dict[str, Any]) -> dict[str, Any]:
    """Build, validate and run an ``n``-step random DAG with rxsteps threads, then run
    it once more under tracemalloc for the peak and what the result retains."""
    w = layered(f"memory-{n // 1000}k", n, width=50, seed=seed)
    expected = w.expected()
    gc.collect()
    t0 = time.perf_counter()
    steps = [Step(s, w.actions[s], w.deps[s]) for s in w.ids]
    t1 = time.perf_counter()
    graph = StepGraph()
    for step in steps:
        graph.add(step)
    t2 = time.perf_counter()
    graph.validate()
    t3 = time.perf_counter()
    runs = measure(lambda: run(graph, scheduler="threads"), expected, reps=reps, warmup=0,
                   who=f"rxsteps threads on {w.name}")
    if tracemalloc.is_tracing():
        raise BenchmarkError("tracemalloc was already tracing; cannot measure a clean peak")
    traced: list[tuple[int, int]] = []

    def traced_run() -> Mapping[str, Any]:
        tracemalloc.start()
        try:
            result = run(graph, scheduler="threads")
            traced.append(tracemalloc.get_traced_memory())  # the result is still alive
        finally:
            tracemalloc.stop()
        return result

    measure(traced_run, expected, reps=1, warmup=0, who=f"rxsteps threads on {w.name}, traced")
    retained, peak = traced[0]
    check_state(state, f"rxsteps threads on {w.name}")
    _progress(f"{w.name}: peak {peak / 2**20:.1f} MiB")
    return {"workload": w.name, "description": w.description, "steps": n,
            "create_steps_s": t1 - t0, "add_s": t2 - t1, "validate_s": t3 - t2,
            "run_s": statistics.median(runs), "run_samples_s": runs, "peak_bytes": peak,
            "retained_bytes": retained,
            "timing": f"build once; run: median of {reps} untraced runs; "
                      "peak and retained: one more, traced run"}


# -- reporting ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """When, where and with what the benchmark runs."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    now = datetime.datetime.now().astimezone()
    return {"date": now.isoformat(timespec="seconds"), "commit": _commit(),
            "platform": platform.platform(),
            "nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
            "python": sys.version.split()[0], "packages": versions,
            "loadavg_start": os.getloadavg(), "pool_workers": POOL_WORKERS}


def _commit() -> str:
    """The checked-out commit, and whether rxsteps/ has uncommitted changes (read-only)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rxsteps"], cwd=root,
                               text=True, capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in rxsteps/" if dirty else "")


def markdown(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _num(row: Mapping[str, Any], key: str, fmt: str) -> str:
    return format(row[key], fmt) if key in row else "—"


def workload_table(record: dict[str, Any]) -> str:
    title = f"### {record['workload']} — {record['description']} ({record['timing']})"
    rows = record["rows"]
    if record["metric"] == "makespan":
        title += f"\n\nCritical path: {record['critical_path_s'] * 1e3:.1f} ms."
        headers = ["system", "makespan ms", "÷ critical path", "vs graphlib", "note"]
        body = [[r["system"], _num({"v": r["median_s"] * 1e3} if "median_s" in r else {},
                                   "v", ".1f"),
                 _num(r, "vs_critical_path", ".3f"), _num(r, "vs_graphlib", ".2f"),
                 r["note"]] for r in rows]
    else:
        headers = ["system", "µs/step", "best - worst", "vs graphlib", "note"]
        body = [[r["system"], _num(r, "per_step_us", ".1f"),
                 f"{r['min_per_step_us']:.1f} - {r['max_per_step_us']:.1f}"
                 if "min_per_step_us" in r else "—",
                 _num(r, "vs_graphlib", ".2f"), r["note"]] for r in rows]
    return title + "\n\n" + markdown(headers, body)


def memory_table(m: dict[str, Any]) -> str:
    n = m["steps"]
    body = [
        ["create 100k Step objects", f"{m['create_steps_s']:.2f} s",
         f"{m['create_steps_s'] / n * 1e6:.1f} µs/step"],
        ["StepGraph.add", f"{m['add_s']:.2f} s", f"{m['add_s'] / n * 1e6:.1f} µs/step"],
        ["StepGraph.validate", f"{m['validate_s']:.2f} s",
         f"{m['validate_s'] / n * 1e6:.1f} µs/step"],
        ["run (threads, untraced)", f"{m['run_s']:.2f} s", f"{m['run_s'] / n * 1e6:.1f} µs/step"
         + f" (runs: {', '.join(f'{t:.2f}' for t in m['run_samples_s'])} s)"],
        ["tracemalloc peak during run", f"{m['peak_bytes'] / 2**20:.1f} MiB",
         f"{m['peak_bytes'] / n:.0f} B/step"],
        ["retained by the RunResult", f"{m['retained_bytes'] / 2**20:.1f} MiB",
         f"{m['retained_bytes'] / n:.0f} B/step"],
    ]
    title = f"### {m['workload']} — {m['description']}, rxsteps threads ({m['timing']})"
    return title + "\n\n" + markdown(["quantity", "value", "per step"], body)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--seed", type=int, default=2, help="seed of every workload")
    parser.add_argument("--quick", action="store_true", help="one run per system (a smoke test)")
    parser.add_argument("--only", action="append", choices=[*PLANS, "memory-100k"],
                        help="run only this workload (repeatable)")
    args = parser.parse_args(argv)
    state = process_state()
    if state["recursionlimit"] != DEFAULT_RECURSION_LIMIT:
        raise BenchmarkError(f"recursion limit is {state['recursionlimit']}, not the default")
    info = machine()
    print(f"## rxsteps engine benchmark — {info['date']}\n")
    print(f"rxsteps at {info['commit']}; {info['platform']}, nproc {info['nproc']}, "
          f"Python {info['python']}, " + ", ".join(f"{k} {v}" for k, v in info["packages"].items())
          + f"; load average {info['loadavg_start'][0]:.2f} at the start.\n", flush=True)
    started = time.perf_counter()
    records: list[dict[str, Any]] = []
    memory: dict[str, Any] | None = None
    error: BenchmarkError | None = None
    try:  # each table is printed when done: a failure keeps what was measured before it
        if not args.only or "memory-100k" in args.only:  # first: in a fresh process
            memory = bench_memory(100_000, args.seed, 1 if args.quick else RUNS_100K, state)
            print(memory_table(memory) + "\n", flush=True)
        with ThreadPoolExecutor(POOL_WORKERS, thread_name_prefix="bench") as pool:
            for name, plan in PLANS.items():
                if not args.only or name in args.only:
                    records.append(bench_workload(plan, args.seed, pool, args.quick, state))
                    print(workload_table(records[-1]) + "\n", flush=True)
        check_state(state, "the benchmark")
    except BenchmarkError as failure:
        error = failure
        print(f"**FAILED**: {failure}\n", flush=True)
    info.update(loadavg_end=os.getloadavg(), total_s=time.perf_counter() - started,
                recursionlimit=sys.getrecursionlimit(), error=str(error) if error else None)
    print(f"Load average {info['loadavg_end'][0]:.2f} at the end; total {info['total_s']:.0f} s; "
          f"recursion limit {info['recursionlimit']}"
          + (" (the default, unchanged)." if error is None else "."))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"machine": info, "workloads": records, "memory": memory}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if error is not None else 0


if __name__ == "__main__":
    sys.exit(main())
