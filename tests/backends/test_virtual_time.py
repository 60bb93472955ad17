"""Timing behaviour in reactivex's virtual time: exact, and no sleeping."""

from __future__ import annotations

import reactivex as rx
from reactivex import operators as ops
from reactivex.testing import TestScheduler

from rxsteps import EventKind, Retry, Step, StepEvent, StepGraph, StepTimeoutError, observe


def _collect(
    graph: StepGraph, scheduler: TestScheduler
) -> tuple[list[StepEvent], list[BaseException]]:
    events: list[StepEvent] = []
    errors: list[BaseException] = []
    observe(graph, scheduler=scheduler).subscribe(events.append, errors.append)
    scheduler.start()
    return events, errors


def test_retry_backoff_happens_at_exact_virtual_times():
    scheduler = TestScheduler()
    calls: list[float] = []

    def flaky() -> str:
        calls.append(scheduler.clock)
        if len(calls) < 4:
            raise ConnectionError("again")
        return "ok"

    graph = StepGraph(
        [Step("f", flaky, retry=Retry(attempts=4, backoff=10, multiplier=3, max_backoff=1000))]
    )
    events, errors = _collect(graph, scheduler)
    assert errors == []
    assert calls == [0.0, 10.0, 40.0, 130.0]
    started = [e.time for e in events if e.kind is EventKind.STARTED]
    assert started == [0.0, 10.0, 40.0, 130.0]
    assert events[-1].kind is EventKind.SUCCEEDED and events[-1].time == 130.0


def test_timeout_of_an_observable_in_virtual_time():
    scheduler = TestScheduler()
    graph = StepGraph([Step("slow", lambda: rx.timer(100.0, scheduler=scheduler), timeout=30)])
    events, errors = _collect(graph, scheduler)
    failed = [e for e in events if e.kind is EventKind.FAILED]
    assert len(failed) == 1 and failed[0].time == 30.0
    assert isinstance(failed[0].error, StepTimeoutError)
    assert len(errors) == 1


def test_streaming_observable_values_arrive_at_their_virtual_times():
    scheduler = TestScheduler()
    graph = StepGraph(
        [
            Step("ticks", lambda: rx.interval(5.0, scheduler=scheduler).pipe(ops.take(3))),
            Step("double", lambda t: 2 * t, ["ticks"]),
        ]
    )
    events, errors = _collect(graph, scheduler)
    assert errors == []
    emitted = [
        (e.time, e.value) for e in events if e.step == "double" and e.kind is EventKind.EMITTED
    ]
    assert emitted == [(5.0, 0), (10.0, 2), (15.0, 4)]
