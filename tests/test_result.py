"""RunResult: a read-only mapping with statuses, errors, timings and attempts."""

from __future__ import annotations

import pytest

from rxsteps import Step, StepGraph, StepStatus, run


def _bad(_: object) -> None:
    raise KeyError("nope")


def _result():
    graph = StepGraph(
        [
            Step("tokens", lambda: (t for t in ["a", "b", "c"])),
            Step("bad", _bad, ["tokens"]),
            Step("skipped", lambda b: b, ["bad"]),
            Step("ok", lambda: 1),
        ]
    )
    return run(graph, fail_fast=False)


def test_mapping_holds_last_values_of_steps_that_produced_one():
    result = _result()
    assert dict(result) == {"tokens": "c", "ok": 1}
    assert result.emitted("tokens") == ["a", "b", "c"]
    assert result.emitted("skipped") == []
    assert "bad" not in result and len(result) == 2
    with pytest.raises(TypeError):
        result["x"] = 1  # type: ignore[index]


def test_missing_value_error_says_why():
    result = _result()
    with pytest.raises(KeyError) as info:
        result["skipped"]
    assert (
        info.value.args[0] == "step 'skipped' produced no value (skipped: dependency 'bad' failed)"
    )
    with pytest.raises(KeyError):
        result.emitted("unknown")


def test_statuses_times_and_attempts():
    result = _result()
    assert result.status["ok"] is StepStatus.SUCCEEDED and result.status["bad"] is StepStatus.FAILED
    assert isinstance(result.errors["bad"], KeyError)
    assert result.start <= result.started["tokens"] <= result.ended["tokens"] <= result.end
    assert "skipped" not in result.started
    assert result.duration == result.end - result.start >= 0
    assert not result.ok
    outcomes = sorted((a.step, a.outcome) for a in result.attempts)
    # the first failed call fails the step: its later inputs are not tried
    assert outcomes == [("bad", "failed"), ("ok", "succeeded"), ("tokens", "succeeded")]
    assert all(a.duration >= 0 for a in result.attempts)
    assert repr(result).startswith("<RunResult 1 failed, 1 skipped, 2 succeeded in ")


def test_raise_for_errors_groups_failures_with_notes():
    result = _result()
    with pytest.raises(ExceptionGroup) as info:
        result.raise_for_errors()
    (error,) = info.value.exceptions
    assert isinstance(error, KeyError)
    assert error.__notes__ == ["in step 'bad'"]
    run(StepGraph([Step("a", lambda: 1)])).raise_for_errors()  # nothing to raise
