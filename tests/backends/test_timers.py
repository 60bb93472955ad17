"""The timer thread's heap (rxsteps.backends.timers): cancelled timers do not pile up."""

from __future__ import annotations

import threading

from rxsteps.backends.timers import Timers


def test_cancelled_timers_do_not_stay_in_the_heap_until_due() -> None:
    # A service whose steps have 10-minute timeouts and end in milliseconds cancels
    # every timer it arms: the heap must not keep them all for 10 minutes.
    timers = Timers()
    fired = threading.Event()
    timers.call_later(0.05, fired.set)
    for _ in range(10_000):
        timers.call_later(600.0, lambda: None).cancel()
    assert len(timers) <= 2 * 64 + 1
    assert fired.wait(10)  # the live timer survived the clean-ups


def test_live_timers_are_kept_when_cancelled_ones_are_dropped() -> None:
    timers = Timers()
    seen: list[int] = []
    all_fired = threading.Event()

    def fire(i: int) -> None:
        seen.append(i)
        if len(seen) == 50:
            all_fired.set()

    live = [timers.call_later(0.01 * (i % 5), lambda i=i: fire(i)) for i in range(50)]
    for _ in range(500):
        timers.call_later(600.0, lambda: None).cancel()
    assert all_fired.wait(10)
    assert sorted(seen) == list(range(50)) and all(h.cancelled for h in live)
    assert len(timers) <= 64  # only cancelled ones left, fewer than a clean-up needs


def test_a_cancel_after_firing_counts_nothing() -> None:
    timers = Timers()
    done = threading.Event()
    handle = timers.call_later(0.0, done.set)
    assert done.wait(10)
    handle.cancel()
    assert len(timers) == 0 and handle.owner is None
