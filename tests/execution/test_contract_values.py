"""Contract, part 1: values flow, every kind of action, streaming, eagerness, sharing.

Every test runs on every scheduler (see conftest.SCHEDULERS).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import reactivex as rx

from rxsteps import EventKind, Step, StepGraph, StepStatus


def test_values_flow_in_depends_order(execute):
    graph = StepGraph(
        [
            Step("search", lambda q: f"web:{q}", ["query"]),
            Step("docs", lambda q: f"docs:{q}", ["query"]),
            Step("answer", lambda d, s: f"{d}|{s}", ["docs", "search"]),
        ],
        inputs=["query"],
    )
    outcome = execute(graph, {"query": "rx"})
    assert outcome.values() == {"search": "web:rx", "docs": "docs:rx", "answer": "docs:rx|web:rx"}


def test_root_step_is_called_with_no_arguments(execute):
    calls: list[tuple[Any, ...]] = []

    def root(*args: Any) -> str:
        calls.append(args)
        return "root"

    assert execute(StepGraph([Step("root", root)])).values() == {"root": "root"}
    assert calls == [()]


async def _double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


def _count_to(n: int) -> Iterator[int]:
    yield from range(1, n + 1)


async def _acount_to(n: int) -> AsyncIterator[int]:
    for i in range(1, n + 1):
        await asyncio.sleep(0)
        yield i


class _Runnable:
    def __init__(self) -> None:
        self.inputs: list[Any] = []

    def invoke(self, value: Any) -> Any:
        self.inputs.append(value)
        return ("invoke", value)


class _AsyncOnlyRunnable:
    def __init__(self) -> None:
        self.inputs: list[Any] = []

    async def ainvoke(self, value: Any) -> Any:
        self.inputs.append(value)
        return ("ainvoke", value)


def test_every_kind_of_action(execute):
    graph = StepGraph(
        [
            Step("n", lambda: 3),
            Step("coroutine", _double, ["n"]),
            Step("generator", _count_to, ["n"]),
            Step("asyncgen", _acount_to, ["n"]),
            Step("observable", lambda n: rx.of(*range(10, 10 + n)), ["n"]),
            Step("returns_coroutine", lambda n: _double(n + 1), ["n"]),
        ]
    )
    outcome = execute(graph)
    result = outcome.result
    assert outcome.error is None
    assert result["coroutine"] == 6
    assert result.emitted("generator") == [1, 2, 3]
    assert result.emitted("asyncgen") == [1, 2, 3]
    assert result.emitted("observable") == [10, 11, 12]
    assert result["returns_coroutine"] == 8
    assert [
        e.value for e in outcome.events if e.step == "generator" and e.kind is EventKind.EMITTED
    ] == [1, 2, 3]


def test_runnables_get_one_input(execute):
    none, one, many, async_only = _Runnable(), _Runnable(), _Runnable(), _AsyncOnlyRunnable()
    graph = StepGraph(
        [
            Step("a", lambda: 1),
            Step("b", lambda: 2),
            Step("none", none),
            Step("one", one, ["a"]),
            Step("many", many, ["a", "b"]),
            Step("async_only", async_only, ["b"]),
        ]
    )
    values = execute(graph).values()
    assert values["none"] == ("invoke", None)
    assert values["one"] == ("invoke", 1)
    assert values["many"] == ("invoke", {"a": 1, "b": 2})
    assert values["async_only"] == ("ainvoke", 2)
    assert async_only.inputs == [2]


def test_dependent_of_streams_is_called_per_zip_tuple(execute):
    pairs: list[tuple[Any, Any]] = []

    def pair(x: Any, y: Any) -> tuple[Any, Any]:
        pairs.append((x, y))
        return (x, y)

    graph = StepGraph(
        [
            Step("numbers", lambda: (n for n in [1, 2, 3])),
            Step("letters", lambda: rx.of("a", "b")),
            Step("pair", pair, ["numbers", "letters"]),
        ]
    )
    result = execute(graph).result
    assert result.emitted("pair") == [(1, "a"), (2, "b")]
    assert pairs == [(1, "a"), (2, "b")]
    assert result["pair"] == (2, "b")


def test_empty_dependency_skips_dependents_with_a_reason(execute):
    called: list[str] = []

    def never(x: Any) -> None:
        called.append("never")

    graph = StepGraph(
        [
            Step("empty", lambda: (x for x in ())),
            Step("consumer", never, ["empty"]),
            Step("grandchild", never, ["consumer"]),
            Step("other", lambda: "fine"),
        ]
    )
    outcome = execute(graph)
    result = outcome.result
    assert outcome.error is None
    assert called == []
    assert result.status["empty"] is StepStatus.SUCCEEDED
    assert result.status["consumer"] is StepStatus.SKIPPED
    assert result.reasons["consumer"] == "dependency 'empty' completed without a value"
    assert result.reasons["grandchild"] == "dependency 'consumer' skipped"
    assert result["other"] == "fine"
    assert outcome.kinds("consumer") == [EventKind.SKIPPED]


def test_shared_step_runs_once_however_many_dependents(execute):
    calls: list[int] = []
    lock = threading.Lock()

    def shared() -> str:
        with lock:
            calls.append(1)
        return "x"

    steps = [Step("shared", shared)]
    steps += [Step(f"d{i}", lambda s, i=i: s + str(i), ["shared"]) for i in range(8)]
    steps += [Step("join", lambda *xs: "".join(xs), [f"d{i}" for i in range(8)])]
    values = execute(StepGraph(steps)).values()
    assert len(calls) == 1
    assert values["join"] == "x0x1x2x3x4x5x6x7"


def test_value_waits_for_a_late_dependent(execute, gate, parallel):
    """A value produced long before its dependent can run is kept, not lost."""
    graph = StepGraph(
        [
            Step("early", lambda: "early"),
            Step("slow", lambda: gate.wait(10) and "slow"),
            Step("both", lambda e, s: e + "+" + s, ["early", "slow"]),
            Step("release", lambda e: gate.set() or e, ["early"]),
        ]
    )
    assert execute(graph).values()["both"] == "early+slow"


def test_no_barrier_a_fast_branch_does_not_wait_for_a_slow_one(execute, parallel):
    """E depends only on B; C is slow and waits for E to start. With a wave or
    superstep barrier E could not start before C ends, and C would time out."""
    e_started = threading.Event()
    graph = StepGraph(
        [
            Step("a", lambda: 1),
            Step("b", lambda a: a, ["a"]),
            Step("c", lambda a: e_started.wait(20), ["a"]),
            Step("e", lambda b: e_started.set() or "e", ["b"]),
        ]
    )
    values = execute(graph).values()
    assert values["c"] is True
    assert values["e"] == "e"


def test_inputs_with_values_of_any_type(execute):
    graph = StepGraph([Step("len", len, ["items"])], inputs=["items"])
    assert execute(graph, {"items": [None, {}, ()]}).values() == {"len": 3}


def test_decorated_graph(execute):
    graph = StepGraph(inputs=["query"])

    @graph.step
    def words(query: str) -> list[str]:
        return query.split()

    @graph.step(depends=["words", "query"])
    def answer(w: list[str], q: str) -> str:
        return f"{q}:{len(w)}"

    assert execute(graph, {"query": "a b c"}).values() == {
        "words": ["a", "b", "c"],
        "answer": "a b c:3",
    }
