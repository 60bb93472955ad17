"""``astream`` and ``apipeline`` take ``store=``/``run_id=`` like ``arun`` and ``pipeline``."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import reactivex

from rxsteps import (
    EventKind,
    OptionError,
    RunChangedError,
    Step,
    StepEvent,
    StepFailedError,
    StepGraph,
    apipeline,
    arun,
    astream,
)
from rxsteps.stores import SQLiteStore, open_store
from rxsteps.stores.base import StepRecord


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "runs.db")


def flaky_graph(calls: Counter[str], broken: threading.Event) -> StepGraph:
    async def fetch(q: str) -> str:
        calls["fetch"] += 1
        return q * 2

    async def answer(f: str) -> str:
        calls["answer"] += 1
        if broken.is_set():
            raise ConnectionError("model down")
        return f + "!"

    return StepGraph([Step("fetch", fetch, ["q"]), Step("answer", answer, ["fetch"])],
                     inputs=["q"])


async def events_of(graph: StepGraph, **options: Any) -> list[StepEvent]:
    seen: list[StepEvent] = []
    async with astream(graph, {"q": "ab"}, **options) as events:
        async for event in events:
            seen.append(event)
    return seen


def test_astream_resumes_a_stored_run_without_calling_what_succeeded(db: str) -> None:
    calls: Counter[str] = Counter()
    broken = threading.Event()
    broken.set()
    graph = flaky_graph(calls, broken)
    with pytest.raises(StepFailedError):
        asyncio.run(events_of(graph, store=db, run_id="order-1"))
    broken.clear()
    seen = asyncio.run(events_of(graph, store=db, run_id="order-1"))
    ends = {e.step: (e.kind, e.reason) for e in seen if e.kind.terminal}
    assert ends == {"fetch": (EventKind.SUCCEEDED, "resumed"),
                    "answer": (EventKind.SUCCEEDED, None)}
    assert calls == {"fetch": 1, "answer": 2}
    record = open_store(db).load("order-1")
    assert record is not None and record.status == "succeeded"


def test_astream_refuses_a_changed_run_and_a_store_without_an_id(db: str) -> None:
    graph = flaky_graph(Counter(), threading.Event())
    asyncio.run(events_of(graph, store=db, run_id="order-1"))

    async def other_inputs() -> None:
        async for _ in astream(graph, {"q": "zz"}, store=db, run_id="order-1"):
            pass

    with pytest.raises(RunChangedError):
        asyncio.run(other_inputs())
    with pytest.raises(OptionError, match=r"^store= needs a run_id= "):
        astream(graph, {"q": "ab"}, store=db)


class ThreadNoting(SQLiteStore):
    """An SQLite store that notes which threads wrote step records."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.writers: set[int] = set()

    def record_steps(self, run_id: str, owner: str, records: list[StepRecord]) -> None:
        self.writers.add(threading.get_ident())
        super().record_steps(run_id, owner, records)

    def release(self, run_id: str, owner: str, status: str) -> None:
        self.writers.add(threading.get_ident())
        super().release(run_id, owner, status)


def test_astream_never_writes_the_store_on_the_loop(db: str) -> None:
    store = ThreadNoting(db)
    graph = flaky_graph(Counter(), threading.Event())  # coroutine steps: they end on the loop

    async def main() -> int:
        await events_of(graph, store=store, run_id="order-1")
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert store.writers and loop_thread not in store.writers
    store.close()


def test_apipeline_keeps_one_run_per_event_and_skips_finished_ones(db: str) -> None:
    calls: Counter[str] = Counter()

    async def double(x: int) -> int:
        calls[f"x={x}"] += 1
        return x * 2

    graph = StepGraph([Step("a", double, ["x"])], inputs=["x"])

    async def main(values: tuple[int, ...]) -> list[tuple[int, str | None]]:
        out = apipeline(graph, {"x": reactivex.of(*values)}, store=db,
                        run_id=lambda inputs: f"x={inputs['x']}")
        return [(r["a"], r.reasons.get("a")) async for r in out]

    assert asyncio.run(main((1, 2))) == [(2, None), (4, None)]
    assert asyncio.run(main((2, 3))) == [(4, "resumed"), (6, None)]
    assert calls == {"x=1": 1, "x=2": 1, "x=3": 1}
    assert sorted(r.run_id for r in open_store(db).runs()) == ["x=1", "x=2", "x=3"]


def test_arun_never_writes_the_store_on_the_loop(db: str) -> None:
    # No observer: the run makes no events, only the store's items, and its end must
    # still be delivered (the last steps recorded, the run released) off the loop.
    store = ThreadNoting(db)
    graph = flaky_graph(Counter(), threading.Event())  # coroutine steps: they end on the loop

    async def main() -> int:
        result = await arun(graph, {"q": "ab"}, store=store, run_id="order-1",
                            scheduler="asyncio")
        assert result.ok
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert store.writers and loop_thread not in store.writers
    store.close()
