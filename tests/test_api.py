"""observe(): a cold observable, one run per subscription, ending as the run ends."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
import reactivex.operators as ops

from rxsteps import EventKind, Step, StepFailedError, StepGraph, arun, current, observe


def test_each_subscription_is_an_independent_run():
    calls: list[int] = []
    lock = threading.Lock()

    def count() -> int:
        with lock:
            calls.append(1)
            return len(calls)

    events = observe(StepGraph([Step("a", count)]))
    first = events.pipe(ops.to_list()).run()
    second = events.pipe(ops.to_list()).run()
    assert len(calls) == 2
    assert [e.value for e in first if e.kind is EventKind.SUCCEEDED] == [1]
    assert [e.value for e in second if e.kind is EventKind.SUCCEEDED] == [2]


def test_fail_fast_errors_after_failed_and_cancelled_events():
    gate = threading.Event()

    def bad() -> None:
        raise ValueError("boom")

    graph = StepGraph([Step("bad", bad), Step("slow", lambda: gate.wait(10))])
    seen: list[object] = []
    done = threading.Event()
    observe(graph).subscribe(seen.append, lambda e: (seen.append(e), done.set()))
    assert done.wait(10)
    gate.set()
    *events, error = seen
    assert isinstance(error, StepFailedError) and error.step == "bad"
    kinds = [(e.step, e.kind) for e in events]
    assert ("bad", EventKind.FAILED) in kinds
    assert kinds.index(("bad", EventKind.FAILED)) < len(kinds)
    terminal = {e.step: e.kind for e in events if e.kind.terminal}
    assert terminal == {"bad": EventKind.FAILED, "slow": EventKind.CANCELLED}
    assert error.result is not None and error.result.reasons["slow"] == "step 'bad' failed"


def test_completes_after_the_last_event():
    order: list[str] = []
    done = threading.Event()
    observe(StepGraph([Step("a", lambda: 1)])).subscribe(
        lambda e: order.append(e.kind.name), on_completed=lambda: (order.append("done"), done.set())
    )
    assert done.wait(10)
    assert order == ["STARTED", "EMITTED", "SUCCEEDED", "done"]


def test_a_run_with_nothing_to_do_completes():
    from rxsteps import run

    assert dict(run(StepGraph())) == {}
    graph = StepGraph([Step("a", lambda: 1)])
    first = run(graph)
    again = run(graph, resume=first)  # every step already succeeded
    assert dict(again) == {"a": 1}
    events = observe(StepGraph(inputs=["q"]), {"q": 1}).pipe(ops.to_list()).run()
    assert events == []


def test_a_run_cancelled_before_it_starts_starts_nothing():
    import threading as _threading

    from rxsteps.backends.resolve import resolve_backend
    from rxsteps.execution.run import Run

    calls: list[int] = []
    done = _threading.Event()
    execution = Run(
        StepGraph([Step("a", lambda: calls.append(1))]),
        {},
        resolve_backend("threads"),
        on_done=lambda _: done.set(),
    )
    execution.cancel("too late")
    execution.start()
    assert done.wait(5)
    assert calls == []
    assert execution.result is not None
    assert execution.result.reasons["a"] == "too late"


def test_arun_whose_loop_closed_before_its_end_was_delivered_logs_nothing(
        caplog: pytest.LogCaptureFixture) -> None:
    # after Ctrl-C, asyncio.run closes its loop; the cancelled run's end came later and
    # logged "RuntimeError: Event loop is closed" (an event observer raised)
    asked = threading.Event()

    class Loop(asyncio.SelectorEventLoop):
        def is_closed(self) -> bool:
            closed = super().is_closed()
            if closed and threading.current_thread() is not threading.main_thread():
                asked.set()  # the run's end, on its delivery thread, saw it closed
            return closed

    started, release = threading.Event(), threading.Event()

    def never() -> None:
        started.set()
        current().wait(30)

    def on_event(event: object) -> None:
        if getattr(event, "kind", None) is EventKind.STARTED:
            release.wait(10)  # delivery waits here, so the run's end comes after the close

    async def until_started() -> None:
        while not started.is_set():
            await asyncio.sleep(0.005)

    loop = Loop()
    task = loop.create_task(arun(StepGraph([Step("never", never)]), on_event=on_event))
    loop.run_until_complete(until_started())
    task.cancel()
    loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
    loop.close()
    with caplog.at_level(logging.ERROR, logger="rxsteps"):
        release.set()
        assert asked.wait(5)
    assert [r.getMessage() for r in caplog.records] == []
