"""Where the time per step goes: rxsteps building and running ``noop-10k`` on threads,
under cProfile in every thread (issue 12, goal 6).

``cProfile`` only records the thread that enables it, and rxsteps runs actions on its
own worker threads, so a plain ``python -m cProfile`` would show the main thread
waiting on an event and nothing else. :func:`profiled_runs` installs a hook with
``threading.setprofile`` before any worker exists: each new thread turns it into a
``cProfile.Profile`` of its own on its first call; afterwards the profiles of all
threads are merged.

Each profiled run is timed end to end: ``Step`` objects, ``StepGraph`` (validated),
``run(graph, scheduler="threads")``. :func:`categorise` then sorts every function's
own time (``tottime``) into where a step's cost goes:

- **build**: ``rxsteps/step.py``, ``rxsteps/graph.py``, networkx, ``inspect``, ``difflib``;
- **schedule**: the rest of rxsteps (``execution/``, ``backends/``, ``api.py``…),
  reactivex, ``threading``, ``queue``, ``concurrent.futures``;
- **call**: the actions themselves (``benchmarks/workloads.py``);
- **event**: ``rxsteps/events.py``, the event sink, tracing, OpenTelemetry;
- **result**: ``rxsteps/result.py``;
- **waiting**: lock acquires (``with lock`` too), waits, sleeps and blocking queue gets
  (idle or contending threads; left out of the shares);
- built-in functions count for the category of their main caller.

A profiler multiplies the cost of every Python call, so read shares, not absolute
times. As a section of ``python -m benchmarks`` (``--only profile``) it prints the
shares and the top functions; alone, for more::

    .venv/bin/python -m benchmarks.profile_engine --runs 5 --top 30

Example:
    >>> categorise_key(("/x/rxsteps/graph.py", 1, "validate"))
    'build'
    >>> categorise_key(("~", 0, "<method 'acquire' of '_thread.lock' objects>"))
    'waiting'
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from benchmarks.child import Context
from benchmarks.report import cell, markdown

__all__ = ["CATEGORIES", "TASKS", "categorise", "categorise_key", "main", "profiled_runs"]

MODULE = "benchmarks.profile_engine"
CATEGORIES = ["build", "schedule", "call", "event", "result", "other", "waiting"]
Key = tuple[str, int, str]

#: (path fragment, category), first match wins; paths use "/".
_RULES: list[tuple[str, str]] = [
    ("rxsteps/step.py", "build"), ("rxsteps/graph.py", "build"), ("/networkx/", "build"),
    ("/inspect.py", "build"), ("/difflib.py", "build"),
    ("benchmarks/workloads.py", "call"),
    ("rxsteps/events.py", "event"), ("rxsteps/execution/sink.py", "event"),
    ("rxsteps/execution/tracing.py", "event"), ("/opentelemetry/", "event"),
    ("rxsteps/result.py", "result"),
    ("rxsteps/", "schedule"), ("/reactivex/", "schedule"), ("/threading.py", "schedule"),
    ("/queue.py", "schedule"), ("/concurrent/", "schedule"),
]
_WAITS = ("acquire", "wait", "sleep", "select", "poll", "'get' of '_queue",
          "__enter__' of '_thread")

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def categorise_key(key: Key) -> str | None:
    """The category of one profiled function, or ``None`` for an unattributed builtin."""
    path, _, name = key
    if path == "~":
        return "waiting" if any(w in name for w in _WAITS) else None
    path = path.replace("\\", "/")
    return next((category for fragment, category in _RULES if fragment in path), "other")


def categorise(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of own time per category (builtins go to their main caller's category)."""
    table: dict[Key, Any] = stats.stats  # type: ignore[attr-defined]
    totals = dict.fromkeys(CATEGORIES, 0.0)
    for key, (_, _, tottime, _, callers) in table.items():
        category = categorise_key(key)
        if category is None:
            caller = max(callers.items(), key=lambda item: item[1][2], default=None)
            category = categorise_key(caller[0]) if caller else "other"
            category = "other" if category in (None, "waiting") else category
        totals[category] += tottime
    return totals


def _start_thread_profile(frame: FrameType, event: str, arg: Any) -> None:
    """The ``threading.setprofile`` hook: replace itself by a cProfile profiler."""
    sys.setprofile(None)
    profile = cProfile.Profile()
    with _lock:
        _profiles.append(profile)
    profile.enable()


