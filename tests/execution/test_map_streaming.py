"""Mapping over a streaming dependency (``Step(..., map="docs")`` where ``docs`` is a
generator, an async generator or returns an observable), on every scheduler of the
contract suite: each value is an item, started as soon as it is emitted; the value is
the list of results in emission order once the stream completes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import reactivex as rx

from rxsteps import (
    EventKind,
    Limiter,
    MapItemsFailedError,
    Retry,
    Step,
    StepDefinitionError,
    StepFailedError,
    StepGraph,
    StepStatus,
)
from tests.support.flaky import FailsOnce, Meets

_WAIT = 30.0  # generous: only a broken engine waits this long


def _producer(kind: str, first: str, rest: list[str], pause: threading.Event) -> Any:
    """A streaming action of ``kind`` that emits ``first``, blocks until ``pause`` is
    set (failing if it never is), then emits ``rest``."""

    def blocked() -> None:
        if not pause.wait(_WAIT):
            raise AssertionError("the stream was never released")

    if kind == "generator":
        def generator() -> Iterator[str]:
            yield first
            blocked()
            yield from rest
        return generator
    if kind == "asyncgen":
        async def agenerator() -> AsyncIterator[str]:
            yield first
            await asyncio.get_running_loop().run_in_executor(None, blocked)
            for item in rest:
                yield item
        return agenerator

    def observable() -> rx.Observable[str]:
        def subscribe(observer: Any, scheduler: Any = None) -> Any:
            observer.on_next(first)
            try:
                blocked()
            except AssertionError as error:
                observer.on_error(error)
                return None
            for item in rest:
                observer.on_next(item)
            observer.on_completed()
            return None
        return rx.create(subscribe)
    return observable


KINDS = ["generator", "asyncgen", "observable"]


def _started(outcome: Any, step: str) -> list[int]:
    return [e.index for e in outcome.events if e.step == step and e.kind is EventKind.STARTED]


@pytest.mark.parametrize("kind", KINDS)
def test_items_start_as_they_are_emitted_and_keep_emission_order(execute, parallel, kind):
    pause = threading.Event()  # the stream waits on it after its first value

    def summarise(style: str, doc: str) -> str:
        if doc == "a":
            pause.set()  # item 0 is over while the stream is still blocked
        return f"{style}:{doc}"

    graph = StepGraph([
        Step("style", lambda: "short"),
        Step("docs", _producer(kind, "a", ["bb", "ccc"], pause)),
        Step("summaries", summarise, ["style", "docs"], map="docs"),
        Step("count", len, ["summaries"]),
    ])
    outcome = execute(graph)
    assert outcome.values()["summaries"] == ["short:a", "short:bb", "short:ccc"]
    assert outcome.values()["count"] == 3
    assert sorted(_started(outcome, "summaries")) == [0, 1, 2]
    order = [(e.step, e.kind) for e in outcome.events
             if e.kind in (EventKind.STARTED, EventKind.EMITTED)]
    stream_values = [i for i, o in enumerate(order) if o == ("docs", EventKind.EMITTED)]
    assert order.index(("summaries", EventKind.STARTED)) < stream_values[1]
    emitted = [e.value for e in outcome.events
               if e.step == "summaries" and e.kind is EventKind.EMITTED]
    assert emitted == [["short:a", "short:bb", "short:ccc"]]  # one value, once


def test_results_are_in_emission_order_whatever_order_items_end_in(execute, parallel):
    last_started = threading.Event()

    def item(doc: str) -> str:
        if doc == "a" and not last_started.wait(_WAIT):  # item 0 ends after item 2
            raise AssertionError("item 2 never started")
        if doc == "c":
            last_started.set()
        return doc.upper()

    def docs() -> Iterator[str]:
        yield from "abc"

    graph = StepGraph([Step("docs", docs), Step("ups", item, ["docs"], map="docs")])
    outcome = execute(graph)
    assert outcome.values()["ups"] == ["A", "B", "C"]


def _stream(*values: Any) -> Callable[[], Iterator[Any]]:
    def stream() -> Iterator[Any]:
        yield from values
    return stream


def test_each_streamed_item_retries_on_its_own(execute):
    flaky = FailsOnce({2}, lambda x: x * x)
    graph = StepGraph([Step("xs", _stream(1, 2, 3)),
                       Step("ys", flaky, ["xs"], map="xs", retry=Retry(attempts=2, backoff=0.01))])
    outcome = execute(graph)
    assert outcome.values()["ys"] == [1, 4, 9]
    assert flaky.calls == {1: 1, 2: 2, 3: 1}


def test_keep_going_groups_the_failed_streamed_items(execute):
    def odd_fails(x: int) -> int:
        if x % 2:
            raise ValueError(f"odd {x}")
        return x

    graph = StepGraph([Step("xs", _stream(0, 1, 2, 3)),
                       Step("ys", odd_fails, ["xs"], map="xs"),
                       Step("after", lambda y: y, ["ys"])])
    result = execute(graph, fail_fast=False).result
    assert result is not None
    error = result.errors["ys"]
    assert isinstance(error, MapItemsFailedError)
    assert str(error) == "step 'ys': 2 of 4 items failed (indexes 1, 3) (2 sub-exceptions)"
    assert result.partial("ys") == [0, None, 2, None]
    assert result.reasons["after"] == "dependency 'ys' failed"


def test_a_producer_failing_mid_stream_lets_started_items_finish_then_skips(execute, parallel):
    item_running = threading.Event()
    producer_failed = threading.Event()

    def docs() -> Iterator[str]:
        yield "a"
        if not item_running.wait(_WAIT):
            raise AssertionError("item 0 never started")
        raise ConnectionError("stream broke")

    def item(doc: str) -> str:
        item_running.set()
        if not producer_failed.wait(_WAIT):  # still running when the producer fails
            raise AssertionError("the producer's failure was never seen")
        return doc * 2

    def on_event(event: Any) -> None:
        if event.step == "docs" and event.kind is EventKind.FAILED:
            producer_failed.set()

    graph = StepGraph([Step("docs", docs), Step("pairs", item, ["docs"], map="docs"),
                       Step("after", len, ["pairs"])])
    outcome = execute(graph, fail_fast=False, on_event=on_event)
    result = outcome.result
    assert result is not None
    assert result.status["docs"] is StepStatus.FAILED
    assert result.status["pairs"] is StepStatus.SKIPPED
    assert result.reasons["pairs"] == "dependency 'docs' failed"
    assert result.reasons["after"] == "dependency 'pairs' skipped"
    assert [(a.index, a.outcome) for a in result.attempts if a.step == "pairs"] == \
        [(0, "succeeded")]  # item 0 ran to its end
    kinds = outcome.kinds("pairs")
    assert kinds[-1] is EventKind.SKIPPED and kinds.count(EventKind.SKIPPED) == 1
    assert EventKind.EMITTED not in kinds


@pytest.mark.parametrize("options", [{"limits": {"llm": 1}},
                                     {"max_concurrency": 2, "priority": "fifo"}],
                         ids=["in-the-gate", "in-the-ready-queue"])
def test_items_still_queued_when_the_producer_fails_never_start(execute, parallel, options):
    item_running = threading.Event()
    producer_failed = threading.Event()

    def docs() -> Iterator[str]:
        yield from "abc"
        if not item_running.wait(_WAIT):
            raise AssertionError("item 0 never started")
        raise ConnectionError("stream broke")

    def item(doc: str) -> str:
        item_running.set()
        if not producer_failed.wait(_WAIT):
            raise AssertionError("the producer's failure was never seen")
        return doc

    def on_event(event: Any) -> None:
        if event.step == "docs" and event.kind is EventKind.FAILED:
            producer_failed.set()

    graph = StepGraph([Step("docs", docs),  # with the slot the stream holds, two in all
                       Step("ys", item, ["docs"], map="docs", uses="llm")])
    outcome = execute(graph, fail_fast=False, on_event=on_event, **options)
    result = outcome.result
    assert result is not None and result.status["ys"] is StepStatus.SKIPPED
    assert _started(outcome, "ys") == [0]  # 1 and 2 waited for item 0's slot: dropped
    assert outcome.kinds("ys").count(EventKind.SKIPPED) == 1


def test_a_producer_failing_mid_stream_with_fail_fast_stops_the_run(execute):
    def docs() -> Iterator[str]:
        yield "a"
        raise ConnectionError("stream broke")

    graph = StepGraph([Step("docs", docs), Step("pairs", lambda d: d * 2, ["docs"], map="docs")])
    outcome = execute(graph)
    assert isinstance(outcome.error, StepFailedError)
    assert str(outcome.error) == "step 'docs' failed: ConnectionError: stream broke"
    assert outcome.result is not None
    assert outcome.result.status["pairs"] in (StepStatus.CANCELLED, StepStatus.SKIPPED)


def test_an_empty_stream_makes_no_call(execute):
    graph = StepGraph([Step("docs", _stream()), Step("pairs", lambda d: d * 2, ["docs"],
                                                     map="docs")])
    result = execute(graph).result
    assert result is not None and result.status["pairs"] is StepStatus.SKIPPED
    assert result.reasons["pairs"] == "dependency 'docs' completed without a value"


def test_collect_still_maps_over_every_value_once_the_stream_ends(execute):
    graph = StepGraph([Step("docs", _stream("a", "bb")),
                       Step("sizes", len, ["docs"], map="docs", join="collect")])
    assert execute(graph).values()["sizes"] == [1, 2]


def test_streamed_items_stay_within_limits(execute, parallel):
    item = Meets(2, lambda x: -x)  # two must run at once

    limiter = Limiter(limits={"llm": 2})
    graph = StepGraph([Step("xs", _stream(*range(6))),
                       Step("ys", item, ["xs"], map="xs", uses="llm")])
    assert execute(graph, limits=limiter).values()["ys"] == [0, -1, -2, -3, -4, -5]
    assert max(item.running) == 2 and len(item.running) == 6
    assert limiter.in_use("llm") == 0


def test_a_condition_is_asked_once_with_the_first_item(execute):
    asked: list[Any] = []

    def when(doc: str) -> bool:
        asked.append(doc)
        return True

    graph = StepGraph([Step("docs", _stream("a", "b")),
                       Step("ups", str.upper, ["docs"], map="docs", when=when)])
    assert execute(graph).values()["ups"] == ["A", "B"]
    assert asked == ["a"]


# -- refused when the graph is made ------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([Step("ys", lambda x: x, ["xs"], map="xs", join="latest")],
         "step 'ys': map='xs' over a streaming step cannot use join='latest'; use join='zip' "
         "(the default: each value is an item, started as it arrives) or join='collect' "
         "(the items once 'xs' completes)"),
        ([Step("zs", _stream(1, 2)), Step("ys", lambda x, z: x, ["xs", "zs"], map="xs")],
         "step 'ys': map='xs' streams its items, and 'zs' streams too, but a mapped step "
         "takes one value of each other dependency; collect 'zs' first (a step with "
         "join='collect' between them) or map over one stream only"),
    ],
)
def test_what_a_streaming_map_cannot_mean_is_refused_up_front(steps: Any, message: str) -> None:
    with pytest.raises(StepDefinitionError) as info:
        StepGraph([Step("xs", _stream(1, 2)), *steps])
    assert str(info.value) == message
    assert info.value.step == "ys" and info.value.argument == "map"


def test_a_resumed_run_maps_over_the_reused_streams_values(execute):
    produced: list[int] = []
    broken = [True]

    def docs() -> Iterator[str]:
        produced.append(1)
        yield from ["a", "b"]

    def item(doc: str) -> str:
        if broken[0]:
            raise ValueError("down")
        return doc.upper()

    graph = StepGraph([Step("docs", docs), Step("ups", item, ["docs"], map="docs")])
    first = execute(graph, fail_fast=False).result
    assert first is not None and first.status["ups"] is StepStatus.FAILED
    broken[0] = False
    again = execute(graph, resume=first)
    assert again.values()["ups"] == ["A", "B"]
    assert produced == [1]  # the stream was not run again


def test_a_false_condition_skips_the_mapped_stream_once(execute):
    calls: list[str] = []

    def item(doc: str) -> str:
        calls.append(doc)
        return doc

    graph = StepGraph([Step("docs", _stream("a", "b", "c")),
                       Step("ups", item, ["docs"], map="docs", when=lambda doc: doc != "a"),
                       Step("after", len, ["ups"])])
    outcome = execute(graph)
    assert outcome.result is not None
    assert outcome.result.reasons["ups"] == "condition false"
    assert outcome.result.status["after"] is StepStatus.SKIPPED
    assert calls == [] and outcome.kinds("ups") == [EventKind.SKIPPED]


def test_coroutine_items_over_an_async_stream(execute):
    async def docs() -> AsyncIterator[int]:
        for x in (3, 1, 2):
            await asyncio.sleep(0)
            yield x

    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    graph = StepGraph([Step("docs", docs), Step("twice", double, ["docs"], map="docs")])
    assert execute(graph).values()["twice"] == [6, 2, 4]


def test_the_first_item_ends_while_the_stream_still_waits_for_it(execute, parallel):
    # The stream waits for item 0's end as the engine reports it (its span ending,
    # after the engine recorded the item), not for anything the item's action does.
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

    first_ended = threading.Event()

    class Ends(SpanProcessor):
        def on_end(self, span: Any) -> None:
            attributes = span.attributes or {}
            if span.name == "rxsteps.step ups" and attributes.get("rxsteps.item") == 0:
                first_ended.set()

    provider = TracerProvider()
    provider.add_span_processor(Ends())
    graph = StepGraph([Step("docs", _producer("generator", "a", ["b"], first_ended)),
                       Step("ups", str.upper, ["docs"], map="docs")])
    outcome = execute(graph, tracer_provider=provider)
    assert outcome.values()["ups"] == ["A", "B"]
    assert outcome.result is not None
    first = next(a for a in outcome.result.attempts if a.step == "ups" and a.index == 0)
    assert first.end < outcome.result.ended["docs"]  # recorded before the stream ended
