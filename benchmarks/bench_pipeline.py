"""Benchmark: rxsteps pipelines against a hand-written asyncio baseline.

1. Throughput (events/s) of a 5-step graph of no-op steps (a diamond: ``a`` → ``b``,
   ``c`` → ``d`` → ``e``) through :func:`rxsteps.pipeline` / :func:`rxsteps.apipeline`,
   against an ``asyncio.Queue`` feeding one task per event that runs the same five
   no-ops in dependency order (``b`` and ``c`` together), with the same in-flight bound.
2. Latency from a streaming step's ``yield`` to the subscriber seeing the value
   (p50/p99), through :func:`rxsteps.astream`, :func:`rxsteps.observe`, and the
   baseline (an async generator pumped into an ``asyncio.Queue`` read by a consumer).

Everything is measured in one process, one after another, in the same run. Prints a
Markdown table. Not a test: numbers depend on the machine.

Run: ``python benchmarks/bench_pipeline.py [--events N] [--values M]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import reactivex

from rxsteps import EventKind, Step, StepEvent, StepGraph, apipeline, astream, observe, pipeline

IN_FLIGHT = 8
PACE = 0.0005  # seconds between streamed values: latency, not queueing, is measured


# -- throughput ----------------------------------------------------------------------------


def diamond(asynchronous: bool) -> StepGraph:
    """Five no-op steps: a → (b, c) → d → e, sync functions or coroutines."""

    def noop(*args: Any) -> int:
        return 0

    async def anoop(*args: Any) -> int:
        return 0

    fn = anoop if asynchronous else noop
    return StepGraph(
        [Step("a", fn, ["q"]), Step("b", fn, ["a"]), Step("c", fn, ["a"]),
         Step("d", fn, ["b", "c"]), Step("e", fn, ["d"])],
        inputs=["q"],
    )


def pipeline_threads(events: int) -> float:
    """Sync no-op steps on worker threads; seconds for ``events`` events."""
    done = threading.Event()
    start = time.perf_counter()
    pipeline(diamond(False), {"q": reactivex.from_iterable(range(events))},
             max_in_flight=IN_FLIGHT).subscribe(on_completed=done.set)
    done.wait()
    return time.perf_counter() - start


def apipeline_asyncio(events: int) -> float:
    """Coroutine no-op steps on the consumer's loop, consumed with ``async for``."""

    async def main() -> float:
        start = time.perf_counter()
        count = 0
        async for _result in apipeline(diamond(True), {"q": reactivex.from_iterable(
                range(events))}, max_in_flight=IN_FLIGHT):
            count += 1
        assert count == events
        return time.perf_counter() - start

    return asyncio.run(main())


def baseline_throughput(events: int) -> float:
    """asyncio.Queue + a task per event running the five no-ops in order."""

    async def noop(*args: Any) -> int:
        return 0

    async def one(q: int) -> int:
        a = await noop(q)
        b, c = await asyncio.gather(noop(a), noop(a))
        return await noop(await noop(b, c))

    async def main() -> float:
        start = time.perf_counter()
        inbox: asyncio.Queue[int | None] = asyncio.Queue(maxsize=1000)
        slots = asyncio.Semaphore(IN_FLIGHT)
        finished = 0
        tasks: set[asyncio.Task[None]] = set()

        async def handle(q: int) -> None:
            nonlocal finished
            try:
                await one(q)
                finished += 1
            finally:
                slots.release()

        async def produce() -> None:
            for q in range(events):
                await inbox.put(q)
            await inbox.put(None)

        producer = asyncio.create_task(produce())
        while (q := await inbox.get()) is not None:
            await slots.acquire()
            task = asyncio.create_task(handle(q))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(producer, *tasks)
        assert finished == events
        return time.perf_counter() - start

    return asyncio.run(main())


# -- latency -------------------------------------------------------------------------------


async def stamped(count: int) -> AsyncIterator[float]:
    """Yields the time of each yield, paced."""
    for _ in range(count):
        await asyncio.sleep(PACE)
        yield time.perf_counter()


def stamped_sync(count: int) -> Callable[[], Iterator[float]]:
    def generate() -> Iterator[float]:
        for _ in range(count):
            time.sleep(PACE)
            yield time.perf_counter()
    return generate


def latency_astream(count: int) -> list[float]:
    graph = StepGraph([Step("tokens", lambda: stamped(count))])

    async def main() -> list[float]:
        return [time.perf_counter() - e.value async for e in astream(graph)
                if e.kind is EventKind.EMITTED]

    return asyncio.run(main())


def latency_observe(count: int) -> list[float]:
    delays: list[float] = []
    done = threading.Event()

    def on_next(event: StepEvent) -> None:
        if event.kind is EventKind.EMITTED:
            delays.append(time.perf_counter() - event.value)

    observe(StepGraph([Step("tokens", stamped_sync(count))])).subscribe(
        on_next, on_completed=done.set)
    done.wait()
    return delays


def latency_baseline(count: int) -> list[float]:
    async def main() -> list[float]:
        queue: asyncio.Queue[float | None] = asyncio.Queue()

        async def pump() -> None:
            async for stamp in stamped(count):
                queue.put_nowait(stamp)
            queue.put_nowait(None)

        task = asyncio.create_task(pump())
        delays = []
        while (stamp := await queue.get()) is not None:
            delays.append(time.perf_counter() - stamp)
        await task
        return delays

    return asyncio.run(main())


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per throughput run")
    parser.add_argument("--values", type=int, default=2_000, help="values per latency run")
    args = parser.parse_args()
    throughput = ["| pipeline | events/s |", "|---|---:|"]
    for name, bench in [("rxsteps.pipeline (threads, sync no-op steps)", pipeline_threads),
                        ("rxsteps.apipeline (asyncio, coroutine no-op steps)", apipeline_asyncio),
                        ("baseline: asyncio.Queue + task per event", baseline_throughput)]:
        bench(min(1000, args.events))  # warm up
        seconds = min(bench(args.events) for _ in range(3))
        throughput.append(f"| {name} | {args.events / seconds:,.0f} |")
    latency = ["| emission → subscriber | p50 µs | p99 µs |", "|---|---:|---:|"]
    for name, measure in [("rxsteps.astream (asyncio, async generator step)", latency_astream),
                          ("rxsteps.observe (threads, generator step)", latency_observe),
                          ("baseline: async generator → asyncio.Queue", latency_baseline)]:
        delays = measure(args.values)
        assert len(delays) == args.values
        latency.append(f"| {name} | {percentile(delays, 50) * 1e6:,.0f} "
                       f"| {percentile(delays, 99) * 1e6:,.0f} |")
    print(f"Throughput: 5-step no-op graph, max_in_flight={IN_FLIGHT}, {args.events:,} "
          "events, best of 3\n")
    print("\n".join(throughput))
    print(f"\nLatency: {args.values:,} streamed values, one every {PACE * 1e3:g} ms\n")
    print("\n".join(latency))


if __name__ == "__main__":
    main()
