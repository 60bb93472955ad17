"""StepContext: what a running action can know about itself."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import reactivex
from reactivex import operators as ops
from reactivex.subject import Subject

from rxsteps import (
    EventKind,
    Retry,
    Step,
    StepCancelledError,
    StepContext,
    StepFailedError,
    StepGraph,
    arun,
    current,
    pipeline,
    run,
)


def test_current_outside_a_step_is_an_error():
    with pytest.raises(LookupError, match=r"^rxsteps.current\(\) called outside a running step$"):
        current()


def test_current_inside_sync_and_async_actions():
    seen: list[tuple[str, int, int]] = []

    def flaky() -> str:
        context = current()
        seen.append((context.step, context.attempt, context.index))
        if context.attempt == 1:
            raise ConnectionError
        return "ok"

    async def later(x: str) -> str:
        await asyncio.sleep(0)
        context = current()
        seen.append((context.step, context.attempt, context.index))
        return x

    run(StepGraph([Step("f", flaky, retry=Retry(attempts=2, backoff=0)), Step("g", later, ["f"])]))
    assert seen == [("f", 1, 0), ("f", 2, 0), ("g", 1, 0)]


def test_cancel_flag_and_wait():
    context = StepContext("s")
    assert not context.cancelled and context.wait(0) is False
    context.raise_if_cancelled()
    context.cancel()
    assert context.cancelled and context.wait(5) is True
    with pytest.raises(StepCancelledError, match=r"^step 's' was cancelled$"):
        context.raise_if_cancelled()
    assert repr(context) == "<StepContext 's' attempt=1 index=0 cancelled>"


def test_a_timed_out_action_is_told_to_stop():
    told: list[bool] = []
    returned = threading.Event()

    def slow() -> None:
        told.append(current().wait(10))
        returned.set()

    with pytest.raises(StepFailedError):
        run(StepGraph([Step("slow", slow, timeout=0.05)]))
    assert returned.wait(10)
    assert told == [True]


# -- the caller's context travels with its steps (issue 11, point 7) --------------------

REQUEST: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="none")


def _seen_graph() -> StepGraph:
    async def coroutine() -> str:
        return REQUEST.get()

    return StepGraph([Step("sync", lambda: REQUEST.get()), Step("coroutine", coroutine)])


@pytest.mark.parametrize("scheduler", ["threads", "asyncio", "executor"])
def test_every_action_sees_the_callers_context_vars(scheduler: str) -> None:
    def call(value: str) -> dict[str, str]:
        REQUEST.set(value)
        if scheduler == "asyncio":
            result = asyncio.run(arun(_seen_graph()))
        elif scheduler == "executor":
            with ThreadPoolExecutor(2) as pool:
                result = run(_seen_graph(), scheduler=pool)
        else:
            result = run(_seen_graph())
        return dict(result)

    # two callers at once on a warm pool: each run sees its own caller's value
    outcomes: dict[str, dict[str, str]] = {}
    threads = [
        threading.Thread(target=lambda v=v: outcomes.__setitem__(v, call(v)))
        for v in ("request-1", "request-2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    for value in ("request-1", "request-2"):
        assert outcomes[value] == {"sync": value, "coroutine": value}


def test_an_actions_context_changes_stay_in_that_attempt() -> None:
    def writes() -> str:
        REQUEST.set("changed by a step")
        return REQUEST.get()

    result = run(StepGraph([Step("w", writes), Step("r", lambda w: REQUEST.get(), ["w"])]))
    assert result["w"] == "changed by a step"
    assert result["r"] == "none"


def test_current_is_unset_inside_event_callbacks() -> None:
    outcomes: list[str] = []

    def on_event(event: object) -> None:
        try:
            current()
        except LookupError:
            outcomes.append("unset")
        else:
            outcomes.append("set")

    run(StepGraph([Step("a", lambda: 1)]), on_event=on_event)
    assert outcomes == ["unset", "unset", "unset"]


def test_event_callbacks_see_the_callers_context_too() -> None:
    REQUEST.set("the caller's")
    seen: list[str] = []
    run(StepGraph([Step("a", lambda: 1)]),
        on_event=lambda e: seen.append(REQUEST.get()) if e.kind is EventKind.SUCCEEDED else None)
    assert seen == ["the caller's"]


def _pipeline_graph() -> StepGraph:
    async def coroutine(q: int) -> str:
        return REQUEST.get()

    return StepGraph([Step("sync", lambda q: REQUEST.get(), ["q"]),
                      Step("coroutine", coroutine, ["q"])], inputs=["q"])


@pytest.mark.parametrize("scheduler", ["threads", "asyncio"])
def test_a_pipelines_runs_see_the_subscribers_context_not_the_producers(scheduler: str) -> None:
    # each event's run took the context of the thread that emitted the value
    token = REQUEST.set("the subscriber's")
    subject: Subject[int] = Subject()
    results: list[dict[str, str]] = []
    done = threading.Event()

    def produce() -> None:
        REQUEST.set("the producer's")
        for q in range(3):
            subject.on_next(q)
        subject.on_completed()

    async def on_a_loop() -> None:
        REQUEST.set("the subscriber's")
        pipeline(_pipeline_graph(), {"q": subject}, scheduler="asyncio").subscribe(
            lambda r: results.append(dict(r)), on_completed=done.set)
        producer = threading.Thread(target=produce)
        producer.start()
        while not done.is_set():
            await asyncio.sleep(0.01)
        producer.join(10)

    try:
        if scheduler == "asyncio":
            asyncio.run(asyncio.wait_for(on_a_loop(), 20))
        else:
            pipeline(_pipeline_graph(), {"q": subject}).subscribe(
                lambda r: results.append(dict(r)), on_completed=done.set)
            producer = threading.Thread(target=produce)
            producer.start()
            producer.join(10)
            assert done.wait(10)
    finally:
        REQUEST.reset(token)
    assert results == [{"sync": "the subscriber's", "coroutine": "the subscriber's"}] * 3


def test_a_pipelines_run_method_passes_the_callers_context() -> None:
    # reactivex's run() subscribes with a NewThreadScheduler: the values were emitted on
    # a new thread, whose context is empty, and the steps saw the variable unset
    token = REQUEST.set("the caller's")
    try:
        results = pipeline(_pipeline_graph(), {"q": reactivex.of(1, 2)}).pipe(
            ops.to_list()).run()
    finally:
        REQUEST.reset(token)
    assert [dict(r) for r in results] == [{"sync": "the caller's",
                                           "coroutine": "the caller's"}] * 2
