"""Profile rxsteps on the ``noop-10k`` workload of the engine benchmark, in every thread.

``cProfile`` only records the thread that enables it, and rxsteps runs actions on its
own worker threads (drivers), so a plain ``python -m cProfile`` would show the main
thread waiting on an event and nothing else. This script installs a hook with
``threading.setprofile`` before any worker exists: each new thread turns it into a
``cProfile.Profile`` of its own on its first call. After the runs, the profiles of
all threads are merged and the top functions printed (by total time, own time, or
whatever ``--sort`` names).

Run from the repository root in a fresh process (rxsteps' pool must not exist yet)::

    .venv/bin/python benchmarks/profile_engine.py --runs 5 --top 30

A profiler multiplies the cost of every Python call, so read shares, not absolute
times; a sampling profiler gives the unbiased view, e.g.::

    py-spy record --idle --format raw -o out/noop.txt -- \\
        .venv/bin/python benchmarks/profile_engine.py --no-profile --runs 20
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import threading
import time
from types import FrameType
from typing import Any

from workloads import layered

from rxsteps import Step, StepGraph, run

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _start_thread_profile(frame: FrameType, event: str, arg: Any) -> None:
    """The ``threading.setprofile`` hook: replace itself by a cProfile profiler."""
    sys.setprofile(None)
    profile = cProfile.Profile()
    with _lock:
        _profiles.append(profile)
    profile.enable()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="profiled runs (after 1 warm-up)")
    parser.add_argument("--top", type=int, default=30, help="functions to print")
    parser.add_argument("--sort", default="tottime", help="pstats sort key")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--no-profile", action="store_true",
                        help="only run (for an external sampling profiler)")
    parser.add_argument("--out", help="also dump the merged stats here (for snakeviz…)")
    args = parser.parse_args(argv)

    w = layered("noop-10k", 10_000, width=50, seed=args.seed)
    graph = StepGraph([Step(s, w.actions[s], w.deps[s]) for s in w.ids])
    expected = w.expected()
    if not args.no_profile:
        threading.setprofile(_start_thread_profile)
        main_profile = cProfile.Profile()
        _profiles.append(main_profile)
    try:
        run(graph)  # warm-up: the pool's threads start (and get their profilers)
        if not args.no_profile:
            main_profile.enable()
        for _ in range(args.runs):
            gc.collect()
            start = time.perf_counter()
            result = run(graph)
            elapsed = time.perf_counter() - start
            if any(result[s] != expected[s] for s in w.ids):
                raise RuntimeError("wrong values")
            print(f"run: {elapsed / len(w) * 1e6:.1f} µs/step", file=sys.stderr)
    finally:
        if not args.no_profile:
            main_profile.disable()
            threading.setprofile(None)
    if args.no_profile:
        return 0
    with _lock:
        profiles = [p for p in _profiles if p.getstats()]
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    print(f"{len(profiles)} threads profiled; {args.runs} runs after 1 warm-up (warm-up "
          "included for worker threads)")
    if args.out:
        stats.dump_stats(args.out)
    stats.sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
