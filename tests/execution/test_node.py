"""rxsteps.execution.node: each step of a run is an Observable, and a dependent's join
is subscribed to its dependencies' observables."""

from __future__ import annotations

import gc

import reactivex
from reactivex import operators as ops

from rxsteps import Step, StepGraph, start
from rxsteps.execution.node import InputNode, Node


def test_a_node_is_an_observable_and_its_dependents_joins_subscribe_to_it() -> None:
    query = InputNode("query", "q")
    fetch = Node(Step("fetch", str.upper, ["query"]), [query])
    both = Node(Step("both", lambda q, f: q + f, ["query", "fetch"]), [query, fetch])
    assert isinstance(fetch, reactivex.Observable)
    assert query.dependents == [fetch, both]
    assert fetch.dependents == [both]


def test_the_handles_step_observable_is_the_runs_own_node() -> None:
    handle = start(StepGraph([Step("a", lambda: 1), Step("b", lambda a: a + 1, ["a"])]))
    a, b = handle.steps["a"], handle.steps["b"]
    handle.result(5)
    assert isinstance(a, Node)
    assert a.dependents == [] and a.status.value == "succeeded"  # unlinked after the end
    assert b.pipe(ops.to_list()).run() == [2]


def test_an_input_replays_its_one_value_then_completes() -> None:
    assert InputNode("q", 7).pipe(ops.map(lambda v: v * 6), ops.to_list()).run() == [42]


def test_a_step_observable_replays_after_its_run_was_freed() -> None:
    def words():
        yield from ["a", "b", "c"]

    handle = start(StepGraph([Step("words", words)]))
    handle.result(5)
    observable = handle.steps["words"]
    assert observable.owner is not None and observable.owner() is not None
    del handle
    gc.collect()
    assert observable.owner() is None  # the node held its run weakly
    assert observable.pipe(ops.to_list()).run() == ["a", "b", "c"]


def test_operators_that_lock_their_source_work_on_a_step() -> None:
    def numbers():
        yield from range(5)

    handle = start(StepGraph([Step("n", numbers)]))
    taken = handle.steps["n"].pipe(ops.take_while(lambda v: v < 3), ops.to_list())
    assert taken.run() == [0, 1, 2]
    assert handle.result(5)["n"] == 4


def test_a_skipped_step_completes_its_observable() -> None:
    def nothing():
        yield from ()

    handle = start(StepGraph([Step("empty", nothing), Step("after", len, ["empty"])]))
    handle.result(5)
    assert handle.steps["after"].pipe(ops.to_list()).run() == []
    assert handle.steps["after"].status.value == "skipped"
