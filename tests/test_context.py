"""StepContext: what a running action can know about itself."""

from __future__ import annotations

import asyncio
import threading

import pytest

from rxsteps import (
    Retry,
    Step,
    StepCancelledError,
    StepContext,
    StepFailedError,
    StepGraph,
    current,
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
