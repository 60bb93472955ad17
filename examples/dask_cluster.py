"""A workflow on a local Dask cluster: where each step runs, what the events carry, and
what comes back to the client.

Run it (offline, a few seconds)::

    .venv/bin/python examples/dask_cluster.py

It starts a ``LocalCluster`` of two worker processes, runs a small text-statistics
workflow on it with ``scheduler=client``, prints every event as it happens (EMITTED
events carry Dask futures: the values stay on the workers), then prints the result,
which rxsteps gathered with one ``client.gather`` at the end. A second run with
``gather="outputs"`` fetches only the final step's value. The cluster is closed on
the way out.

The ``if __name__ == "__main__"`` guard matters: the workers are new processes that
import this file, and must not start clusters of their own.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from typing import Any

from distributed import Client, LocalCluster

from rxsteps import EventKind, Step, StepEvent, StepGraph, run
from rxsteps.backends.dask import DaskBackend

TEXTS = [
    "steps start the moment their inputs exist",
    "values stay on the workers that computed them",
    "the client only gathers what the caller reads",
]


def load() -> list[str]:
    return TEXTS


def count_words(texts: list[str]) -> tuple[dict[str, int], int]:
    counts = Counter(word for text in texts for word in text.split())
    return dict(counts.most_common(3)), os.getpid()


def longest_word(texts: list[str]) -> tuple[str, int]:
    return max((word for text in texts for word in text.split()), key=len), os.getpid()


def report(counts: tuple[dict[str, int], int], longest: tuple[str, int]) -> str:
    return f"top words {counts[0]}, longest word {longest[0]!r}"


GRAPH = StepGraph([
    Step("load", load),
    Step("count", count_words, ["load"]),
    Step("longest", longest_word, ["load"]),
    Step("report", report, ["count", "longest"]),
])


def describe(value: Any) -> str:
    if type(value).__name__ == "Future":
        return f"a Dask future ({value.status}, key {value.key[:20]}…)"
    return repr(value)


def printer(start: float) -> Any:
    def show(event: StepEvent) -> None:
        detail = describe(event.value) if event.kind is EventKind.EMITTED else ""
        print(f"  {event.time - start:6.3f} s  {event.step:<8} {event.kind.name:<9} {detail}")

    return show


def main() -> None:
    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
        silence_logs=logging.CRITICAL,
    ) as cluster, Client(cluster) as client:
        print(f"cluster of {len(cluster.workers)} worker processes; this is process "
              f"{os.getpid()}\n")
        print("events (run(graph, scheduler=client)):")
        result = run(GRAPH, scheduler=client, on_event=printer(time.monotonic()))
        print("\nresult, gathered once at the end:")
        for step in ("count", "longest"):
            value, pid = result[step]
            print(f"  {step:<8} = {value!r}  (computed in process {pid})")
        print(f"  report   = {result['report']!r}")

        outputs = run(GRAPH, scheduler=DaskBackend(client, gather="outputs"))
        print('\nwith gather="outputs" only the final value is fetched:')
        for step in GRAPH:
            print(f"  {step:<8} -> {describe(outputs[step])}")
    print("\ncluster closed")


if __name__ == "__main__":
    main()
