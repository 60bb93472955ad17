"""Join policies of streaming dependencies (zip, latest, collect) on the "threads" and
"asyncio" schedulers, and the cost of zipping a fast stream with a slow one."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from rxsteps import (
    EventKind,
    InputError,
    RunResult,
    Step,
    StepEvent,
    StepGraph,
    ZipWarning,
    arun,
    run,
)
from rxsteps.backends.resolve import resolve_backend
from rxsteps.execution.run import Run

SCHEDULERS = ["threads", "asyncio"]
WAIT = 30


def run_on(graph: StepGraph, scheduler: str, **options: Any) -> RunResult:
    """``run`` on threads, ``arun`` on a fresh loop for asyncio."""
    if scheduler == "threads":
        return run(graph, scheduler="threads", **options)

    async def main() -> RunResult:
        return await arun(graph, scheduler="asyncio", **options)

    return asyncio.run(main())


def stream(values: list[Any], kind: str) -> Callable[[], Any]:
    """A streaming action of the given kind yielding ``values``."""
    if kind == "sync":
        def generate() -> Iterator[Any]:
            yield from values
        return generate

    async def agenerate() -> AsyncIterator[Any]:
        for value in values:
            yield value
    return agenerate


# -- zip -----------------------------------------------------------------------------------


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_zip_pairs_the_nth_values_and_stops_at_the_shortest(scheduler: str, kind: str) -> None:
    graph = StepGraph([
        Step("a", stream([1, 2, 3, 4, 5], kind)),
        Step("b", stream(["x", "y", "z"], kind)),
        Step("pair", lambda a, b: (a, b), ["a", "b"]),  # join="zip" is the default
    ])
    result = run_on(graph, scheduler)
    assert result.emitted("pair") == [(1, "x"), (2, "y"), (3, "z")]
    assert result.ok


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_zip_with_a_single_value_dependency_makes_one_call(scheduler: str) -> None:
    with pytest.warns(ZipWarning) as caught:
        graph = StepGraph([
            Step("tokens", stream(["t0", "t1", "t2"], "sync")),
            Step("prompt", lambda: "P"),
            Step("pair", lambda t, p: t + p, ["tokens", "prompt"]),
        ])
    assert str(caught[0].message) == (
        "step 'pair' zips 'tokens' (a stream) with 'prompt' (one value), so only the first "
        "value of 'tokens' is used; use join='latest' (a call per new value, with the latest "
        "of the others) or join='collect' (one call with every value as lists)"
    )
    assert run_on(graph, scheduler).emitted("pair") == ["t0P"]


def test_zipping_two_streams_or_latest_gives_no_warning(recwarn: pytest.WarningsRecorder) -> None:
    def two():
        yield from "ab"

    StepGraph([Step("x", two), Step("y", two), Step("pair", lambda a, b: a + b, ["x", "y"])])
    StepGraph([Step("x", two), Step("n", lambda: 1),
               Step("pair", lambda a, b: a * b, ["x", "n"], join="latest")])
    assert not [w for w in recwarn if issubclass(w.category, ZipWarning)]


# -- latest --------------------------------------------------------------------------------


def interleaved(kind: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """Two streams whose emissions interleave deterministically:
    a0 a1 | bx | a2 | by | a3 — each side waits until the other's value was taken."""
    if kind == "sync":
        flags = {name: threading.Event() for name in ("a1", "bx", "a2", "by")}

        def a() -> Iterator[int]:
            yield 0
            yield 1
            flags["a1"].set()  # resumed: the engine took 1
            assert flags["bx"].wait(WAIT)
            yield 2
            flags["a2"].set()
            assert flags["by"].wait(WAIT)
            yield 3

        def b() -> Iterator[str]:
            assert flags["a1"].wait(WAIT)
            yield "x"
            flags["bx"].set()
            assert flags["a2"].wait(WAIT)
            yield "y"
            flags["by"].set()

        return a, b
    events = {name: asyncio.Event() for name in ("a1", "bx", "a2", "by")}

    async def aa() -> AsyncIterator[int]:
        yield 0
        yield 1
        events["a1"].set()
        await events["bx"].wait()
        yield 2
        events["a2"].set()
        await events["by"].wait()
        yield 3

    async def ab() -> AsyncIterator[str]:
        await events["a1"].wait()
        yield "x"
        events["bx"].set()
        await events["a2"].wait()
        yield "y"
        events["by"].set()

    return aa, ab


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_latest_fires_whenever_a_dependency_emits(scheduler: str, kind: str) -> None:
    a, b = interleaved(kind)
    graph = StepGraph([
        Step("a", a), Step("b", b),
        Step("both", lambda x, y: (x, y), ["a", "b"], join="latest"),
    ])
    result = run_on(graph, scheduler)
    # nothing before both have a value; then one call per emission, latest of each
    assert result.emitted("both") == [(1, "x"), (2, "x"), (2, "y"), (3, "y")]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_latest_with_a_constant_dependency_follows_the_stream(scheduler: str) -> None:
    graph = StepGraph([
        Step("ticks", stream([1, 2, 3], "async")),
        Step("label", lambda: "t"),
        Step("tagged", lambda t, label: f"{label}{t}", ["ticks", "label"], join="latest"),
    ])
    tagged = run_on(graph, scheduler).emitted("tagged")
    assert tagged[-1] == "t3" and tagged == sorted(tagged) and set(tagged) <= {"t1", "t2", "t3"}


