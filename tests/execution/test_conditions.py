"""Conditional steps (``Step(when=...)``, ``optional=``, ``routes``), on every scheduler
of the contract suite: what runs, what is skipped and why, the events, and that a
condition takes neither the run's lock nor a ``max_concurrency`` slot."""

from __future__ import annotations

import threading
from typing import Any

from rxsteps import EventKind, Step, StepFailedError, StepGraph, StepStatus, routes


def _never(*_: Any) -> Any:
    raise AssertionError("the action of a step whose condition is false ran")


def _boom(*_: Any) -> bool:
    raise ValueError("bad condition")


def _branches(choice: str) -> StepGraph:
    return StepGraph([
        Step("plan", lambda: choice),
        Step("a", lambda plan: "A", ["plan"], when=lambda plan: plan == "a"),
        Step("b", lambda plan: "B", ["plan"], when=lambda plan: plan == "b"),
        Step("after_a", lambda a: a + "!", ["a"]),
        Step("merge", lambda a, b: (a, b), ["a", "b"], optional=["a", "b"],
             defaults={"a": "no a"}),
    ])


def test_a_false_condition_skips_the_step_and_what_needs_it(execute):
    outcome = execute(_branches("b"))
    result = outcome.result
    assert outcome.error is None and result is not None
    assert result.status["a"] is StepStatus.SKIPPED
    assert result.reasons["a"] == "condition false"
    assert result.reasons["after_a"] == "dependency 'a' skipped"
    assert result.skipped_by_condition("a") and result.skipped_by_condition("after_a")
    assert not result.skipped_by_condition("b")
    assert outcome.kinds("a") == [EventKind.SKIPPED]  # never started: no STARTED
    skipped = [e for e in outcome.events if e.kind is EventKind.SKIPPED]
    assert {e.step: e.reason for e in skipped} == {
        "a": "condition false", "after_a": "dependency 'a' skipped"}
    assert result["b"] == "B"
    assert result["merge"] == ("no a", "B")  # the default in the skipped branch's place
    assert result.ok


def test_the_merge_runs_with_either_branch(execute):
    result = execute(_branches("a")).result
    assert result is not None
    assert result["merge"] == ("A", None)  # no default given: None
    assert result["after_a"] == "A!"


def test_a_merge_all_of_whose_optional_dependencies_were_skipped_still_runs(execute):
    result = execute(_branches("neither")).result
    assert result is not None
    assert result["merge"] == ("no a", None)
    assert result.status["after_a"] is StepStatus.SKIPPED


def test_the_condition_gets_the_actions_arguments(execute):
    seen: list[tuple[Any, ...]] = []

    def when(*args: Any) -> bool:
        seen.append(args)
        return True

    graph = StepGraph([Step("x", lambda: 1), Step("y", lambda: 2),
                       Step("sum", lambda x, y, z: x + y + z, ["x", "y", "z"], when=when)],
                      inputs=["z"])
    result = execute(graph, {"z": 10}).result
    assert result is not None and result["sum"] == 13
    assert seen == [(1, 2, 10)]


def test_a_true_condition_runs_the_step(execute):
    graph = StepGraph([Step("a", lambda: 1, when=lambda: True), Step("b", lambda a: a + 1, ["a"])])
    outcome = execute(graph)
    assert outcome.values() == {"a": 1, "b": 2}
    assert outcome.kinds("a") == [EventKind.STARTED, EventKind.EMITTED, EventKind.SUCCEEDED]


def test_a_false_root_condition_never_calls_the_action(execute):
    graph = StepGraph([Step("a", _never, when=lambda: False)])
    result = execute(graph).result
    assert result is not None and result.reasons == {"a": "condition false"}


def test_a_condition_that_raises_fails_the_step_with_its_exception(execute):
    graph = StepGraph([Step("a", lambda: 1), Step("b", _never, ["a"], when=_boom),
                       Step("c", lambda b: b, ["b"])])
    outcome = execute(graph)
    error = outcome.error
    assert isinstance(error, StepFailedError)
    assert str(error) == "step 'b' failed: ValueError: bad condition"
    assert isinstance(error.__cause__, ValueError)
    assert error.result is not None and error.result.status["b"] is StepStatus.FAILED
    assert outcome.kinds("b") == [EventKind.FAILED]


def test_a_failed_optional_dependency_still_skips_the_merge(execute):
    def fail(plan: str) -> str:
        raise ValueError("branch failed")

    graph = StepGraph([
        Step("plan", lambda: "a"),
        Step("a", fail, ["plan"], when=lambda plan: plan == "a"),
        Step("b", _never, ["plan"], when=lambda plan: plan == "b"),
        Step("merge", lambda a, b: (a, b), ["a", "b"], optional=["a", "b"]),
    ])
    result = execute(graph, fail_fast=False).result
    assert result is not None
    assert result.status["a"] is StepStatus.FAILED
    assert result.status["merge"] is StepStatus.SKIPPED
    assert result.reasons["merge"] == "dependency 'a' failed"
    assert not result.skipped_by_condition("merge")


def test_a_condition_skip_passes_through_required_dependencies_to_an_optional_one(execute):
    graph = StepGraph([
        Step("a", _never, when=lambda: False),
        Step("b", _never, ["a"]),  # skipped because a was: still a condition's doing
        Step("c", lambda b: b, ["b"], optional=["b"], defaults={"b": "default"}),
    ])
    result = execute(graph).result
    assert result is not None and result["c"] == "default"
    assert result.skipped_by_condition("b")


def test_a_router_chooses_its_branches(execute):
    graph = StepGraph([
        Step("router", lambda question: ["web", "maths"] if "+" in question else "chat",
             ["question"]),
        Step("web", lambda route, question: "searched " + question, ["router", "question"],
             when=routes("router", "web")),
        Step("maths", lambda question, route: "4", ["question", "router"],
             when=routes("router", "maths")),
        Step("chat", _never, ["router"], when=routes("router", "chat", "smalltalk")),
        Step("answer", lambda web, maths, chat: [web, maths, chat], ["web", "maths", "chat"],
             optional=["web", "maths", "chat"]),
    ], inputs=["question"])
    result = execute(graph, {"question": "2+2"}).result
    assert result is not None
    assert result["answer"] == ["searched 2+2", "4", None]
    assert result.reasons["chat"] == "condition false"


def test_a_condition_is_asked_per_call_of_a_streaming_join(execute):
    graph = StepGraph([
        Step("numbers", lambda: (n for n in range(6))),
        Step("tens", lambda n: n * 10, ["numbers"], when=lambda n: n % 2 == 0),
        Step("none", _never, ["numbers"], when=lambda n: n > 99),
    ])
    result = execute(graph).result
    assert result is not None
    assert result.emitted("tens") == [0, 20, 40]
    assert result.status["tens"] is StepStatus.SUCCEEDED
    assert result.status["none"] is StepStatus.SKIPPED  # none of its calls ran
    assert result.reasons["none"] == "condition false"


def test_a_condition_takes_no_slot_and_not_the_runs_lock(execute):
    # max_concurrency=1 and a streaming step holds the only slot while the condition
    # waits for its second value: a condition asked in a slot, or under the lock that
    # every emitted value takes, would wait out the bound and see False.
    first = threading.Event()
    second = threading.Event()

    def stream() -> Any:
        yield 1
        first.wait(30)
        yield 2
        second.set()

    def when() -> bool:
        first.set()
        return second.wait(30)

    graph = StepGraph([Step("stream", stream), Step("gated", lambda: "ran", when=when)])
    result = execute(graph, max_concurrency=1).result
    assert result is not None and result["gated"] == "ran"
