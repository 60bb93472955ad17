"""Async-native consumption: astream (events), apipeline (results), concurrent arun."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
import reactivex
from reactivex.disposable import Disposable
from reactivex.subject import Subject

from rxsteps import (
    EventKind,
    RunResult,
    Step,
    StepEvent,
    StepFailedError,
    StepGraph,
    apipeline,
    arun,
    astream,
    current,
)
from rxsteps.streaming import AsyncStream

WAIT = 30
T = TypeVar("T")


def drive(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main`` on a fresh loop, bounded in time."""

    async def bounded() -> T:
        return await asyncio.wait_for(main(), WAIT)

    return asyncio.run(bounded())


class Hang:
    """Flags of the ``hang`` step: it entered its action; it was cancelled."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.cancelled = asyncio.Event()


def hanging_graph(flags: Hang) -> StepGraph:
    """``quick`` then ``hang``, a coroutine that waits until it is cancelled."""
    cancelled = flags.cancelled

    async def hang(quick: int) -> int:
        try:
            flags.entered.set()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return quick

    return StepGraph([Step("quick", lambda: 1), Step("hang", hang, ["quick"])])


async def hanging(event: StepEvent, flags: Hang) -> bool:
    """Whether ``event`` is hang's STARTED; if so, once its action is running."""
    if event.kind is EventKind.STARTED and event.step == "hang":
        await flags.entered.wait()
        return True
    return False


# -- astream -------------------------------------------------------------------------------


@pytest.mark.parametrize("scheduler", ["asyncio", "threads"])
def test_astream_yields_every_event_in_order(scheduler: str) -> None:
    graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a + 1, ["a"])])

    async def main() -> list[tuple[str, str]]:
        return [(e.step, e.kind.name) async for e in astream(graph, scheduler=scheduler)]

    assert drive(main) == [("a", "STARTED"), ("a", "EMITTED"), ("a", "SUCCEEDED"),
                           ("b", "STARTED"), ("b", "EMITTED"), ("b", "SUCCEEDED")]


def test_astream_delivers_tokens_while_the_step_still_runs() -> None:
    async def main() -> list[str]:
        more = asyncio.Event()

        async def model() -> AsyncIterator[str]:
            yield "first"
            await more.wait()  # only the consumer, having seen "first", lets it go on
            yield "second"

        graph = StepGraph([Step("model", model)])
        seen = []
        async for event in astream(graph):
            if event.kind is EventKind.EMITTED:
                seen.append(event.value)
                more.set()
        return seen

    assert drive(main) == ["first", "second"]


def test_events_reach_the_consumer_loop_from_worker_threads() -> None:
    threads: set[str] = set()

    def work() -> str:
        threads.add(threading.current_thread().name)
        return "done"

    async def main() -> tuple[list[str], str]:
        names = [e.kind.name async for e in astream(StepGraph([Step("w", work)]),
                                                    scheduler="threads")]
        return names, threading.current_thread().name

    names, consumer = drive(main)
    assert names == ["STARTED", "EMITTED", "SUCCEEDED"]
    assert consumer not in threads


def test_a_value_produced_on_the_consumer_loop_is_queued_without_a_wake_up() -> None:
    observers: list[Any] = []
    stream: AsyncStream[int] = AsyncStream(lambda o: observers.append(o) or (lambda _: None))

    async def main() -> tuple[list[int], int, int]:
        loop = asyncio.get_running_loop()
        hops: list[Any] = []
        threadsafe = loop.call_soon_threadsafe

        def counting(*args: Any, **kwargs: Any) -> Any:
            hops.append(args)
            return threadsafe(*args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)  # the stream starts on its first __anext__
        observers[0].on_next(1)  # on the loop
        values = [await first]
        on_loop = len(hops)
        worker = threading.Thread(target=observers[0].on_next, args=(2,))
        worker.start()
        worker.join()
        values.append(await stream.__anext__())
        return values, on_loop, len(hops)

    assert drive(main) == ([1, 2], 0, 1)


def test_breaking_out_of_the_loop_cancels_the_run() -> None:
    async def main() -> None:
        flags = Hang()
        async for event in astream(hanging_graph(flags)):
            if await hanging(event, flags):
                break
        await flags.cancelled.wait()

    drive(main)


def test_aclose_and_async_with_cancel_the_run() -> None:
    async def main() -> None:
        flags = Hang()
        stream = astream(hanging_graph(flags))
        async for event in stream:
            if await hanging(event, flags):
                await stream.aclose()
        await flags.cancelled.wait()
        assert [e async for e in stream] == []  # closed: iteration is over

        flags = Hang()
        async with astream(hanging_graph(flags)) as events:
            async for event in events:
                if await hanging(event, flags):
                    break
        await flags.cancelled.wait()

    drive(main)


def test_cancelling_the_consumer_task_cancels_the_run() -> None:
    async def main() -> None:
        flags = Hang()

        async def consume() -> None:
            async for _event in astream(hanging_graph(flags)):
                pass

        task = asyncio.create_task(consume())
        await flags.entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await flags.cancelled.wait()

    drive(main)


def test_a_thread_action_is_told_when_the_stream_is_closed() -> None:
    entered, told = threading.Event(), threading.Event()

    def block() -> None:
        entered.set()
        if current().wait(WAIT):
            told.set()

    async def main() -> None:
        async with astream(StepGraph([Step("block", block)]), scheduler="threads") as events:
            async for event in events:
                if event.kind is EventKind.STARTED:
                    assert await asyncio.to_thread(entered.wait, WAIT)
                    break

    drive(main)
    assert told.wait(WAIT)