# -- collect -------------------------------------------------------------------------------


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_collect_passes_lists_once_every_dependency_completed(scheduler: str, kind: str
                                                               ) -> None:
    calls: list[tuple[Any, ...]] = []

    def gather(tokens: list[str], sources: list[str]) -> str:
        calls.append((tokens, sources))
        return "".join(tokens) + "|" + ",".join(sources)

    graph = StepGraph([
        Step("tokens", stream(["ea", "ger"], kind)),
        Step("sources", lambda: "doc1"),
        Step("answer", gather, ["tokens", "sources"], join="collect"),
    ])
    events: list[StepEvent] = []
    result = run_on(graph, scheduler, on_event=events.append)
    assert calls == [(["ea", "ger"], ["doc1"])]
    assert result["answer"] == "eager|doc1"
    order = [(e.step, e.kind) for e in events]
    started = order.index(("answer", EventKind.STARTED))
    assert order.index(("tokens", EventKind.SUCCEEDED)) < started
    assert order.index(("sources", EventKind.SUCCEEDED)) < started


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_collect_of_an_empty_stream_gets_an_empty_list_but_zip_skips(scheduler: str) -> None:
    graph = StepGraph([
        Step("nothing", stream([], "sync")),
        Step("all", lambda values: len(values), ["nothing"], join="collect"),
        Step("each", lambda value: value, ["nothing"]),
    ])
    result = run_on(graph, scheduler)
    assert result["all"] == 0
    assert result.status["each"].value == "skipped"
    assert "without a value" in result.reasons["each"]


# -- cost: counting, not timing ------------------------------------------------------------

FAST = 200_000


class CountingList(list[Any]):
    """A node's value list that counts every operation that copies, scans or shifts."""

    def __init__(self, values: list[Any]) -> None:
        super().__init__(values)
        self.reads = 0
        self.heavy: dict[str, int] = {}

    def _heavy(self, name: str) -> None:
        self.heavy[name] = self.heavy.get(name, 0) + 1

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            self._heavy("slice")
        self.reads += 1
        return super().__getitem__(index)

    def __iter__(self) -> Iterator[Any]:
        self._heavy("iterate")
        return super().__iter__()

    def pop(self, *args: Any) -> Any:
        self._heavy("pop")
        return super().pop(*args)

    def insert(self, *args: Any) -> None:
        self._heavy("insert")
        super().insert(*args)

    def remove(self, value: Any) -> None:
        self._heavy("remove")
        super().remove(value)

    def __delitem__(self, index: Any) -> None:
        self._heavy("delete")
        super().__delitem__(index)

    def copy(self) -> list[Any]:
        self._heavy("copy")
        return super().copy()

    def index(self, *args: Any) -> int:
        self._heavy("index")
        return super().index(*args)


def fast_and_slow(scheduler: str) -> StepGraph:
    """``fast`` emits FAST values at once; ``slow`` starts only after ``fast`` finished
    (the whole backlog waits in the join), then emits as many. Generators on threads,
    async generators on the loop."""
    if scheduler == "threads":
        fast_done = threading.Event()

        def fast() -> Iterator[int]:
            yield from range(FAST)
            fast_done.set()

        def slow() -> Iterator[int]:
            assert fast_done.wait(60)
            yield from range(FAST)

        return StepGraph([Step("fast", fast), Step("slow", slow),
                          Step("pair", lambda f, s: f - s, ["fast", "slow"])])
    loop_done = asyncio.Event()

    async def afast() -> AsyncIterator[int]:
        for value in range(FAST):
            yield value
        loop_done.set()

    async def aslow() -> AsyncIterator[int]:
        await loop_done.wait()
        for value in range(FAST):
            yield value

    return StepGraph([Step("fast", afast), Step("slow", aslow),
                      Step("pair", lambda f, s: f - s, ["fast", "slow"])])


