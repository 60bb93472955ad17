"""Which threads run a run's sync steps: a small run's second ready step gets a second
driver at once; what waits beyond that, and in big runs, is the monitor's."""

from __future__ import annotations

import pytest

from rxsteps import Step, StepGraph, run
from rxsteps.execution import drivers, monitor


@pytest.fixture
def no_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The monitor never looks: only drivers woken at once can run waiting steps."""
    monkeypatch.setattr(monitor.DriverMonitor, "watch", lambda self, run: None)


def _branches(count: int, wait: float) -> StepGraph:
    """A root, then ``count`` branches; the first waits up to ``wait`` seconds for the
    last one to have run, and returns whether it did."""
    import threading

    last = threading.Event()

    def first(_: int) -> bool:
        return last.wait(wait)

    def final(_: int) -> bool:
        last.set()
        return True

    middle = [Step(f"m{i}", lambda _: True, ["root"]) for i in range(1, count - 1)]
    return StepGraph([Step("root", lambda: 0), Step("first", first, ["root"]), *middle,
                      Step("last", final, ["root"])])


def test_a_small_runs_second_ready_step_starts_without_the_monitor(no_monitor: None) -> None:
    # "last" must run while "first" blocks its driver: a second driver, woken at once
    assert run(_branches(2, wait=10))["first"] is True


def test_a_big_run_keeps_one_driver_and_leaves_the_rest_to_the_monitor(
    no_monitor: None,
) -> None:
    # above SMALL_RUN steps a second driver would contend for the whole run: without
    # the monitor nothing else runs while "first" holds the only driver
    assert run(_branches(drivers.SMALL_RUN + 1, wait=0.3))["first"] is False


def test_with_the_monitor_a_big_run_fans_out_too() -> None:
    assert run(_branches(drivers.SMALL_RUN + 1, wait=10))["first"] is True
