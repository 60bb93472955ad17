"""The worker pool: never strands an item, grows only when work waits, shrinks when idle."""

from __future__ import annotations

import threading

from rxsteps.backends.threads import WorkerPool


def test_items_submitted_after_idle_workers_exited_still_run():
    """More items than workers, then a quiet spell: the pool must not believe in idle
    workers that have exited (this hung before the accounting was fixed)."""
    pool = WorkerPool(max_workers=2, idle_timeout=0.05)
    lock = threading.Lock()
    count = [0]
    all_done = threading.Event()

    def job(_: object) -> None:
        with lock:
            count[0] += 1
            if count[0] == 10:
                all_done.set()

    for _ in range(10):
        pool.submit(job, None)
    assert all_done.wait(5)
    quiet = threading.Event()
    while pool.threads:  # idle workers time out and leave
        quiet.wait(0.02)
    finished = threading.Event()
    pool.submit(lambda event: event.set(), finished)
    assert finished.wait(5)


def test_grows_only_when_work_waits():
    pool = WorkerPool(max_workers=8, idle_timeout=5)
    for _ in range(50):
        done = threading.Event()
        pool.submit(lambda event: event.set(), done)
        assert done.wait(5)
    assert pool.threads <= 2  # one worker, reused (a second at most while it returns)


def test_bounded_by_max_workers():
    pool = WorkerPool(max_workers=3, idle_timeout=5)
    gate = threading.Event()
    running = threading.Semaphore(0)

    def block(_: object) -> None:
        running.release()
        gate.wait(5)

    for _ in range(6):
        pool.submit(block, None)
    for _ in range(3):
        assert running.acquire(timeout=5)
    assert pool.threads == 3
    gate.set()
    for _ in range(3):
        assert running.acquire(timeout=5)  # the other three ran once workers freed
