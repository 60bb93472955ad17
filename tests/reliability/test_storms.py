"""Cancellation storms: runs disposed at random moments, thousands of times.

After each disposal: no attempt begins after ``cancel()`` returned, and every action
entered after that belongs to an attempt begun before it (handed to a worker, it may
reach its first line a moment later; it is abandoned and told to stop), no
asyncio task is left pending, no thread stays blocked in an action, and nothing is
logged as destroyed while pending.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import threading
import time
from typing import Any

import pytest

from rxsteps import Step, StepGraph, current
from rxsteps.backends.resolve import resolve_backend
from rxsteps.execution.run import Run
from tests.support import assert_no_pending_tasks, assert_no_thread_blocked_in_an_action

# The random graphs zip streams with single values on purpose: what the storm tests is
# cancellation, not which of a stream's values a zip uses.
pytestmark = pytest.mark.filterwarnings("ignore::rxsteps.ZipWarning")

ENTRIES: list[tuple[float, str, int]] = []
_LOCK = threading.Lock()
# Which storm's run an action belongs to: the caller's context travels with its steps,
# so an abandoned action of an earlier run that reaches its first line late is told
# apart from this run's own.
STORM: contextvars.ContextVar[int] = contextvars.ContextVar("storm", default=-1)
_CURRENT_STORM = [0]


def _enter(step: str) -> Any:
    context = current()
    with _LOCK:
        if STORM.get() == _CURRENT_STORM[0]:
            ENTRIES.append((time.monotonic(), step, context.attempt))
    return context


def _sync(name: str, rnd: random.Random) -> Any:
    delay = rnd.choice([0, 0, 0.0005, 0.002])

    def action(*_: Any) -> str:
        context = _enter(name)
        if delay:
            context.wait(delay)
        return name

    return action


def _async(name: str, rnd: random.Random) -> Any:
    delay = rnd.choice([0, 0.0005, 0.002])

    async def action(*_: Any) -> str:
        _enter(name)
        await asyncio.sleep(delay)
        return name

    return action


def _stream(name: str) -> Any:
    def action(*_: Any) -> Any:
        _enter(name)
        yield from range(3)

    return action


def _graph(seed: int) -> StepGraph:
    rnd = random.Random(seed)
    steps = []
    for i in range(30):
        deps = [f"s{d}" for d in rnd.sample(range(i), min(i, rnd.randint(0, 2)))]
        kind = rnd.choice(["sync", "sync", "async", "stream"])
        name = f"s{i}"
        action = (
            _sync(name, rnd)
            if kind == "sync"
            else _async(name, rnd)
            if kind == "async"
            else _stream(name)
        )
        steps.append(Step(name, action, deps))
    return StepGraph(steps)


@pytest.mark.parametrize("scheduler", ["threads", "asyncio"])
def test_cancellation_storm(scheduler: str, caplog: pytest.LogCaptureFixture) -> None:
    rnd = random.Random(2026)
    graphs = [_graph(seed) for seed in range(20)]
    violations: list[tuple[str, int]] = []
    caplog.set_level(logging.ERROR)
    for storm in range(1500):
        with _LOCK:
            ENTRIES.clear()
            _CURRENT_STORM[0] = storm
        STORM.set(storm)
        done = threading.Event()
        run = Run(
            graphs[storm % 20],
            {},
            resolve_backend(scheduler),
            on_done=lambda _, done=done: done.set(),
        )
        run.start()
        pause = rnd.choice([0, 0, 0.0002, 0.001, 0.003])
        if pause:
            time.sleep(pause)  # a random moment, not a synchronisation
        run.cancel("storm")
        disposed_at = time.monotonic()
        assert done.wait(10), "the run did not finish after cancel()"
        assert run.result is not None
        attempts = run.result.attempts
        violations.extend((a.step, a.attempt) for a in attempts if a.start > disposed_at)
        begun = {(a.step, a.attempt) for a in attempts if a.start <= disposed_at}
        with _LOCK:
            late = [(s, a) for t, s, a in ENTRIES if t > disposed_at and (s, a) not in begun]
        violations.extend(late)
    assert violations == []
    assert_no_pending_tasks()
    assert_no_thread_blocked_in_an_action()
    assert not [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]
