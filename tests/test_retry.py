"""Retry: delays, which errors are retried, and argument checks."""

from __future__ import annotations

import math

import pytest

from rxsteps import OptionError, Retry, StepTimeoutError


def test_exponential_delays_capped() -> None:
    policy = Retry(attempts=6, backoff=0.5, multiplier=2, max_backoff=3)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_stays_within_its_fraction() -> None:
    policy = Retry(backoff=1.0, jitter=0.5)
    delays = [policy.delay(1) for _ in range(200)]
    assert all(1.0 <= d <= 1.5 for d in delays)
    assert len(set(delays)) > 1


def test_should_retry_counts_attempts_and_filters() -> None:
    policy = Retry(attempts=3, on=(ConnectionError, StepTimeoutError))
    assert policy.should_retry(ConnectionError(), 1)
    assert policy.should_retry(StepTimeoutError("s", 1.0), 2)
    assert not policy.should_retry(ConnectionError(), 3)
    assert not policy.should_retry(ValueError(), 1)


def test_predicate_filter() -> None:
    policy = Retry(attempts=5, on=lambda error: "429" in str(error))
    assert policy.should_retry(RuntimeError("HTTP 429"), 1)
    assert not policy.should_retry(RuntimeError("HTTP 400"), 1)


def test_timeouts_are_retried_by_default() -> None:
    assert Retry().should_retry(StepTimeoutError("s", 1.0), 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"attempts": 0}, ValueError, "Retry: attempts must be at least 1, got 0"),
        ({"attempts": 1.5}, TypeError, "Retry: attempts must be an int, got 1.5"),
        (
            {"backoff": -1},
            ValueError,
            "Retry: backoff must be a non-negative number of seconds and finite, got -1",
        ),
        (
            {"max_backoff": -1},
            ValueError,
            "Retry: max_backoff must be a non-negative number of seconds (math.inf: no cap), "
            "got -1",
        ),
        (
            {"multiplier": 0.5},
            ValueError,
            "Retry: multiplier must be at least 1 and finite, got 0.5",
        ),
        ({"backoff": "1"}, TypeError, "Retry: backoff must be a number of seconds, got '1'"),
        (
            {"backoff": math.nan},
            ValueError,
            "Retry: backoff must be a non-negative number of seconds and finite, got nan",
        ),
        (
            {"backoff": math.inf},
            ValueError,
            "Retry: backoff must be a non-negative number of seconds and finite, got inf",
        ),
        (
            {"on": [ValueError]},
            TypeError,
            "Retry: on must be an exception type, a tuple of them or a predicate; got a list: "
            "use a tuple, on=(ValueError,)",
        ),
        ({"jitter": 2}, ValueError, "Retry: jitter must be between 0 and 1, got 2"),
        (
            {"on": "ValueError"},
            TypeError,
            "Retry: on must be an exception type, a tuple of them or a predicate "
            "(error -> bool), got 'ValueError'",
        ),
    ],
)
def test_bad_arguments(kwargs, error, message) -> None:
    with pytest.raises(error) as info:
        Retry(**kwargs)
    assert isinstance(info.value, OptionError)  # an rxsteps refusal, naming the option
    assert info.value.option == next(iter(kwargs))
    assert str(info.value) == message
