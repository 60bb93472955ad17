"""Pipelines and streaming against hand-written asyncio (issue 12, goal 3).

1. **Throughput**, events/s: a 5-step graph (a diamond: ``a`` → ``b``, ``c`` → ``d``
   → ``e``) through :func:`rxsteps.pipeline` with sync steps, and with coroutine steps,
   against an ``asyncio.Queue`` feeding one task per event that runs the same five
   functions in dependency order (``b`` and ``c`` together), with the same in-flight
   bound. The five functions do a little arithmetic, so every system's results are
   checked (their sum and count). Median of 5 runs after a warm-up.
2. **Latency** from a streaming step's ``yield`` to the subscriber seeing the value,
   p50 and p99 over all values: :func:`rxsteps.astream` (async generator step),
   :func:`rxsteps.observe` (generator step, threads), and an async generator pumped
   into an ``asyncio.Queue`` read by a consumer. The values are paced, so latency,
   not queueing, is measured.

Each system runs in its own fresh interpreter (:mod:`benchmarks.child`). Run from a
clone: ``.venv/bin/python -m benchmarks --only pipeline --only latency``.

Example:
    >>> record = throughput("baseline-sync", events=50, reps=1, seed=1, quick=True)
    >>> record["events"], len(record["samples_s"])
    (50, 1)
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from benchmarks.child import Context
from benchmarks.errors import BenchmarkError
from benchmarks.report import cell, markdown, ratio
from benchmarks.timing import percentile, time_each

__all__ = ["TASKS", "latency", "throughput"]

MODULE = "benchmarks.bench_pipeline"
IN_FLIGHT = 8
PACE = 0.0005  # seconds between streamed values
EVENTS, VALUES, REPS = 20_000, 2_000, 5
QUICK_EVENTS, QUICK_VALUES = 200, 50
DEADLINE_S = 300.0


# -- the five functions, sync and coroutine ------------------------------------------------


def fa(q: int) -> int:
    return q + 1


def fb(a: int) -> int:
    return a * 2


def fc(a: int) -> int:
    return a + 3


def fd(b: int, c: int) -> int:
    return b + c


def fe(d: int) -> int:
    return d * 5


SYNC: list[Callable[..., int]] = [fa, fb, fc, fd, fe]


def _coroutine(fn: Callable[..., int]) -> Callable[..., Any]:
    async def step(*args: int) -> int:
        return fn(*args)

    step.__name__ = fn.__name__
    return step


ASYNC = [_coroutine(fn) for fn in SYNC]


def expected_sum(events: int) -> int:
    """The sum of ``e`` over inputs ``0..events-1``: what every system must produce."""
    return sum(fe(fd(fb(fa(q)), fc(fa(q)))) for q in range(events))


def _check(events: int, who: str) -> Callable[[tuple[int, int]], None]:
    want = (events, expected_sum(events))

    def check(got: tuple[int, int]) -> None:
        if got != want:
            raise BenchmarkError(f"{who}: (count, sum of e) is {got}, expected {want}")

    return check


# -- throughput systems: each returns (count, sum of e) --------------------------------------


def rxsteps_pipeline(events: int, coroutines: bool) -> tuple[int, int]:
    """``rxsteps.pipeline`` over ``events`` inputs; the graph is built per run too."""
    import reactivex

    from rxsteps import Step, StepGraph, pipeline

    a, b, c, d, e = ASYNC if coroutines else SYNC
    graph = StepGraph([Step("a", a, ["q"]), Step("b", b, ["a"]), Step("c", c, ["a"]),
                       Step("d", d, ["b", "c"]), Step("e", e, ["d"])], inputs=["q"])
    done, totals, errors = threading.Event(), [0, 0], []

    def on_next(result: Any) -> None:
        totals[0] += 1
        totals[1] += result["e"]

    def on_error(error: Exception) -> None:
        errors.append(error)
        done.set()

    pipeline(graph, {"q": reactivex.from_iterable(range(events))},
             max_in_flight=IN_FLIGHT).subscribe(on_next, on_error, done.set)
    done.wait()
    if errors:
        raise BenchmarkError(f"the pipeline failed: {errors[0]!r}") from errors[0]
    return totals[0], totals[1]


def baseline(events: int, coroutines: bool) -> tuple[int, int]:
    """``asyncio.Queue`` + a task per event running the five functions in order."""

    async def one(q: int) -> int:
        if coroutines:
            a = await ASYNC[0](q)
            b, c = await asyncio.gather(ASYNC[1](a), ASYNC[2](a))
            return int(await ASYNC[4](await ASYNC[3](b, c)))
        a = fa(q)
        return fe(fd(fb(a), fc(a)))

    async def main() -> tuple[int, int]:
        inbox: asyncio.Queue[int | None] = asyncio.Queue(maxsize=1000)
        slots = asyncio.Semaphore(IN_FLIGHT)
        totals = [0, 0]
        tasks: set[asyncio.Task[None]] = set()

        async def handle(q: int) -> None:
            try:
                e = await one(q)
                totals[0] += 1
                totals[1] += e
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
        return totals[0], totals[1]

    return asyncio.run(main())


#: key -> (table name, runner(events), the baseline it is compared with)
THROUGHPUT: dict[str, tuple[str, Callable[[int], tuple[int, int]], str | None]] = {
    "rxsteps-sync": ("`rxsteps.pipeline`, sync steps",
                     lambda n: rxsteps_pipeline(n, False), "baseline-sync"),
    "rxsteps-coroutine": ("`rxsteps.pipeline`, coroutine steps",
                          lambda n: rxsteps_pipeline(n, True), "baseline-coroutine"),
    "baseline-sync": ("baseline: `asyncio.Queue` + task per event, sync functions",
                      lambda n: baseline(n, False), None),
    "baseline-coroutine": ("baseline: `asyncio.Queue` + task per event, coroutines",
                           lambda n: baseline(n, True), None),
}


def throughput(system: str, *, events: int, reps: int, seed: int,
               quick: bool) -> dict[str, Any]:
    """Seconds for ``events`` events, ``reps`` times after a warm-up of a tenth."""
    fn = THROUGHPUT[system][1]
    _check(max(1, events // 10), system)(fn(max(1, events // 10)))
    samples = time_each(lambda: fn(events), reps=reps, check=_check(events, system))
    return {"events": events, "samples_s": samples,
            "events_per_s": events / statistics.median(samples)}


# -- latency -----------------------------------------------------------------------------


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
    from rxsteps import EventKind, Step, StepGraph, astream

    # an async generator function, as users write a streaming step
    graph = StepGraph([Step("tokens", functools.partial(stamped, count))])

    async def main() -> list[float]:
        return [time.perf_counter() - e.value async for e in astream(graph)
                if e.kind is EventKind.EMITTED]

    return asyncio.run(main())


def latency_observe(count: int) -> list[float]:
    from rxsteps import EventKind, Step, StepEvent, StepGraph, observe

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


LATENCY: dict[str, tuple[str, Callable[[int], list[float]]]] = {
    "astream": ("`rxsteps.astream` (asyncio, async generator step)", latency_astream),
    "observe": ("`rxsteps.observe` (threads, generator step)", latency_observe),
    "baseline": ("baseline: async generator → `asyncio.Queue`", latency_baseline),
}


def latency(system: str, *, values: int, seed: int, quick: bool) -> dict[str, Any]:
    """p50/p99 seconds from a ``yield`` to the consumer, over ``values`` values."""
    delays = LATENCY[system][1](values)
    if len(delays) != values:
        raise BenchmarkError(f"{system}: {len(delays)} values arrived, not {values}")
    return {"values": values, "p50_s": percentile(delays, 50), "p99_s": percentile(delays, 99)}


TASKS = {"throughput": throughput, "latency": latency}


# -- sections ----------------------------------------------------------------------------


def measure_throughput(ctx: Context) -> dict[str, Any]:
    events, reps = (QUICK_EVENTS, 1) if ctx.quick else (EVENTS, REPS)
    return {s: ctx.spawn(MODULE, "throughput", deadline_s=DEADLINE_S, system=s, events=events,
                         reps=reps) for s in THROUGHPUT}


def _rate(record: dict[str, Any]) -> float | None:
    return float(record["events_per_s"]) if record.get("status") == "ok" else None


def render_throughput(out: dict[str, Any]) -> str:
    rows = []
    for key, (name, _, base) in THROUGHPUT.items():
        vs = ratio(_rate(out[key]), _rate(out[base])) if base else "1.00"
        rows.append([name, cell(out[key], lambda r: f"{r['events_per_s']:,.0f}"), vs])
    some: dict[str, Any] = next((r for r in out.values() if r.get("status") == "ok"), {})
    return (f"### Pipelines: a 5-step graph per event, max_in_flight={IN_FLIGHT}, "
            f"{some.get('events', 0):,} events (median of {len(some.get('samples_s', []))})\n\n"
            + markdown(["pipeline", "events/s", "÷ its baseline (target ≥ 1.0)"], rows))


def measure_latency(ctx: Context) -> dict[str, Any]:
    values = QUICK_VALUES if ctx.quick else VALUES
    return {s: ctx.spawn(MODULE, "latency", deadline_s=DEADLINE_S, system=s, values=values)
            for s in LATENCY}


def render_latency(out: dict[str, Any]) -> str:
    def p50(r: dict[str, Any]) -> float | None:
        return float(r["p50_s"]) if r.get("status") == "ok" else None

    rows = [[name, cell(out[key], lambda r: f"{r['p50_s'] * 1e6:,.0f}"),
             cell(out[key], lambda r: f"{r['p99_s'] * 1e6:,.0f}"),
             ratio(p50(out[key]), p50(out["baseline"]))]
            for key, (name, _) in LATENCY.items()]
    some: dict[str, Any] = next((r for r in out.values() if r.get("status") == "ok"), {})
    return (f"### Streaming latency, emission → consumer, {some.get('values', 0):,} values "
            f"one every {PACE * 1e3:g} ms\n\n"
            + markdown(["stream", "p50 µs", "p99 µs", "p50 ÷ baseline (target ≤ 1.2)"], rows))
