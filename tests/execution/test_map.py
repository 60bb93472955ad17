"""Mapped steps (``Step(..., map=...)``) on every scheduler of the contract suite: one
call per item in item order, in parallel within ``max_concurrency``, retried per item,
failures with and without ``fail_fast``, empty and non-iterable values."""

from __future__ import annotations

from typing import Any

import pytest
from reactivex.testing import TestScheduler

from rxsteps import (
    EventKind,
    Limiter,
    MapItemsFailedError,
    MapTypeError,
    Retry,
    Step,
    StepDefinitionError,
    StepFailedError,
    StepGraph,
    StepStatus,
    StepTimeoutError,
    observe,
)
from tests.support import run_isolated
from tests.support.flaky import FailsOnce, Meets


def _started(outcome: Any, step: str) -> list[int]:
    return [e.index for e in outcome.events if e.step == step and e.kind is EventKind.STARTED]


def test_one_call_per_item_in_item_order_with_the_other_dependencies(execute):
    graph = StepGraph([
        Step("docs", lambda: ["a", "bb", "ccc"]),
        Step("style", lambda: "short"),
        Step("summaries", lambda style, doc: f"{style}:{doc}", ["style", "docs"], map="docs"),
        Step("count", len, ["summaries"]),
    ])
    outcome = execute(graph)
    assert outcome.values()["summaries"] == ["short:a", "short:bb", "short:ccc"]
    assert outcome.values()["count"] == 3
    assert sorted(_started(outcome, "summaries")) == [0, 1, 2]  # each item its own attempt
    emitted = [e for e in outcome.events if e.step == "summaries" and e.kind is EventKind.EMITTED]
    assert [e.value for e in emitted] == [["short:a", "short:bb", "short:ccc"]]  # one value
    assert outcome.result is not None
    assert sorted(a.index for a in outcome.result.attempts if a.step == "summaries") == [0, 1, 2]


def test_items_run_in_parallel_within_max_concurrency(execute, parallel):
    item = Meets(3, lambda x: x * x, timeout=30)  # three items must be in flight at once

    graph = StepGraph([Step("xs", lambda: list(range(9))),
                       Step("squares", item, ["xs"], map="xs")])
    outcome = execute(graph, max_concurrency=3)
    assert outcome.values()["squares"] == [x * x for x in range(9)]
    assert max(item.running) == 3


def test_each_item_follows_the_retry_policy_on_its_own(execute):
    flaky = FailsOnce({1, 3}, lambda x: x)
    graph = StepGraph([Step("xs", lambda: [0, 1, 2, 3]),
                       Step("ys", flaky, ["xs"], map="xs", retry=Retry(attempts=2, backoff=0.01))])
    outcome = execute(graph)
    assert outcome.values()["ys"] == [0, 1, 2, 3]
    assert flaky.calls == {0: 1, 1: 2, 2: 1, 3: 2}
    retried = [(e.index, e.attempt) for e in outcome.events
               if e.step == "ys" and e.kind is EventKind.RETRYING]
    assert sorted(retried) == [(1, 1), (3, 1)]


def _half(x: int) -> float:
    if x % 2:
        raise ValueError(f"odd {x}")
    return x / 2


def test_with_keep_going_failed_items_fail_the_step_in_a_group_and_the_rest_are_kept(execute):
    graph = StepGraph([Step("xs", lambda: [0, 1, 2, 3, 4]),
                       Step("halves", _half, ["xs"], map="xs"),
                       Step("after", lambda h: h, ["halves"])])
    result = execute(graph, fail_fast=False).result
    assert result is not None
    assert result.status["halves"] is StepStatus.FAILED
    error = result.errors["halves"]
    assert isinstance(error, MapItemsFailedError) and isinstance(error, ExceptionGroup)
    assert str(error) == "step 'halves': 2 of 5 items failed (indexes 1, 3) (2 sub-exceptions)"
    assert error.failed == [1, 3]
    assert [str(e) for e in error.exceptions] == ["odd 1", "odd 3"]
    assert error.exceptions[0].__notes__ == ["in item 1 of step 'halves'"]
    assert result.partial("halves") == [0.0, None, 1.0, None, 2.0]
    assert result.reasons["after"] == "dependency 'halves' failed"


def test_without_keep_going_the_first_failed_item_fails_the_step_and_stops_the_rest(execute):
    graph = StepGraph([Step("xs", lambda: [0, 1, 2, 3, 4]),
                       Step("halves", _half, ["xs"], map="xs")])
    outcome = execute(graph, max_concurrency=1)  # one item at a time: 2, 3, 4 never start
    assert isinstance(outcome.error, StepFailedError)
    assert str(outcome.error) == "step 'halves' failed: ValueError: odd 1"
    assert _started(outcome, "halves") == [0, 1]
    assert outcome.result is not None and outcome.result.status["halves"] is StepStatus.FAILED