def profiled_runs(runs: int, seed: int, n: int) -> tuple[pstats.Stats, list[float], int]:
    """Build and run ``noop-10k`` (``n`` steps) ``runs`` times under cProfile, after one
    unprofiled warm-up in the main thread (worker threads profile from their start).

    Returns:
        The merged stats of every thread, the wall seconds of each profiled run, and
        how many threads were profiled.
    """
    from benchmarks.bench_engine import verify
    from benchmarks.workloads import layered
    from rxsteps import Step, StepGraph, run

    w = layered("noop-10k", n, width=50, seed=seed)
    expected = w.expected()

    def once() -> Any:
        return run(StepGraph([Step(s, w.actions[s], w.deps[s]) for s in w.ids]),
                   scheduler="threads")

    threading.setprofile(_start_thread_profile)
    main_profile = cProfile.Profile()
    walls: list[float] = []
    try:
        verify(once(), expected, "warm-up")  # the pool's threads start (with profilers)
        for _ in range(runs):
            gc.collect()
            main_profile.enable()
            start = time.perf_counter()
            result = once()
            walls.append(time.perf_counter() - start)
            main_profile.disable()
            verify(result, expected, "profiled run")
    finally:
        threading.setprofile(None)
    with _lock:
        profiles = [p for p in [main_profile, *_profiles] if p.getstats()]
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    return stats, walls, len(profiles)


def _label(key: Key) -> str:
    path, line, name = key
    if path == "~":
        return name
    parts = path.replace("\\", "/").split("/")
    return f"{'/'.join(parts[-2:])}:{line}({name})"


def profile(*, runs: int, seed: int, quick: bool, top: int = 15) -> dict[str, Any]:
    """The task: category shares and the top functions by own time."""
    n = 300 if quick else 10_000
    stats, walls, threads = profiled_runs(runs, seed, n)
    totals = categorise(stats)
    table: dict[Key, Any] = stats.stats  # type: ignore[attr-defined]
    ranked = sorted(table.items(), key=lambda item: item[1][2], reverse=True)
    tops = [{"function": _label(k), "category": categorise_key(k) or "(builtin)",
             "calls": v[1], "tottime_s": v[2]} for k, v in ranked
            if categorise_key(k) != "waiting"][:top]
    return {"steps": n, "runs": runs, "threads": threads, "walls_s": walls,
            "tottime_s": totals, "top": tops}


TASKS = {"profile": profile}


def measure(ctx: Context) -> dict[str, Any]:
    return ctx.spawn(MODULE, "profile", deadline_s=600.0, runs=1 if ctx.quick else 3)


def render(record: dict[str, Any]) -> str:
    if record.get("status") != "ok":
        return "### Profile\n\n" + cell(record, str)
    totals, n, runs = record["tottime_s"], record["steps"], record["runs"]
    busy = sum(v for k, v in totals.items() if k != "waiting")
    rows = [[k, f"{totals[k] / busy:.1%}" if k != "waiting" else "(left out)",
             f"{totals[k] / (n * runs) * 1e6:.1f}"] for k in CATEGORIES]
    wall = sum(record["walls_s"]) / runs / n * 1e6
    text = (f"### Where the time per step goes: cProfile of build + run of `noop-10k` "
            f"({n:,} steps) on threads, runs: {runs}, {record['threads']} threads profiled; "
            f"{wall:.1f} µs/step wall under the profiler\n\n"
            + markdown(["category", "share of own time", "µs/step under cProfile"], rows))
    top = [[t["function"], t["category"], f"{t['calls']:,}", f"{t['tottime_s']:.3f}"]
           for t in record["top"]]
    return text + "\n\nTop functions by own time (waits left out):\n\n" + markdown(
        ["function", "category", "calls", "own s"], top)


def main(argv: list[str] | None = None) -> int:
    """Profile in this process and print the merged stats (``--sort``, ``--top``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="profiled runs (after 1 warm-up)")
    parser.add_argument("--top", type=int, default=30, help="functions to print")
    parser.add_argument("--sort", default="tottime", help="pstats sort key")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--out", help="also dump the merged stats here (for snakeviz…)")
    args = parser.parse_args(argv)
    stats, walls, threads = profiled_runs(args.runs, args.seed, 10_000)
    show: Callable[[float], str] = lambda s: f"{s * 1e3:.0f} ms"  # noqa: E731
    print(f"{threads} threads profiled; runs: {', '.join(map(show, walls))}")
    for category, seconds in categorise(stats).items():
        print(f"{category}: {seconds:.3f} s")
    if args.out:
        stats.dump_stats(args.out)
    stats.sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
