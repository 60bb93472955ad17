"""Every benchmark of issue 12, side by side, in one invocation.

From the root of a clone::

    .venv/bin/python -m benchmarks                         # everything, a few minutes
    .venv/bin/python -m benchmarks --quick                 # a smoke run: tiny sizes, 1 run each
    .venv/bin/python -m benchmarks --only engine --only cycles
    .venv/bin/python -m benchmarks --json out/benchmarks.json

Each measurement runs in its own fresh interpreter (:mod:`benchmarks.child`), one after
another, so every system's imports and peak RSS are its own and no two compete for
the cores. The Markdown tables go to stdout as each section ends, progress to stderr,
and the JSON (every sample, every record, the machine, the versions) to ``--json``
(default ``out/benchmarks.json``). The exit status is 1 when a measurement failed (a
wrong value, a crash), 0 otherwise; a timeout is a finding, reported in its table.

Sections (``--only``): see :data:`SECTIONS`.

Example:
    >>> list(SECTIONS)[:3]
    ['engine', 'build', 'makespan']
    >>> failures({"engine": {"noop-10k": {"status": "error", "error": "wrong values"}}})
    ['wrong values']
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import (
    bench_dask,
    bench_engine,
    bench_limited,
    bench_pipeline,
    bench_scale,
    bench_store,
    profile_engine,
)
from benchmarks.child import ROOT, Context

__all__ = ["SECTIONS", "Section", "main"]

PACKAGES = ("rxsteps", "reactivex", "networkx", "dask", "distributed", "opentelemetry-api")


@dataclass(frozen=True)
class Section:
    """One part of the run: how it is measured (spawning children) and shown."""

    measure: Callable[[Context], Any]
    render: Callable[[Any], str]
    what: str


SECTIONS: dict[str, Section] = {
    "engine": Section(bench_engine.measure_engine, bench_engine.render_engine,
                      "µs/step end to end (10k DAG, 5k chain, 10k fan) and peak RSS"),
    "build": Section(bench_engine.measure_build, bench_engine.render_build,
                     "Steps + StepGraph + first validation, µs/step"),
    "makespan": Section(bench_engine.measure_makespan, bench_engine.render_makespan,
                        "200 sleeping steps: makespan ÷ critical path"),
    "limited": Section(bench_limited.measure, bench_limited.render,
                       "sleeping DAG with 4 and 8 slots: makespan ÷ max(critical path, "
                       "work ÷ slots)"),
    "store": Section(bench_store.measure, bench_store.render,
                     "a durable store's cost: µs/step on the 10k DAG, % of a sleeping "
                     "DAG's makespan"),
    "pipeline": Section(bench_pipeline.measure_throughput, bench_pipeline.render_throughput,
                        "pipeline events/s against asyncio.Queue + a task per event"),
    "latency": Section(bench_pipeline.measure_latency, bench_pipeline.render_latency,
                       "astream / observe latency p50/p99 against an async generator"),
    "cycles": Section(bench_scale.measure_cycles, bench_scale.render_cycles,
                      "time to reject big graphs with a cycle, against dask.get"),
    "dask": Section(bench_dask.measure, bench_dask.render,
                    "rxsteps on a LocalCluster against client.compute"),
    "profile": Section(profile_engine.measure, profile_engine.render,
                       "where the time per step goes: cProfile of the 10k DAG on threads"),
}


def machine() -> dict[str, Any]:
    """When, where and with what the benchmark runs."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "commit": _commit(), "platform": platform.platform(), "nproc": os.cpu_count(),
            "python": sys.version.split()[0], "packages": versions,
            "loadavg_start": os.getloadavg()}


def _commit() -> str:
    """The checked-out commit, and whether rxsteps/ has uncommitted changes (read-only)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rxsteps"], cwd=ROOT,
                               text=True, capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in rxsteps/" if dirty else "")


def failures(record: Any) -> list[str]:
    """Every ``error`` a section's records hold (nested dicts included)."""
    if isinstance(record, dict):
        found = [str(record["error"])] if record.get("status") == "error" else []
        return found + [e for value in record.values() for e in failures(value)]
    return []


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and one run each: a smoke test, figures meaningless")
    parser.add_argument("--only", action="append", choices=list(SECTIONS),
                        help="run only this section (repeatable)")
    parser.add_argument("--json", type=Path, default=Path("out/benchmarks.json"),
                        help="where to write every record (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=2, help="seed of every workload")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections; print their tables; write the JSON."""
    args = parse(argv)
    ctx = Context(quick=args.quick, seed=args.seed)
    info = machine()
    print(f"## rxsteps benchmarks{' (--quick: figures meaningless)' if args.quick else ''}"
          f" — {info['date']}\n\nrxsteps at {info['commit']}; {info['platform']}, "
          f"nproc {info['nproc']}, Python {info['python']}, "
          + ", ".join(f"{k} {v}" for k, v in info["packages"].items())
          + f"; load average {info['loadavg_start'][0]:.2f} at the start.\n", flush=True)
    started = time.perf_counter()
    results: dict[str, Any] = {}
    errors: list[str] = []
    for name, section in SECTIONS.items():
        if args.only and name not in args.only:
            continue
        print(f"{name}: {section.what}", file=sys.stderr, flush=True)
        results[name] = section.measure(ctx)
        errors += failures(results[name])
        print(section.render(results[name]) + "\n", flush=True)
    info.update(loadavg_end=os.getloadavg(), total_s=time.perf_counter() - started,
                quick=args.quick, seed=args.seed, errors=errors)
    print(f"Load average {info['loadavg_end'][0]:.2f} at the end; total "
          f"{info['total_s']:.0f} s" + (f"; **{len(errors)} failed**" if errors else "") + ".")
    for error in errors:
        print(f"- FAILED: {error}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": info, "sections": results}, indent=2) + "\n")
    return 1 if errors else 0
