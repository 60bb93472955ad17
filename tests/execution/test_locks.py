"""Each piece of a run's state is read under the lock that guards it: the drivers'
``watched`` flag under the run's lock (the monitor asks a method that takes it), and the
run's subscriber tables under the run's lock, also when an observer unsubscribes."""

from __future__ import annotations

import threading
import time
from typing import Any

from rxsteps import Step, StepGraph
from rxsteps.execution.drivers import Drivers
from rxsteps.execution.monitor import DriverMonitor
from rxsteps.execution.options import RunOptions
from rxsteps.execution.run import start_run


class _Run:
    """As much of a run as ``Drivers.still_watched`` uses: its lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()


def test_still_watched_reads_the_flag_under_the_runs_lock() -> None:
    drivers, fake = Drivers(), _Run()
    drivers.watched, drivers._watching = True, fake  # as should_wake leaves them
    answers: list[bool] = []
    with fake.lock:
        asker = threading.Thread(target=lambda: answers.append(drivers.still_watched()))
        asker.start()
        asker.join(0.1)
        assert asker.is_alive() and answers == []  # it waits for the run's lock
    asker.join(5)
    assert answers == [True]


def test_still_watched_is_false_once_the_monitor_let_the_run_go() -> None:
    assert Drivers().still_watched() is False


class _Watched:
    """A run the monitor watches: done at once; asks again only if ``again``."""

    def __init__(self, again: bool) -> None:
        self.again = again
        self.asked = threading.Event()

    def check_waiting(self, tick: float) -> bool:
        return False

    def still_watched(self) -> bool:
        self.asked.set()
        return self.again


def test_the_monitor_asks_the_run_whether_to_keep_watching_it() -> None:
    watcher = DriverMonitor()
    gone, again = _Watched(again=False), _Watched(again=True)
    watcher.watch(gone)
    watcher.watch(again)
    assert gone.asked.wait(5) and again.asked.wait(5)
    deadline = time.monotonic() + 5
    while gone in watcher._watched and time.monotonic() < deadline:
        time.sleep(0.001)
    assert gone not in watcher._watched
    assert again in watcher._watched
    again.again = False  # let the monitor's thread go idle


class _Guarded(dict[str, list[Any]]):
    """A subscriber table that fails when read without the run's lock."""

    def __init__(self, table: dict[str, list[Any]], lock: Any) -> None:
        super().__init__(table)
        self.lock = lock

    def get(self, key: str, default: Any = None) -> Any:
        assert self.lock.locked(), "the subscriber table was read outside the run's lock"
        return super().get(key, default)


class _Observer:
    def on_next(self, value: Any) -> None: ...
    def on_error(self, error: BaseException) -> None: ...
    def on_completed(self) -> None: ...


def test_unsubscribing_from_a_step_reads_the_table_under_the_runs_lock() -> None:
    release, done = threading.Event(), threading.Event()
    graph = StepGraph([Step("a", lambda: release.wait(5))])
    execution = start_run(graph, None, RunOptions(), on_done=lambda _run: done.set())
    try:
        unsubscribe = execution.subscribe_step("a", _Observer())
        execution._subscribers = _Guarded(execution._subscribers, execution.lock)
        unsubscribe()
        assert execution._subscribers["a"] == []
    finally:
        release.set()
        assert done.wait(5)
