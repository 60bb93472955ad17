"""A subscriber that raises neither corrupts the run nor kills worker threads; it is
reported through the ``rxsteps`` logger."""

from __future__ import annotations

import logging
import threading

import pytest

from rxsteps import Step, StepEvent, StepGraph, observe, run


def _graph() -> StepGraph:
    return StepGraph(
        [Step("a", lambda: 1)]
        + [Step(f"b{i}", lambda a, i=i: a + i, ["a"]) for i in range(20)]
        + [Step("total", lambda *xs: sum(xs), [f"b{i}" for i in range(20)])]
    )


def test_raising_on_event_is_reported_and_the_run_completes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[StepEvent] = []

    def fragile(event: StepEvent) -> None:
        seen.append(event)
        raise RuntimeError("subscriber bug")

    with caplog.at_level(logging.ERROR, logger="rxsteps"):
        result = run(_graph(), on_event=fragile)
    assert result["total"] == sum(1 + i for i in range(20))
    assert len(seen) == 22 * 3  # every event was still delivered
    reports = [r for r in caplog.records if "an event observer raised" in r.getMessage()]
    assert len(reports) == len(seen)
    assert isinstance(reports[0].exc_info[1], RuntimeError)
    # the pool still works
    assert run(_graph())["total"] == result["total"]


def test_raising_on_next_of_a_reactivex_subscriber(caplog: pytest.LogCaptureFixture) -> None:
    done = threading.Event()
    count = [0]

    def on_next(_: StepEvent) -> None:
        count[0] += 1
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR, logger="rxsteps"):
        observe(_graph()).subscribe(on_next, on_completed=done.set)
        assert done.wait(10)
    assert count[0] == 22 * 3
