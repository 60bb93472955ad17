"""Contract, part 3: the event stream and cancellation, on every scheduler."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import reactivex as rx

from rxsteps import EventKind, Step, StepEvent, StepGraph, current, observe
from tests.support import make_scheduler

TERMINAL = {EventKind.SUCCEEDED, EventKind.FAILED, EventKind.SKIPPED, EventKind.CANCELLED}


def _diamond_of_streams() -> StepGraph:
    return StepGraph(
        [
            Step("a", lambda: (x for x in range(5))),
            Step("b", lambda a: a + 1, ["a"]),
            Step("c", lambda a: rx.of(a, a), ["a"]),
            Step("d", lambda b, c: b + c, ["b", "c"]),
            Step("e", lambda: "alone"),
        ]
    )


def test_per_step_order_started_emitted_succeeded(execute):
    outcome = execute(_diamond_of_streams())
    for step in "abcde":
        kinds = outcome.kinds(step)
        assert kinds[0] is EventKind.STARTED
        assert kinds[-1] is EventKind.SUCCEEDED
        assert kinds.count(EventKind.SUCCEEDED) == 1
        first_emit = kinds.index(EventKind.EMITTED)
        assert EventKind.STARTED in kinds[:first_emit]


def test_every_step_ends_in_exactly_one_terminal_event(execute):
    def bad(_: Any) -> None:
        raise RuntimeError("x")

    graph = StepGraph(
        [
            Step("a", lambda: 1),
            Step("bad", bad, ["a"]),
            Step("skipped", lambda b: b, ["bad"]),
            Step("empty", lambda a: (x for x in ()), ["a"]),
            Step("after_empty", lambda e: e, ["empty"]),
        ]
    )
    outcome = execute(graph, fail_fast=False)
    for step in graph:
        terminal = [k for k in outcome.kinds(step) if k in TERMINAL]
        assert len(terminal) == 1, (step, outcome.kinds(step))


def test_dependents_start_after_the_values_they_consume(execute):
    outcome = execute(_diamond_of_streams())
    events = outcome.events
    position = {id(e): i for i, e in enumerate(events)}
    emitted: dict[str, list[int]] = {}
    for e in events:
        if e.kind is EventKind.EMITTED:
            emitted.setdefault(e.step, []).append(position[id(e)])
    for e in events:
        if e.kind is EventKind.STARTED and e.step == "d":
            # call n of d needs value n of b and of c
            assert emitted["b"][e.index] < position[id(e)]
            assert emitted["c"][e.index] < position[id(e)]


def test_single_value_step_succeeds_before_any_dependent_starts(execute):
    graph = StepGraph(
        [Step("a", lambda: 1)] + [Step(f"d{i}", lambda a: a, ["a"]) for i in range(5)]
    )
    events = execute(graph).events
    succeeded = next(
        i for i, e in enumerate(events) if e.step == "a" and e.kind is EventKind.SUCCEEDED
    )
    first_dependent = min(i for i, e in enumerate(events) if e.step != "a")
    assert succeeded < first_dependent


def test_events_are_serial_and_in_time_order(execute, parallel):
    busy = threading.Lock()
    overlaps: list[StepEvent] = []
    seen: list[StepEvent] = []

    def on_event(event: StepEvent) -> None:
        if not busy.acquire(blocking=False):
            overlaps.append(event)
            return
        try:
            seen.append(event)
            time.sleep(0.0005)  # widen the window a concurrent delivery would hit
        finally:
            busy.release()

    graph = StepGraph([Step(f"s{i}", lambda i=i: (x for x in range(20))) for i in range(8)])
    execute(graph, on_event=on_event)
    assert overlaps == []
    times = [e.time for e in seen]
    assert times == sorted(times)
    assert len(seen) == 8 * (1 + 20 + 1)


def test_emitted_events_carry_the_values(execute):
    outcome = execute(_diamond_of_streams())
    values = [e.value for e in outcome.events if e.step == "c" and e.kind is EventKind.EMITTED]
    assert values == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert outcome.result.emitted("d") == [1, 2, 4, 5, 7]


def test_disposing_the_subscription_cancels_the_run(scheduler_kind, gate, parallel):

    scheduler, close = make_scheduler(scheduler_kind)
    if scheduler_kind == "asyncio":
        scheduler = "asyncio"  # the background loop, since nothing runs a loop here
    started = threading.Event()
    saw_cancel = threading.Event()
    async_cancelled = threading.Event()
    async_started = threading.Event()
    calls: list[str] = []

    def long_sync() -> str:
        started.set()
        context = current()
        if context.wait(30):
            saw_cancel.set()
        return "never used"

    async def long_async() -> None:
        async_started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            async_cancelled.set()
            raise

    graph = StepGraph(
        [
            Step("sync", long_sync),
            Step("async", long_async),
            Step("after", lambda s: calls.append("after"), ["sync"]),
        ]
    )
    events: list[StepEvent] = []
    subscription = observe(graph, scheduler=scheduler).subscribe(events.append)
    assert started.wait(10) and async_started.wait(10)
    subscription.dispose()
    count = len(events)
    assert saw_cancel.wait(10)
    assert async_cancelled.wait(10)
    assert calls == []
    assert len(events) == count  # nothing delivered after disposal
    close()
