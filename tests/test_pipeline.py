"""rxsteps.pipeline: per-event runs, order, slots, buffering policies, errors, disposal,
memory."""

from __future__ import annotations

import gc
import threading
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
import reactivex
from reactivex import operators as ops
from reactivex.abc import ObserverBase
from reactivex.disposable import Disposable
from reactivex.subject import Subject

from rxsteps import (
    BufferOverflowError,
    InputError,
    RunResult,
    Step,
    StepFailedError,
    StepGraph,
    StepStatus,
    current,
    pipeline,
)

WAIT = 30  # generous bound for anything that should happen at once


class Collector(ObserverBase[RunResult]):
    """Observer recording results, the end of the stream, and the error."""

    def __init__(self, on_result: Callable[[RunResult], Any] | None = None) -> None:
        self.results: list[RunResult] = []
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.arrived = threading.Semaphore(0)
        self._on_result = on_result

    def on_next(self, result: RunResult) -> None:
        self.results.append(result)
        self.arrived.release()
        if self._on_result is not None:
            self._on_result(result)

    def on_error(self, error: BaseException) -> None:
        self.error = error
        self.done.set()

    def on_completed(self) -> None:
        self.done.set()

    def wait_results(self, count: int) -> None:
        for _ in range(count):
            assert self.arrived.acquire(timeout=WAIT), f"got {len(self.results)} results"

    @property
    def sequences(self) -> list[int | None]:
        return [r.sequence for r in self.results]


def gated_graph(gates: dict[int, threading.Event], started: dict[int, threading.Event]
                ) -> StepGraph:
    """One step that holds event ``q`` until ``gates[q]`` is set (when there is one)."""

    def work(q: int) -> int:
        if q in started:
            started[q].set()
        if q in gates:
            assert gates[q].wait(WAIT)
        return q * 10

    return StepGraph([Step("work", work, ["q"])], inputs=["q"])


def produce(subject: Subject[int], values: range, emitted: dict[int, threading.Event],
            after_first: threading.Event) -> threading.Thread:
    """A producer on a thread of its own, telling when each ``on_next`` returned; it
    goes on after the first value once ``after_first`` is set."""

    def loop() -> None:
        for value in values:
            subject.on_next(value)
            emitted[value].set()
            if value == values[0]:
                assert after_first.wait(WAIT)
        subject.on_completed()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


# -- events and results --------------------------------------------------------------------


def test_ten_thousand_events_each_get_their_own_result() -> None:
    graph = StepGraph(
        [Step("parse", lambda q: int(q), ["q"]),
         Step("square", lambda n: n * n, ["parse"]),
         Step("label", lambda n, s, tag: f"{tag}{n}:{s}", ["parse", "square", "tag"])],
        inputs=["q", "tag"],
    )
    source = reactivex.from_iterable(str(i) for i in range(10_000))
    results = pipeline(graph, {"q": source, "tag": "#"}).pipe(ops.to_list()).run()
    assert len(results) == 10_000
    for i, result in enumerate(results):
        assert result.sequence == i
        assert result.inputs == {"q": str(i), "tag": "#"}
        assert result["label"] == f"#{i}:{i * i}"
        assert result.ok and result.failure is None


def test_several_streams_are_zipped_and_the_shortest_ends_the_pipeline() -> None:
    graph = StepGraph([Step("pair", lambda a, b, c: (a, b, c), ["a", "b", "c"])],
                      inputs=["a", "b", "c"])
    out = pipeline(graph, {"a": reactivex.of(1, 2, 3, 4), "b": reactivex.of("x", "y", "z"),
                           "c": "const"}).pipe(ops.to_list()).run()
    assert [r["pair"] for r in out] == [(1, "x", "const"), (2, "y", "const"), (3, "z", "const")]
    assert [r.sequence for r in out] == [0, 1, 2]


