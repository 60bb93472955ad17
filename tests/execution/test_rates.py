"""Rate limits: token buckets timed on the engine's timers, proven in virtual time.

A reactivex ``TestScheduler`` runs the steps and the token timers in virtual time, so
the start times are exact and nothing sleeps.
"""

from __future__ import annotations

import threading

import pytest
from reactivex.testing import TestScheduler

import rxsteps
from rxsteps import EventKind, Limiter, OptionError, Rate, Step, StepEvent, StepGraph, observe


def _starts(graph: StepGraph, **options: object) -> tuple[list[float], list[StepEvent]]:
    scheduler = TestScheduler()
    events: list[StepEvent] = []
    errors: list[BaseException] = []
    observe(graph, scheduler=scheduler, **options).subscribe(events.append, errors.append)
    scheduler.start()
    assert errors == []
    return [e.time for e in events if e.kind is EventKind.STARTED], events


def _calls(count: int, uses: str = "llm") -> StepGraph:
    return StepGraph([Step(f"s{i}", lambda: 1, uses=uses) for i in range(count)])


def test_a_burst_then_one_start_per_interval():
    starts, events = _starts(_calls(6), rates={"llm": "2/s"})
    assert starts == [0.0, 0.0, 0.5, 1.0, 1.5, 2.0]
    waiting = [(e.step, e.time, e.reason) for e in events if e.kind is EventKind.WAITING]
    assert waiting == [(f"s{i}", 0.0, "rate 'llm'") for i in range(2, 6)]


def test_burst_is_configurable():
    limiter = Limiter(rates={"llm": "60/min"}, burst=1)
    starts, _ = _starts(_calls(3), limits=limiter)
    assert starts == [0.0, 1.0, 2.0]


def test_rate_objects_and_hours():
    starts, _ = _starts(_calls(3), rates={"llm": Rate(1, per=3600, burst=2)})
    assert starts == [0.0, 0.0, 3600.0]
    assert Rate.parse("1000/h") == Rate(1000, 3600.0)


def test_capacity_and_rate_together():
    graph = StepGraph([Step(f"s{i}", lambda: 1, uses="llm") for i in range(4)])
    starts, _ = _starts(graph, limits=Limiter(limits={"llm": 1}, rates={"llm": "1/s"}))
    assert starts == [0.0, 1.0, 2.0, 3.0]


def test_retries_take_a_token_each():
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("again")
        return "ok"

    graph = StepGraph([Step("ask", flaky, uses="llm",
                            retry=rxsteps.Retry(attempts=3, backoff=0.1))])
    starts, _ = _starts(graph, rates={"llm": Rate(1, per=10.0)})
    assert starts == [0.0, 10.0, 20.0]


def test_a_shared_limiter_keeps_many_runs_under_one_quota():
    limiter = Limiter(rates={"llm": Rate(4, per=60.0)})
    scheduler = TestScheduler()
    times: list[float] = []
    lock = threading.Lock()

    def on_next(event: StepEvent) -> None:
        if event.kind is EventKind.STARTED:
            with lock:
                times.append(event.time)

    for _ in range(3):
        observe(_calls(2), scheduler=scheduler, limits=limiter).subscribe(on_next)
    scheduler.start()
    assert sorted(times) == [0.0, 0.0, 0.0, 0.0, 15.0, 30.0]


def test_bad_rates_are_refused():
    with pytest.raises(OptionError) as caught:
        Rate(0)
    assert str(caught.value) == "a rate's count must be a positive int, got 0"
    with pytest.raises(OptionError) as caught:
        Rate(1, per=0)
    assert str(caught.value) == "a rate's period must be a positive number of seconds, got 0"
    with pytest.raises(OptionError) as caught:
        Limiter(rates={"llm": "5/s"}, burst=0)
    assert str(caught.value) == "a rate's burst must be a positive int, got 0"
