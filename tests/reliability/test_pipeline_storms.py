"""Cancellation storms on pipelines and async streams: disposed or abandoned at random
moments, many times. Nothing is delivered after disposal, no run starts a step after
it, no asyncio task is left pending, no thread stays blocked in an action."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

import pytest
import reactivex as rx
from reactivex.subject import Subject

from rxsteps import Step, StepGraph, astream, current, pipeline
from rxsteps.execution.run import Run
from tests.support import assert_no_pending_tasks, assert_no_thread_blocked_in_an_action

_LOCK = threading.Lock()


def _graph(entries: list[tuple[float, int]]) -> StepGraph:
    def first(q: int) -> int:
        with _LOCK:
            entries.append((time.monotonic(), q))
        current().wait(random.choice([0, 0.0005, 0.002]))
        return q

    async def second(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    return StepGraph([Step("first", first, ["q"]), Step("second", second, ["first"])], inputs=["q"])


@pytest.mark.parametrize("scheduler", ["threads", "asyncio"])
def test_pipeline_disposal_storm(scheduler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    starts: list[tuple[float, int | None]] = []
    original = Run.start

    def recording_start(self: Run) -> None:
        with _LOCK:
            if self._state == "new":  # a start that may run steps
                starts.append((time.monotonic(), self.sequence))
        original(self)

    monkeypatch.setattr(Run, "start", recording_start)
    rnd = random.Random(7)
    violations: list[str] = []
    for storm in range(300):
        entries: list[tuple[float, int]] = []
        starts.clear()
        delivered: list[int] = []
        source: Subject[int] = Subject()
        subscription = pipeline(
            _graph(entries),
            {"q": source},
            scheduler=scheduler,
            max_in_flight=4,
            ordered=storm % 2 == 0,
        ).subscribe(delivered.append)

        def produce(source: Subject[int] = source) -> None:
            for i in range(40):
                source.on_next(i)
            source.on_completed()

        producer = threading.Thread(target=produce)
        producer.start()
        time.sleep(rnd.choice([0, 0.0005, 0.002, 0.005]))  # a random moment
        subscription.dispose()
        disposed_at = time.monotonic()
        count = len(delivered)
        producer.join(10)
        assert not producer.is_alive(), "the producer stayed blocked after disposal"
        assert_no_thread_blocked_in_an_action()
        if len(delivered) != count:
            violations.append(f"storm {storm}: delivered after disposal")
        with _LOCK:
            started_before = {seq for t, seq in starts if t <= disposed_at}
            late = [q for t, q in entries if t > disposed_at and q not in started_before]
        if late:
            violations.append(f"storm {storm}: steps of runs started after disposal: {late}")
    assert violations == []
    assert_no_pending_tasks()


def test_astream_break_storm() -> None:
    rnd = random.Random(11)

    async def consume(graph: StepGraph, stop_after: int) -> None:
        seen = 0
        async with astream(graph, {"q": 1}) as events:
            async for _ in events:
                seen += 1
                if seen >= stop_after:
                    break

    async def main() -> None:
        for _ in range(300):
            entries: list[tuple[float, int]] = []
            await consume(_graph(entries), rnd.randint(1, 8))
        current_task = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current_task]
        for _ in range(200):
            if not pending:
                break
            await asyncio.sleep(0.01)
            pending = [t for t in asyncio.all_tasks() if t is not current_task and not t.done()]
        assert pending == []

    asyncio.run(main())
    assert_no_thread_blocked_in_an_action()


def test_pipeline_of_faulty_events_keeps_going() -> None:
    """Random events fail; every event still yields exactly one result, in order."""
    rnd = random.Random(3)
    bad = {i for i in range(500) if rnd.random() < 0.2}

    def maybe_fail(q: int) -> int:
        if q in bad:
            raise RuntimeError(f"event {q} failed")
        return q * 3

    graph = StepGraph([Step("x", maybe_fail, ["q"])], inputs=["q"])
    results: list[Any] = []
    done = threading.Event()
    pipeline(graph, {"q": rx.range(0, 500)}, max_in_flight=8).subscribe(
        results.append, lambda e: done.set(), done.set
    )
    assert done.wait(30)
    assert [r.sequence for r in results] == list(range(500))
    for r in results:
        if r.sequence in bad:
            assert r.failure is not None and r.failure.step == "x"
        else:
            assert r.failure is None and r["x"] == r.sequence * 3