def test_bad_inputs_and_options_fail_before_subscribing() -> None:
    graph = StepGraph([Step("s", lambda q: q, ["q"])], inputs=["q"])
    with pytest.raises(ValueError, match="at least one observable"):
        pipeline(graph, {"q": 1})
    with pytest.raises(InputError):
        pipeline(graph, {"qq": reactivex.of(1)})
    with pytest.raises(ValueError, match="max_in_flight"):
        pipeline(graph, {"q": reactivex.of(1)}, max_in_flight=0)
    with pytest.raises(ValueError, match="overflow"):
        pipeline(graph, {"q": reactivex.of(1)}, overflow="drop")  # type: ignore[arg-type]


@pytest.mark.parametrize("fail_fast", [True, False])
def test_one_bad_event_leaves_the_others_unaffected(fail_fast: bool) -> None:
    def check(q: int) -> int:
        if q == 13:
            raise ValueError("unlucky")
        return q

    graph = StepGraph([Step("check", check, ["q"]), Step("after", lambda c: c + 1, ["check"])],
                      inputs=["q"])
    out = pipeline(graph, {"q": reactivex.from_iterable(range(30))}, fail_fast=fail_fast,
                   max_in_flight=4).pipe(ops.to_list()).run()
    assert [r.sequence for r in out] == list(range(30))
    bad = out[13]
    assert bad.status["check"] is StepStatus.FAILED
    assert isinstance(bad.errors["check"], ValueError)
    if fail_fast:
        assert isinstance(bad.failure, StepFailedError) and bad.failure.step == "check"
        assert bad.status["after"] is StepStatus.CANCELLED
    else:
        assert bad.failure is None and bad.status["after"] is StepStatus.SKIPPED
    for result in out[:13] + out[14:]:
        assert result.ok and result["after"] == result.sequence + 1  # type: ignore[operator]


# -- order and slots -----------------------------------------------------------------------


