"""After a storm: nothing left pending, no thread still inside a test action."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import Any

from rxsteps.backends.loops import serving_loops


def assert_no_pending_tasks() -> None:
    """No task left on any event loop rxsteps lent to a run."""

    async def others() -> int:
        return len(asyncio.all_tasks() - {asyncio.current_task()})

    deadline = time.monotonic() + 10
    for loop in serving_loops():
        while asyncio.run_coroutine_threadsafe(others(), loop).result(5):
            assert time.monotonic() < deadline, "asyncio tasks still pending"
            threading.Event().wait(0.01)


def assert_no_thread_blocked_in_an_action() -> None:
    deadline = time.monotonic() + 10
    while True:
        frames = sys._current_frames().values()
        stuck = [f for f in frames if _in_action(f)]
        if not stuck:
            return
        assert time.monotonic() < deadline, "a thread is still blocked in an action"
        threading.Event().wait(0.01)


def _in_action(frame: Any) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "action" and "/tests/" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False