def test_an_empty_list_succeeds_with_an_empty_list(execute):
    graph = StepGraph([Step("xs", lambda: []), Step("ys", _half, ["xs"], map="xs"),
                       Step("n", len, ["ys"])])
    outcome = execute(graph)
    assert outcome.values() == {"xs": [], "ys": [], "n": 0}
    assert _started(outcome, "ys") == []


@pytest.mark.parametrize(("value", "kind"),
                         [(12, "an int"), ("text", "a str"), (None, "a NoneType")])
def test_a_value_without_items_fails_the_step_naming_the_dependency(execute, value, kind):
    graph = StepGraph([Step("xs", lambda: value), Step("ys", _half, ["xs"], map="xs")])
    result = execute(graph, fail_fast=False).result
    assert result is not None
    error = result.errors["ys"]
    assert isinstance(error, MapTypeError) and isinstance(error, TypeError)
    assert str(error) == (f"step 'ys' maps over dependency 'xs', whose value is {kind}, not a "
                          "list or other iterable of items")
    assert (error.step, error.dependency) == ("ys", "xs")


def test_a_tuple_is_mapped_and_a_mapped_steps_list_can_be_mapped_again(execute):
    graph = StepGraph([Step("xs", lambda: (4, 8)), Step("ys", _half, ["xs"], map="xs"),
                       Step("zs", _half, ["ys"], map="ys")])
    assert execute(graph).values()["zs"] == [1.0, 2.0]


def test_a_condition_and_a_map_together(execute):
    graph = StepGraph([Step("xs", lambda: [2, 4]),
                       Step("ys", _half, ["xs"], map="xs", when=lambda xs: len(xs) > 5)])
    result = execute(graph).result
    assert result is not None and result.reasons["ys"] == "condition false"


# -- refused when the graph is made ------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Step("ys", _half, ["xs"], map="zs"),
         "step 'ys': map='zs' is not in depends ['xs']; add it to depends"),
        (lambda: Step("ys", _half, ["xs"], map=["xs"]),
         "step 'ys': map must be the name of one dependency, got ['xs']"),
        (lambda: Step("ys", lambda x: (yield x), ["xs"], map="xs"),
         "step 'ys': map='xs' needs an action that returns one value per item; this one is a "
         "generator (it streams): return a list instead"),
    ],
)
def test_what_cannot_be_mapped_is_refused_up_front(make: Any, message: str) -> None:
    with pytest.raises(StepDefinitionError) as info:
        make()
    assert str(info.value) == message
    assert info.value.step == "ys" and info.value.argument == "map"


# -- within limits=, rates= and max_concurrency -----------------------------------------


@pytest.mark.parametrize("max_concurrency", [None, 3])
def test_items_hold_the_steps_resources_each_and_give_every_unit_back(execute, parallel,
                                                                      max_concurrency):
    # Two items of one step admitted in the same pass each hold their own units: before
    # the fix the second one's units were lost, the limit fell to one and the barrier broke.
    limiter = Limiter(limits={"llm": 2})
    for _ in range(2):  # the same limiter again: nothing leaked from the first run
        item = Meets(2, lambda x: x * 10)  # two must run at once
        graph = StepGraph([Step("xs", lambda: list(range(8))),
                           Step("ys", item, ["xs"], map="xs", uses="llm")])
        outcome = execute(graph, limits=limiter, max_concurrency=max_concurrency)
        assert outcome.values()["ys"] == [x * 10 for x in range(8)]
        assert max(item.running) == 2 and len(item.running) == 8  # each once, never 3 at once
        assert limiter.in_use("llm") == 0
        assert sorted(_started(outcome, "ys")) == list(range(8))


def test_each_waiting_item_says_so_with_its_own_index(execute):
    # Before: the gate knew only the node, so one WAITING event said index 0 for all.
    graph = StepGraph([Step("xs", lambda: list(range(5))),
                       Step("ys", lambda x: -x, ["xs"], map="xs", uses="llm")])
    outcome = execute(graph, limits={"llm": 1})
    assert outcome.values()["ys"] == [0, -1, -2, -3, -4]
    ys = [(e.kind, e.index, e.attempt) for e in outcome.events if e.step == "ys"
          and e.kind in (EventKind.WAITING, EventKind.STARTED)]
    waiting = [(i, a) for kind, i, a in ys if kind is EventKind.WAITING]
    assert waiting == [(1, 1), (2, 1), (3, 1), (4, 1)]
    assert [i for kind, i, _ in ys if kind is EventKind.STARTED] == [0, 1, 2, 3, 4]
    for index in range(1, 5):  # each item waited before it started
        assert ys.index((EventKind.WAITING, index, 1)) < ys.index((EventKind.STARTED, index, 1))
    assert outcome.result is not None
    assert [(w.step, w.index, w.attempt) for w in outcome.result.waits] == [
        ("ys", i, 1) for i in range(1, 5)]


