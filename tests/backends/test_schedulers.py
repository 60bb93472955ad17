"""Choosing a scheduler, and refusing the ones that cannot work; inputs checked first."""

from __future__ import annotations

import asyncio

import pytest
from reactivex.scheduler import CurrentThreadScheduler, ImmediateScheduler, TrampolineScheduler
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.testing import TestScheduler

from rxsteps import InputError, SchedulerError, Step, StepGraph, arun, observe, run

GRAPH = StepGraph([Step("echo", lambda q: q, ["query"])], inputs=["query"])


@pytest.mark.parametrize(
    "scheduler", [ImmediateScheduler(), CurrentThreadScheduler(), TrampolineScheduler()]
)
def test_schedulers_on_the_calling_thread_are_refused(scheduler):
    name = type(scheduler).__name__
    with pytest.raises(SchedulerError) as info:
        run(GRAPH, {"query": 1}, scheduler=scheduler)
    assert str(info.value) == (
        f"{name} cannot run a step graph: it runs every step on the calling thread, nested "
        "in the previous one (no parallelism, timers that sleep, recursion limits); use "
        "'threads', 'asyncio' or a scheduler with threads of its own"
    )


def test_unknown_scheduler_name_suggests():
    with pytest.raises(SchedulerError) as info:
        observe(GRAPH, {"query": 1}, scheduler="thread")
    assert str(info.value) == (
        "unknown scheduler 'thread' (did you mean 'threads'?); use 'threads', 'asyncio', "
        "a reactivex scheduler or a concurrent.futures.Executor"
    )


def test_unknown_scheduler_object():
    with pytest.raises(SchedulerError, match=r"^unknown scheduler 42; use 'threads'"):
        run(GRAPH, {"query": 1}, scheduler=42)


def test_run_refuses_a_virtual_time_scheduler():
    with pytest.raises(SchedulerError, match=r"^run\(\) cannot wait on a virtual-time scheduler"):
        run(GRAPH, {"query": 1}, scheduler=TestScheduler())


def test_run_inside_the_loop_it_needs_is_refused():
    async def main() -> None:
        run(GRAPH, {"query": 1}, scheduler="asyncio")

    with pytest.raises(SchedulerError, match=r"^run\(\) would block the event loop"):
        asyncio.run(main())


def test_asyncio_scheduler_from_reactivex_uses_its_loop():
    async def main() -> object:
        return (
            await arun(
                GRAPH, {"query": "q"}, scheduler=AsyncIOScheduler(asyncio.get_running_loop())
            )
        )["echo"]

    assert asyncio.run(main()) == "q"


def test_missing_and_unknown_inputs_fail_before_anything_runs():
    calls: list[int] = []
    graph = StepGraph(
        [
            Step("a", lambda q: calls.append(1), ["query"]),
            Step("b", lambda q: calls.append(2), ["query"]),
        ],
        inputs=["query"],
    )
    with pytest.raises(InputError) as info:
        run(graph)
    assert str(info.value) == "missing input 'query', needed by steps 'a', 'b'"
    assert info.value.name == "query"
    with pytest.raises(InputError) as info:
        run(graph, {"query": 1, "qery": 2})
    assert (
        str(info.value)
        == "unknown input 'qery'; did you mean 'query'? (the graph declares 'query')"
    )
    with pytest.raises(InputError):
        observe(graph, {})
    assert calls == []


def test_bad_max_concurrency():
    with pytest.raises(ValueError, match=r"^max_concurrency must be a positive int, got 0$"):
        run(GRAPH, {"query": 1}, max_concurrency=0)


def test_sync_actions_do_not_block_the_event_loop():
    """A sync step blocks until an async step, which needs the loop, has run."""
    import threading

    async_ran = threading.Event()

    async def needs_loop() -> str:
        await asyncio.sleep(0)
        async_ran.set()
        return "async"

    graph = StepGraph([Step("sync", lambda: async_ran.wait(10)), Step("async", needs_loop)])

    async def main() -> dict[str, object]:
        return dict(await arun(graph))

    assert asyncio.run(main()) == {"sync": True, "async": "async"}


def test_cancelling_arun_cancels_the_run():
    import threading

    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def main() -> None:
        task = asyncio.ensure_future(arun(StepGraph([Step("f", forever)])))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert cancelled.wait(5)