def run_counted(graph: StepGraph, scheduler: str) -> tuple[RunResult, dict[str, CountingList]]:
    """Run with every node's value list replaced by a :class:`CountingList`."""
    lists: dict[str, CountingList] = {}

    def go(backend: Any, done: Callable[[Run], None]) -> Run:
        execution = Run(graph, {}, backend, on_done=done)
        for node_id, node in execution.nodes.items():
            node.values = lists[node_id] = CountingList(node.values)
        execution.start()
        return execution

    if scheduler == "threads":
        finished = threading.Event()
        execution = go(resolve_backend("threads"), lambda _run: finished.set())
        assert finished.wait(120)
    else:
        async def main() -> Run:
            loop = asyncio.get_running_loop()
            future: asyncio.Future[Run] = loop.create_future()
            def done(execution: Run) -> None:
                loop.call_soon_threadsafe(future.set_result, execution)

            go(resolve_backend("asyncio"), done)
            return await asyncio.wait_for(future, 120)

        execution = asyncio.run(main())
    assert execution.result is not None
    return execution.result, lists


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_zipping_a_fast_stream_with_a_slow_one_is_linear(scheduler: str) -> None:
    begin = time.monotonic()
    result, lists = run_counted(fast_and_slow(scheduler), scheduler)
    elapsed = time.monotonic() - begin
    assert result.ok
    pairs = lists["pair"]
    assert len(pairs) == FAST and pairs[0] == 0 and pairs[-1] == 0
    for name in ("fast", "slow"):
        values = lists[name]
        assert len(values) == FAST  # never shrinks: a cursor walks it
        assert values.heavy == {}, f"{name}: the engine copied or shifted {values.heavy}"
        assert values.reads <= 2 * FAST + 10, f"{name}: {values.reads} reads for {FAST} pairs"
    assert elapsed < 60, f"{FAST} pairs took {elapsed:.1f} s"  # quadratic would take hours


# -- runnables whose invoke cannot be used (issue 11, point 11) ------------------------


class CoroutineLambda:
    """Shaped like LangChain's ``RunnableLambda`` over a coroutine function: it has
    ``afunc`` and no ``func``, and its ``invoke`` raises."""

    def __init__(self, afunc: Any) -> None:
        self.afunc = afunc

    def invoke(self, value: Any) -> Any:
        raise TypeError("Cannot invoke a coroutine function synchronously. Use `ainvoke` instead.")

    async def ainvoke(self, value: Any) -> Any:
        return await self.afunc(value)


class CoroutineSequence(CoroutineLambda):
    """Shaped like a LangChain sequence ending in an async lambda: no ``afunc`` to tell
    it by, and its ``invoke`` raises the same ``TypeError``."""

    def __init__(self, afunc: Any) -> None:
        self.last = afunc

    async def ainvoke(self, value: Any) -> Any:
        return await self.last(value)


def _run_on(scheduler: str, graph: StepGraph) -> Any:
    if scheduler == "asyncio":
        return asyncio.run(arun(graph))
    if scheduler == "executor":
        with ThreadPoolExecutor(2) as pool:
            return run(graph, scheduler=pool)
    return run(graph)


@pytest.mark.parametrize("scheduler", ["threads", "asyncio", "executor"])
@pytest.mark.parametrize("shape", [CoroutineLambda, CoroutineSequence])
def test_a_runnable_with_an_unusable_invoke_runs_through_ainvoke(
        scheduler: str, shape: type[CoroutineLambda]) -> None:
    async def double(value: int) -> int:
        return value * 2

    graph = StepGraph([Step("x", lambda: 21), Step("double", shape(double), ["x"])])
    assert _run_on(scheduler, graph)["double"] == 42


def test_another_type_error_from_invoke_fails_the_step() -> None:
    class Broken(CoroutineSequence):
        def invoke(self, value: Any) -> Any:
            raise TypeError("unsupported operand")

    async def double(value: int) -> int:
        return value * 2

    result = run(StepGraph([Step("double", Broken(double))]), fail_fast=False)
    assert str(result.errors["double"]) == "unsupported operand"


# -- inputs that are not what a graph takes (issue 11, point 13; issue 15, point 12) --


def test_inputs_that_are_not_a_mapping_say_so() -> None:
    graph = StepGraph([Step("echo", lambda q: q, ["q"])], inputs=["q"])
    with pytest.raises(InputError) as info:
        run(graph, inputs="q")  # type: ignore[arg-type]
    assert str(info.value) == (
        "inputs must be a mapping of input name to value, such as {'query': ...}, got str 'q'"
    )


def test_an_input_name_that_is_not_a_string_is_named() -> None:
    graph = StepGraph([Step("echo", lambda q: q, ["q"])], inputs=["q"])
    with pytest.raises(InputError, match=r"^input names are strings; got None \(NoneType\)$"):
        run(graph, inputs={None: 1})  # type: ignore[dict-item]
