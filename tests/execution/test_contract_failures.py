"""Contract, part 2: failures, retries, timeouts and concurrency limits, on every
scheduler."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from rxsteps import (
    EventKind,
    Retry,
    Step,
    StepFailedError,
    StepGraph,
    StepStatus,
    StepTimeoutError,
)


def _boom(*_: Any) -> None:
    raise ValueError("boom")


def test_fail_fast_raises_with_cause_and_partial_result(execute):
    graph = StepGraph(
        [
            Step("ok", lambda: "kept"),
            Step("bad", _boom, ["ok"]),
            Step("after", lambda b: b, ["bad"]),
        ]
    )
    outcome = execute(graph)
    error = outcome.error
    assert isinstance(error, StepFailedError)
    assert str(error) == "step 'bad' failed: ValueError: boom"
    assert error.step == "bad"
    assert isinstance(error.__cause__, ValueError)
    assert error.result is not None and error.result is outcome.result
    assert error.result["ok"] == "kept"
    assert error.result.status["bad"] is StepStatus.FAILED
    assert error.result.status["after"] is StepStatus.CANCELLED
    assert error.result.failure is error
    assert outcome.kinds("bad")[-1] is EventKind.FAILED
    assert outcome.kinds("after") == [EventKind.CANCELLED]


def test_fail_fast_does_not_wait_for_running_thread_actions(execute, gate, parallel):
    started = threading.Event()

    def slow() -> str:
        started.set()
        gate.wait(30)
        return "late"

    def bad() -> None:
        started.wait(10)
        raise ValueError("boom")

    graph = StepGraph([Step("slow", slow), Step("bad", bad), Step("next", str, ["slow"])])
    outcome = execute(graph)
    assert not gate.is_set()  # returned while "slow" was still running
    assert isinstance(outcome.error, StepFailedError)
    assert outcome.result.status["slow"] is StepStatus.CANCELLED
    assert outcome.result.reasons["slow"] == "step 'bad' failed"
    assert outcome.result.status["next"] is StepStatus.CANCELLED
    assert not any(e.step == "next" and e.kind is EventKind.STARTED for e in outcome.events)


def test_keep_going_skips_only_dependents_of_failures(execute):
    called: list[str] = []
    graph = StepGraph(
        [
            Step("bad", _boom),
            Step("child", lambda b: called.append("child"), ["bad"]),
            Step("grandchild", lambda c: called.append("grandchild"), ["child"]),
            Step("independent", lambda: "fine"),
            Step("after_independent", lambda i: i + "!", ["independent"]),
        ]
    )
    outcome = execute(graph, fail_fast=False)
    result = outcome.result
    assert outcome.error is None
    assert called == []
    assert result.status["bad"] is StepStatus.FAILED
    assert result.status["child"] is StepStatus.SKIPPED
    assert result.reasons["child"] == "dependency 'bad' failed"
    assert result.reasons["grandchild"] == "dependency 'child' skipped"
    assert result["after_independent"] == "fine!"
    with pytest.raises(ExceptionGroup) as group:
        result.raise_for_errors()
    assert str(group.value) == "1 step(s) failed: 'bad' (1 sub-exception)"
    assert isinstance(group.value.exceptions[0], ValueError)


def test_retry_until_success_with_retrying_events(execute):
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError(f"try {len(attempts)}")
        return "ok"

    graph = StepGraph([Step("flaky", flaky, retry=Retry(attempts=3, backoff=0.01))])
    outcome = execute(graph)
    assert outcome.values() == {"flaky": "ok"}
    kinds = outcome.kinds("flaky")
    assert kinds == [
        EventKind.STARTED,
        EventKind.RETRYING,
        EventKind.STARTED,
        EventKind.RETRYING,
        EventKind.STARTED,
        EventKind.EMITTED,
        EventKind.SUCCEEDED,
    ]
    succeeded = [e for e in outcome.events if e.kind is EventKind.SUCCEEDED]
    assert [e.attempt for e in succeeded] == [3]
    retrying = [e for e in outcome.events if e.kind is EventKind.RETRYING]
    assert [e.attempt for e in retrying] == [1, 2]
    assert [str(e.error) for e in retrying] == ["try 1", "try 2"]
    assert [e.delay for e in retrying] == [0.01, 0.02]
    assert [a.outcome for a in outcome.result.attempts] == ["failed", "failed", "succeeded"]


def test_retry_gives_up_after_attempts(execute):
    graph = StepGraph([Step("bad", _boom, retry=Retry(attempts=2, backoff=0))])
    outcome = execute(graph)
    assert isinstance(outcome.error, StepFailedError)
    assert [a.attempt for a in outcome.result.attempts] == [1, 2]
    assert [e.attempt for e in outcome.events if e.kind is EventKind.FAILED] == [2]


def test_retry_only_on_listed_errors(execute):
    graph = StepGraph([Step("bad", _boom, retry=Retry(attempts=5, backoff=0, on=(KeyError,)))])
    outcome = execute(graph)
    assert isinstance(outcome.error, StepFailedError)
    assert len(outcome.result.attempts) == 1


def test_sync_timeout_abandons_the_attempt_and_discards_its_late_result(execute, parallel):
    release = threading.Event()
    returned = threading.Event()
    calls: list[int] = []

    def sometimes_slow() -> str:
        calls.append(1)
        if len(calls) == 1:
            release.wait(30)
            returned.set()
            return "late"
        return "fresh"

    graph = StepGraph([Step("s", sometimes_slow, timeout=0.2, retry=Retry(attempts=2, backoff=0))])
    outcome = execute(graph)
    assert outcome.values() == {"s": "fresh"}
    first = outcome.result.attempts[0]
    assert first.outcome == "timeout"
    assert isinstance(first.error, StepTimeoutError)
    assert str(first.error) == "step 's' timed out after 0.2 s (attempt 1)"
    release.set()
    assert returned.wait(10)
    assert outcome.result.emitted("s") == ["fresh"]


def test_sync_timeout_without_retry_fails_the_step(execute, gate):
    graph = StepGraph([Step("hang", lambda: gate.wait(30), timeout=0.1)])
    outcome = execute(graph)
    assert isinstance(outcome.error, StepFailedError)
    assert isinstance(outcome.error.__cause__, StepTimeoutError)
    assert not gate.is_set()


def test_async_timeout_cancels_the_coroutine(execute):
    cancelled = threading.Event()

    async def hang() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    outcome = execute(StepGraph([Step("hang", hang, timeout=0.1)]))
    assert isinstance(outcome.error.__cause__, StepTimeoutError)
    assert cancelled.wait(10)


def test_max_concurrency_caps_running_actions(execute, parallel):
    lock = threading.Lock()
    active = [0, 0]  # now, peak

    def work(i: int) -> int:
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        return i

    steps = [Step(f"w{i}", lambda i=i: work(i)) for i in range(12)]
    outcome = execute(StepGraph(steps), max_concurrency=3)
    assert outcome.values() == {f"w{i}": i for i in range(12)}
    assert active[1] <= 3
    assert active[1] >= 2  # it did run in parallel


def test_max_concurrency_counts_coroutines_too(execute):
    lock = threading.Lock()
    active = [0, 0]

    async def work(i: int) -> int:
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
        await asyncio.sleep(0.01)
        with lock:
            active[0] -= 1
        return i

    steps = [Step(f"w{i}", lambda i=i: work(i)) for i in range(10)]
    execute(StepGraph(steps), max_concurrency=2)
    assert 1 <= active[1] <= 2


def test_generator_failing_after_a_value_is_not_retried(execute):
    def stream() -> Any:
        yield "token"
        raise ValueError("mid-stream")

    outcome = execute(StepGraph([Step("s", stream, retry=Retry(attempts=3, backoff=0))]))
    assert isinstance(outcome.error, StepFailedError)
    assert outcome.result.emitted("s") == ["token"]
    assert len(outcome.result.attempts) == 1