@pytest.mark.parametrize("ordered", [True, False])
def test_ordered_and_unordered_emission(ordered: bool) -> None:
    gates = {q: threading.Event() for q in range(4)}
    started = {q: threading.Event() for q in range(4)}
    finished = {q: threading.Event() for q in range(4)}
    graph = gated_graph(gates, started)
    graph = StepGraph([*graph.values(),
                       Step("mark", lambda w: finished[w // 10].set(), ["work"])], inputs=["q"])
    sink = Collector()
    pipeline(graph, {"q": reactivex.of(0, 1, 2, 3)}, max_in_flight=4, ordered=ordered
             ).subscribe(sink)
    assert all(started[q].wait(WAIT) for q in range(4))  # four runs at once
    for q in (3, 2, 1):  # finish backwards, the first one last
        gates[q].set()
        assert finished[q].wait(WAIT)
        if not ordered:
            sink.wait_results(1)
            assert sink.sequences[-1] == q
    if ordered:
        assert sink.results == []  # 3, 2, 1 are done but wait for 0
    gates[0].set()
    assert sink.done.wait(WAIT)
    assert sink.sequences == ([0, 1, 2, 3] if ordered else [3, 2, 1, 0])


@pytest.mark.parametrize("scheduler", ["threads", "asyncio"])
def test_max_in_flight_is_reached_and_never_exceeded(scheduler: str) -> None:
    limit, lock = 3, threading.Lock()
    active, peak = [0], [0]
    barrier = threading.Barrier(limit, timeout=WAIT)  # breaks unless `limit` run at once

    def work(q: int) -> int:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            barrier.wait()
        finally:
            with lock:
                active[0] -= 1
        return q

    graph = StepGraph([Step("work", work, ["q"])], inputs=["q"])
    out = pipeline(graph, {"q": reactivex.from_iterable(range(4 * limit))}, max_in_flight=limit,
                   scheduler=scheduler).pipe(ops.to_list()).run()
    assert [r.failure for r in out] == [None] * 4 * limit
    assert peak[0] == limit


# -- buffering policies --------------------------------------------------------------------


def overflow_setup(overflow: str, dropped: list[tuple[str, Any]] | None = None) -> tuple[
        Subject[int], Collector, threading.Event, dict[int, threading.Event]]:
    """Event 0 holds the only slot until the gate opens; the buffer takes two more."""
    gate, started0 = threading.Event(), threading.Event()
    graph = gated_graph({0: gate}, {0: started0})
    subject: Subject[int] = Subject()
    sink = Collector()
    on_drop = (lambda name, value: dropped.append((name, value))) if dropped is not None else None
    pipeline(graph, {"q": subject}, max_in_flight=1, buffer=2, overflow=overflow,  # type: ignore[arg-type]
             on_drop=on_drop).subscribe(sink)
    emitted = {v: threading.Event() for v in range(10)}
    produce(subject, range(10), emitted, after_first=started0)
    return subject, sink, gate, emitted


def test_block_holds_the_producer_thread_and_loses_nothing() -> None:
    _, sink, gate, emitted = overflow_setup("block")
    assert emitted[2].wait(WAIT)  # 0 runs, 1 and 2 wait in the buffer
    assert not emitted[3].wait(0.3)  # the producer is held inside on_next(3)
    gate.set()
    assert sink.done.wait(WAIT) and sink.error is None
    assert sink.sequences == list(range(10))
    assert [r["work"] for r in sink.results] == [q * 10 for q in range(10)]


def test_drop_oldest_keeps_the_newest_values() -> None:
    dropped: list[tuple[str, Any]] = []
    _, sink, gate, emitted = overflow_setup("drop_oldest", dropped)
    assert emitted[9].wait(WAIT)  # never blocked
    gate.set()
    assert sink.done.wait(WAIT)
    assert sink.sequences == [0, 8, 9]
    assert dropped == [("q", v) for v in range(1, 8)]


def test_drop_newest_keeps_the_oldest_values() -> None:
    dropped: list[tuple[str, Any]] = []
    _, sink, gate, emitted = overflow_setup("drop_newest", dropped)
    assert emitted[9].wait(WAIT)
    gate.set()
    assert sink.done.wait(WAIT)
    assert sink.sequences == [0, 1, 2]
    assert dropped == [("q", v) for v in range(3, 10)]


def test_error_policy_fails_the_pipeline_on_overflow() -> None:
    _, sink, gate, emitted = overflow_setup("error")
    assert emitted[9].wait(WAIT)
    assert sink.done.wait(WAIT)
    gate.set()
    assert isinstance(sink.error, BufferOverflowError)
    assert (sink.error.name, sink.error.buffer) == ("q", 2)
    assert sink.results == []  # event 0 was in flight: cancelled with the pipeline


def test_block_on_the_subscribing_thread_does_not_deadlock() -> None:
    graph = StepGraph([Step("s", lambda q: q, ["q"])], inputs=["q"])
    source = reactivex.from_iterable(range(300))  # emits on the subscribing thread
    out = pipeline(graph, {"q": source}, max_in_flight=2, buffer=1).pipe(ops.to_list()).run()
    assert [r["s"] for r in out] == list(range(300))


def test_an_observer_feeding_the_input_is_never_blocked() -> None:
    subject: Subject[int] = Subject()
    pushed = [1]

    def feed(result: RunResult) -> None:  # runs on the delivering thread, slot still held
        if pushed[0] < 41:
            subject.on_next(pushed[0])
            subject.on_next(pushed[0] + 1)  # overflows buffer=1
            pushed[0] += 2
        elif len(sink.results) == 41:
            subject.on_completed()

    sink = Collector(feed)
    graph = StepGraph([Step("s", lambda q: q, ["q"])], inputs=["q"])
    pipeline(graph, {"q": subject}, max_in_flight=1, buffer=1).subscribe(sink)
    subject.on_next(0)
    assert sink.done.wait(WAIT)
    assert sink.sequences == list(range(41))


# -- errors and disposal -------------------------------------------------------------------


def cancellable_graph(started: threading.Semaphore, cancelled: list[int],
                      ended: threading.Semaphore) -> StepGraph:
    """Events >= 2 wait until their run is cancelled."""

    def work(q: int) -> int:
        if q >= 2:
            started.release()
            if current().wait(WAIT):
                cancelled.append(q)
            ended.release()
        return q

    return StepGraph([Step("work", work, ["q"])], inputs=["q"])


def test_an_input_error_fails_the_pipeline_and_cancels_runs_in_flight() -> None:
    started, ended, cancelled = threading.Semaphore(0), threading.Semaphore(0), list[int]()
    subject: Subject[int] = Subject()
    sink = Collector()
    pipeline(cancellable_graph(started, cancelled, ended), {"q": subject}, max_in_flight=3
             ).subscribe(sink)
    for q in (2, 3, 4):
        subject.on_next(q)
    assert all(started.acquire(timeout=WAIT) for _ in range(3))
    boom = RuntimeError("source broke")
    subject.on_error(boom)
    assert sink.done.wait(WAIT) and sink.error is boom
    assert all(ended.acquire(timeout=WAIT) for _ in range(3))
    assert sorted(cancelled) == [2, 3, 4] and sink.results == []


def test_disposal_cancels_runs_in_flight_and_disposes_the_input() -> None:
    started, ended, cancelled = threading.Semaphore(0), threading.Semaphore(0), list[int]()
    disposed = threading.Event()
    observers: list[Any] = []

    def subscribe(observer: Any, _scheduler: Any = None) -> Disposable:
        observers.append(observer)
        return Disposable(disposed.set)

    sink = Collector()
    subscription = pipeline(cancellable_graph(started, cancelled, ended),
                            {"q": reactivex.create(subscribe)}, max_in_flight=3).subscribe(sink)
    source = observers[0]
    source.on_next(0)
    source.on_next(1)
    sink.wait_results(2)
    for q in (2, 3, 4, 5):  # 2, 3, 4 run; 5 waits for a slot
        source.on_next(q)
    assert all(started.acquire(timeout=WAIT) for _ in range(3))
    subscription.dispose()
    assert disposed.is_set()
    source.on_next(6)
    source.on_completed()
    assert all(ended.acquire(timeout=WAIT) for _ in range(3))
    assert sorted(cancelled) == [2, 3, 4]  # told at once, not after WAIT
    assert not started.acquire(timeout=0.2)  # 5 and 6 never started
    assert sink.sequences == [0, 1] and not sink.done.is_set()


# -- memory --------------------------------------------------------------------------------


@pytest.mark.slow
def test_memory_stays_flat_over_100k_events() -> None:
    """Results are not retained after emission: tracemalloc's current size after 100k
    events is within 2 MiB of the size after 10k (keeping the 90k results in between
    would take well over 50 MiB)."""
    graph = StepGraph([Step("inc", lambda q: q + 1, ["q"])], inputs=["q"])
    marks: dict[int, int] = {}
    count = [0]

    def on_next(result: RunResult) -> None:
        count[0] += 1
        if count[0] in (10_000, 100_000):
            gc.collect()
            marks[count[0]] = tracemalloc.get_traced_memory()[0]

    done = threading.Event()
    tracemalloc.start()
    try:
        pipeline(graph, {"q": reactivex.from_iterable(range(100_000))}, max_in_flight=4,
                 buffer=100).subscribe(on_next, on_completed=done.set)
        assert done.wait(120)
    finally:
        tracemalloc.stop()
    assert count[0] == 100_000
    growth = marks[100_000] - marks[10_000]
    print(f"tracemalloc current: {marks[10_000]} B after 10k, {marks[100_000]} B after 100k")
    assert growth < 2 * 1024 * 1024, f"grew {growth / 1024:.0f} KiB from 10k to 100k events"
