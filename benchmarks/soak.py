"""Soak: long sequences of runs must leave threads, file descriptors and memory flat.

For each scheduler, 10,000 consecutive runs of a 50-step graph (sync, async and
streaming steps), then a 100,000-event pipeline. Prints, per phase: runs per second,
thread count and open file descriptors before and after, RSS growth (from
``/proc/self/statm``) and tracemalloc growth between the end of a warm-up and the end.
Exits non-zero when a growth exceeds its bound, so it can gate a release.

The loop (:func:`growth`) and the graph (:func:`graph_50`) are shared with the short
soak of the test suite (``tests/reliability/test_soak.py``). From a clone::

    .venv/bin/python -m benchmarks.soak            # the full soak, a few minutes
    .venv/bin/python -m benchmarks.soak --quick    # a tenth of it

Example:
    >>> from rxsteps import run
    >>> graph = graph_50()
    >>> figures = growth(20, lambda: run(graph))
    >>> sorted(figures)
    ['fds', 'per_second', 'rss_mib', 'threads', 'traced_kib']
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import reactivex as rx
from reactivex.scheduler import ThreadPoolScheduler

from rxsteps import Step, StepGraph, arun, pipeline, run

BOUNDS = {"threads": 4, "fds": 4, "rss_mib": 32.0, "traced_kib": 1024.0}


def graph_50() -> StepGraph:
    """50 steps: a spine, skip edges, a coroutine every 7th step, a stream every 11th."""

    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    def tokens(x: int) -> Any:
        yield from (x, x + 1)

    steps = [Step("s0", lambda: 0)]
    for i in range(1, 50):
        deps = [f"s{i - 1}"]
        if i % 7 == 0:
            action: Any = fetch
        elif i % 11 == 0:
            action = tokens
        else:
            deps += [f"s{i // 2}"] if i > 2 else []
            action = lambda *xs: sum(xs) % 9973  # noqa: E731
        # after a stream, a call per value with the latest of the others (a zip of a
        # stream with one value would use only its first value, and say so)
        after_stream = (i - 1) % 11 == 0 and i > 1 and len(deps) > 1
        steps.append(Step(f"s{i}", action, deps, join="latest" if after_stream else "zip"))
    return StepGraph(steps)


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def growth(count: int, once: Callable[[], object]) -> dict[str, float]:
    """Run ``once`` ``count`` times; what grew between the end of a warm-up (the first
    tenth) and the end.

    Args:
        count: Calls in all, warm-up included.
        once: One run (it checks its own values).

    Returns:
        ``per_second`` (calls after the warm-up), and the growth of ``threads``, open
        file descriptors (``fds``), resident memory (``rss_mib``) and what
        ``tracemalloc`` traces (``traced_kib``; tracing starts before the warm-up, so
        one-time caches count as the baseline).
    """
    warmup = max(1, count // 10)
    tracemalloc.start()  # before the warm-up, so one-time caches count as baseline
    for _ in range(warmup):
        once()
    gc.collect()
    threads, fds, rss = threading.active_count(), _fds(), _rss_mib()
    traced = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    for _ in range(count - warmup):
        once()
    elapsed = time.perf_counter() - started
    gc.collect()
    figures = {
        "per_second": (count - warmup) / elapsed,
        "threads": float(threading.active_count() - threads),
        "fds": float(_fds() - fds),
        "rss_mib": _rss_mib() - rss,
        "traced_kib": (tracemalloc.get_traced_memory()[0] - traced) / 1024,
    }
    tracemalloc.stop()
    return figures


def soak(name: str, count: int, once: Callable[[], object]) -> dict[str, float]:
    """:func:`growth`, printed as a row of the soak's table."""
    figures = growth(count, once)
    print(
        f"| {name} | {count:,} | {figures['per_second']:,.0f}/s | {figures['threads']:+.0f} | "
        f"{figures['fds']:+.0f} | {figures['rss_mib']:+.1f} MiB | "
        f"{figures['traced_kib']:+.1f} KiB |",
        flush=True,
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the soak")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    graph = graph_50()
    expected = dict(run(graph))
    pool = ThreadPoolExecutor(8)
    rx_pool = ThreadPoolScheduler(8)

    def check(result: Any) -> None:
        if dict(result) != expected:
            raise SystemExit("soak: a run produced wrong values")

    phases: dict[str, Callable[[], None]] = {
        "threads": lambda: check(run(graph)),
        "asyncio": lambda: check(asyncio.run(arun(graph))),
        "ThreadPoolExecutor(8)": lambda: check(run(graph, scheduler=pool)),
        "reactivex ThreadPoolScheduler(8)": lambda: check(run(graph, scheduler=rx_pool)),
    }
    print(f"soak on {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("| phase | count | rate | threads | fds | RSS | traced |")
    print("|---|---|---|---|---|---|---|")
    failed = False
    for name, once in phases.items():
        failed |= _over(soak(f"{name}: 50-step runs", 10_000 // scale, once))
    failed |= _over(_pipeline_soak(100_000 // scale))
    pool.shutdown()
    return 1 if failed else 0


def _pipeline_soak(events: int) -> dict[str, float]:
    """One pipeline of ``events`` events: growth between the first tenth and the end."""
    graph = StepGraph(
        [Step("a", lambda q: q + 1, ["q"]), Step("b", lambda a: a * 2, ["a"])], inputs=["q"]
    )
    done = threading.Event()
    marks: dict[str, float] = {}
    seen = [0]
    tenth = events // 10

    def on_next(result: Any) -> None:
        if result["b"] != (result.inputs["q"] + 1) * 2:
            raise SystemExit("soak: a pipeline run produced a wrong value")
        seen[0] += 1
        if seen[0] == tenth:
            gc.collect()
            marks.update(threads=threading.active_count(), fds=_fds(), rss=_rss_mib(),
                         traced=tracemalloc.get_traced_memory()[0], time=time.perf_counter())

    tracemalloc.start()
    pipeline(graph, inputs={"q": rx.range(0, events)}, max_in_flight=8).subscribe(
        on_next, lambda error: done.set(), done.set
    )
    done.wait(600)
    gc.collect()
    figures = {
        "per_second": (events - tenth) / (time.perf_counter() - marks["time"]),
        "threads": float(threading.active_count() - marks["threads"]),
        "fds": float(_fds() - marks["fds"]),
        "rss_mib": _rss_mib() - marks["rss"],
        "traced_kib": (tracemalloc.get_traced_memory()[0] - marks["traced"]) / 1024,
    }
    tracemalloc.stop()
    if seen[0] != events:
        raise SystemExit(f"soak: the pipeline emitted {seen[0]} results, not {events}")
    print(
        f"| pipeline: one stream of events | {events:,} | {figures['per_second']:,.0f}/s | "
        f"{figures['threads']:+.0f} | {figures['fds']:+.0f} | {figures['rss_mib']:+.1f} MiB | "
        f"{figures['traced_kib']:+.1f} KiB |",
        flush=True,
    )
    return figures


def _over(figures: dict[str, float]) -> bool:
    over = [k for k, bound in BOUNDS.items() if figures[k] > bound]
    for key in over:
        print(f"  over bound: {key} grew by {figures[key]:.1f} (bound {BOUNDS[key]})")
    return bool(over)


if __name__ == "__main__":
    sys.exit(main())