def test_fail_fast_raises_after_the_failed_and_cancelled_events() -> None:
    async def slow() -> str:
        await asyncio.sleep(WAIT)
        return "never"

    def broken() -> None:
        raise KeyError("missing")

    graph = StepGraph([Step("slow", slow), Step("broken", broken)])

    async def main() -> tuple[list[tuple[str, str]], StepFailedError]:
        seen: list[tuple[str, str]] = []
        try:
            async for event in astream(graph):
                seen.append((event.step, event.kind.name))
        except StepFailedError as error:
            return seen, error
        raise AssertionError("no StepFailedError")

    seen, error = drive(main)
    assert error.step == "broken" and isinstance(error.__cause__, KeyError)
    assert seen[-2:] == [("broken", "FAILED"), ("slow", "CANCELLED")]
    assert error.result is not None and error.result.status["slow"].value == "cancelled"


def test_astream_checks_its_arguments_at_once() -> None:
    graph = StepGraph([Step("echo", lambda q: q, ["q"])], inputs=["q"])
    with pytest.raises(ValueError):
        astream(graph, {})
    with pytest.raises(ValueError):
        astream(graph, {"q": 1}, scheduler="thread")


# -- apipeline -----------------------------------------------------------------------------


def test_apipeline_yields_results_in_order_with_failures_as_values() -> None:
    async def check(q: int) -> int:
        await asyncio.sleep(0.001 * (q % 3))  # finish out of order
        if q == 4:
            raise ValueError("bad event")
        return q * q

    graph = StepGraph([Step("check", check, ["q"])], inputs=["q"])

    async def main() -> list[RunResult]:
        source = reactivex.from_iterable(range(10))
        return [r async for r in apipeline(graph, {"q": source}, max_in_flight=4)]

    results = drive(main)
    assert [r.sequence for r in results] == list(range(10))
    assert isinstance(results[4].failure, StepFailedError)
    assert [r["check"] for r in results if r.sequence != 4] == [
        q * q for q in range(10) if q != 4]


def test_apipeline_results_hold_their_slot_until_taken() -> None:
    started: list[int] = []

    async def work(q: int) -> int:
        started.append(q)
        return q

    graph = StepGraph([Step("work", work, ["q"])], inputs=["q"])

    async def main() -> list[int]:
        stream = apipeline(graph, {"q": reactivex.from_iterable(range(10))}, max_in_flight=2)
        first = await stream.__anext__()
        await asyncio.sleep(0.2)  # ample time for more runs, were slots free
        snapshot = list(started)
        rest = [r.sequence async for r in stream]
        assert first.sequence == 0 and rest == list(range(1, 10))
        return snapshot

    assert drive(main) == [0, 1, 2]  # 2 slots, plus the one freed by taking result 0


def test_a_producer_on_the_consumer_loop_is_never_blocked() -> None:
    async def echo(q: int) -> int:
        await asyncio.sleep(0)
        return q

    graph = StepGraph([Step("echo", echo, ["q"])], inputs=["q"])

    async def main() -> list[int | None]:
        subject: Subject[int] = Subject()
        stream = apipeline(graph, {"q": subject}, max_in_flight=1, buffer=1)
        first = asyncio.create_task(stream.__anext__())
        await asyncio.sleep(0)  # the pipeline is subscribed
        for q in range(20):  # on the loop: blocking here would stop the runs
            subject.on_next(q)
        subject.on_completed()
        return [(await first).sequence] + [r.sequence async for r in stream]

    assert drive(main) == list(range(20))


def test_leaving_apipeline_disposes_the_source_and_cancels_runs() -> None:
    disposed = threading.Event()
    observers: list[Any] = []

    def subscribe(observer: Any, _scheduler: Any = None) -> Disposable:
        observers.append(observer)
        return Disposable(disposed.set)

    async def main() -> None:
        entered, cancelled = asyncio.Event(), asyncio.Event()

        async def work(q: int) -> int:
            if q == 0:
                return q
            try:
                entered.set()
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return q

        graph = StepGraph([Step("work", work, ["q"])], inputs=["q"])
        async with apipeline(graph, {"q": reactivex.create(subscribe)}) as results:
            first = asyncio.create_task(results.__anext__())
            await asyncio.sleep(0)
            observers[0].on_next(0)
            observers[0].on_next(1)
            assert (await first).sequence == 0
            await entered.wait()
        await cancelled.wait()

    drive(main)
    assert disposed.is_set()


# -- many runs on one loop -----------------------------------------------------------------


def test_a_hundred_concurrent_aruns_on_one_loop_stay_isolated() -> None:
    async def fetch(q: int) -> list[int]:
        for _ in range(3):
            await asyncio.sleep(0)
        return [q, q]

    def combine(pages: list[int], q: int) -> int:
        return sum(pages) + q

    graph = StepGraph([Step("fetch", fetch, ["q"]), Step("combine", combine, ["fetch", "q"])],
                      inputs=["q"])

    async def main() -> list[RunResult]:
        return await asyncio.gather(*(arun(graph, {"q": q}) for q in range(100)))

    results = drive(main)
    for q, result in enumerate(results):
        assert result.inputs == {"q": q}
        assert result["fetch"] == [q, q] and result["combine"] == 3 * q
