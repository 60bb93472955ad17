"""rxsteps.start and RunHandle: each step of a run is a hot, replaying Observable."""

from __future__ import annotations

import asyncio
import threading

import pytest
import reactivex
from reactivex import operators as ops

from rxsteps import (
    RunHandle,
    Step,
    StepCancelledError,
    StepFailedError,
    StepGraph,
    StepObservable,
    current,
    start,
)


def tokens():
    yield from ["eager", " ", "steps"]


GRAPH = StepGraph([
    Step("tokens", tokens),
    Step("text", "".join, ["tokens"], join="collect"),
    Step("shout", str.upper, ["text"]),
])


def test_a_step_is_an_observable_of_its_values_composable_with_operators() -> None:
    handle = start(GRAPH)
    assert isinstance(handle, RunHandle)
    assert isinstance(handle.steps["tokens"], StepObservable)
    assert isinstance(handle.steps["tokens"], reactivex.Observable)
    upper = handle.steps["tokens"].pipe(ops.map(str.upper), ops.to_list()).run()
    assert upper == ["EAGER", " ", "STEPS"]
    assert handle.result()["shout"] == "EAGER STEPS"


def test_a_late_subscriber_gets_every_value_replayed_then_completion() -> None:
    handle = start(GRAPH)
    handle.result()
    seen: list[object] = []
    done = threading.Event()
    handle.steps["tokens"].subscribe(seen.append, on_completed=done.set)
    assert done.wait(5)
    assert seen == ["eager", " ", "steps"]


def test_values_arrive_as_they_are_emitted_while_the_step_runs() -> None:
    go, first = threading.Event(), threading.Event()

    def slow_tokens():
        yield "a"
        go.wait(5)  # holds the step open until the subscriber saw "a"
        yield "b"

    handle = start(StepGraph([Step("t", slow_tokens)]))
    seen: list[str] = []

    def on_next(value: str) -> None:
        seen.append(value)
        first.set()

    handle.steps["t"].subscribe(on_next)
    assert first.wait(5)
    assert seen == ["a"] and not handle.done
    go.set()
    handle.result()
    assert seen == ["a", "b"]


def test_a_failed_step_errors_with_its_own_exception_and_the_run_raises() -> None:
    def boom():
        raise ConnectionError("down")

    handle = start(StepGraph([Step("boom", boom)]))
    errors: list[BaseException] = []
    done = threading.Event()
    handle.steps["boom"].subscribe(on_error=lambda e: (errors.append(e), done.set()))
    assert done.wait(5)
    assert isinstance(errors[0], ConnectionError)
    with pytest.raises(StepFailedError, match="step 'boom' failed: ConnectionError: down"):
        handle.result()


def test_cancel_ends_running_steps_with_step_cancelled_error() -> None:
    started = threading.Event()

    def wait():
        started.set()
        current().wait(30)

    handle = start(StepGraph([Step("wait", wait)]))
    errors: list[BaseException] = []
    done = threading.Event()
    handle.steps["wait"].subscribe(on_error=lambda e: (errors.append(e), done.set()))
    assert started.wait(5)
    handle.cancel()
    assert done.wait(5)
    assert isinstance(errors[0], StepCancelledError)
    assert handle.result(5).status["wait"].value == "cancelled"


def test_disposing_a_subscription_does_not_cancel_the_run() -> None:
    go = threading.Event()
    handle = start(StepGraph([Step("a", lambda: go.wait(5) and "done")]))
    handle.steps["a"].subscribe(lambda _: None).dispose()
    go.set()
    assert handle.result(5)["a"] == "done"


def test_events_replay_to_a_late_subscriber() -> None:
    handle = start(StepGraph([Step("a", lambda: 1)]))
    handle.result()
    kinds = [e.kind.name for e in handle.events.pipe(ops.to_list()).run()]
    assert kinds == ["STARTED", "EMITTED", "SUCCEEDED"]


def test_await_a_handle() -> None:
    async def main() -> object:
        handle = start(StepGraph([Step("a", lambda: 41), Step("b", lambda a: a + 1, ["a"])]))
        return (await handle)["b"]

    assert asyncio.run(main()) == 42


def test_an_unknown_step_says_what_it_might_have_meant() -> None:
    handle = start(GRAPH)
    with pytest.raises(KeyError, match=r"the run has no step 'token'; did you mean 'tokens'\?"):
        handle.steps["token"]
    handle.result()