def test_a_retried_item_waits_under_its_own_index_and_attempt():
    scheduler = TestScheduler()
    events: list[Any] = []
    graph = StepGraph([Step("xs", lambda: list(range(3))),
                       Step("ys", FailsOnce({1}, lambda x: -x), ["xs"], map="xs", uses="llm",
                            retry=Retry(attempts=2, backoff=0.5))])
    observe(graph, scheduler=scheduler, rates={"llm": "1/s"}).subscribe(events.append)
    scheduler.start()
    waiting = [(e.index, e.attempt, e.time) for e in events
               if e.kind is EventKind.WAITING and e.step == "ys"]
    starts = [(e.index, e.attempt, e.time) for e in events
              if e.kind is EventKind.STARTED and e.step == "ys"]
    # item 1 fails at 1.0; its retry is due at 1.5 and goes first in line again
    assert starts == [(0, 1, 0.0), (1, 1, 1.0), (1, 2, 2.0), (2, 1, 3.0)]
    assert waiting == [(1, 1, 0.0), (2, 1, 0.0), (1, 2, 1.5)]
    emitted = [e.value for e in events if e.kind is EventKind.EMITTED and e.step == "ys"]
    assert emitted == [[0, -1, -2]]


def test_items_take_a_rate_token_each():
    scheduler = TestScheduler()
    events: list[Any] = []
    graph = StepGraph([Step("xs", lambda: list(range(6))),
                       Step("ys", lambda x: -x, ["xs"], map="xs", uses="llm")])
    observe(graph, scheduler=scheduler, rates={"llm": "2/s"}).subscribe(events.append)
    scheduler.start()
    starts = [(e.index, e.time) for e in events if e.kind is EventKind.STARTED and e.step == "ys"]
    assert starts == [(0, 0.0), (1, 0.0), (2, 0.5), (3, 1.0), (4, 1.5), (5, 2.0)]
    emitted = [e.value for e in events if e.kind is EventKind.EMITTED and e.step == "ys"]
    assert emitted == [[0, -1, -2, -3, -4, -5]]


# -- timeout= per item --------------------------------------------------------------------


def test_each_item_has_its_own_timeout_and_a_hung_one_is_abandoned(execute, parallel, gate):
    def item(x: int) -> int:
        if x == 1:
            gate.wait(30)  # hangs until the test ends; its late result is dropped
        return x * 10

    graph = StepGraph([Step("xs", lambda: [0, 1, 2, 3]),
                       Step("ys", item, ["xs"], map="xs", timeout=1.0)])
    result = execute(graph, fail_fast=False).result
    assert result is not None
    error = result.errors["ys"]
    assert isinstance(error, MapItemsFailedError) and error.failed == [1]
    assert isinstance(error.exceptions[0], StepTimeoutError)
    assert str(error.exceptions[0]) == "step 'ys' timed out after 1 s (attempt 1)"
    assert result.partial("ys") == [0, None, 20, 30]
    outcomes = sorted((a.index, a.outcome) for a in result.attempts if a.step == "ys")
    assert outcomes == [(0, "succeeded"), (1, "timeout"), (2, "succeeded"), (3, "succeeded")]


def test_a_timed_out_item_is_retried_on_its_own(execute, parallel, gate):
    tries = [0]

    def item(x: int) -> int:
        if x == 2:
            tries[0] += 1
            if tries[0] == 1:
                gate.wait(30)
        return x * 10

    graph = StepGraph([Step("xs", lambda: [0, 1, 2]),
                       Step("ys", item, ["xs"], map="xs", timeout=1.0,
                            retry=Retry(attempts=2, backoff=0))])
    outcome = execute(graph)
    assert outcome.values()["ys"] == [0, 10, 20]
    assert outcome.result is not None
    assert [(a.attempt, a.outcome) for a in outcome.result.attempts
            if a.step == "ys" and a.index == 2] == [(1, "timeout"), (2, "succeeded")]


def test_a_never_returning_item_does_not_hold_up_the_step_or_the_process() -> None:
    out = run_isolated("""
        import threading
        from rxsteps import Step, StepGraph, run
        never = threading.Event()  # item 1's thread stays inside never.wait() for good
        graph = StepGraph([Step("xs", lambda: list(range(6))),
                           Step("ys", lambda x: never.wait() if x == 1 else x, ["xs"],
                                map="xs", timeout=1.0),
                           Step("n", len, ["ys"])])
        result = run(graph, fail_fast=False)
        print(result.errors["ys"].failed, result.partial("ys"), result.status["n"].value)
        later = StepGraph([Step("xs", lambda: list(range(6))),
                           Step("ys", lambda x: x, ["xs"], map="xs"), Step("n", len, ["ys"])])
        print(run(later)["n"])  # the process still runs graphs
    """, limit=30)
    assert out.splitlines() == ["[1] [0, None, 2, 3, 4, 5] skipped", "6"]
