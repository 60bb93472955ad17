"""No user code can stop another run, or its own run's timers, from making progress.

Each case was a hang or a deadlock before the execution model changed (issue 11); each
runs in its own interpreter with a hard time limit (:func:`run_isolated`), so a
regression fails here instead of wedging the suite. Bounds are generous: they tell a
hang (or a timer held up for seconds) from a working run, not fast from slow.
"""

from __future__ import annotations

import re

import pytest

from tests.support import run_isolated


def test_hung_calls_past_the_old_pool_size_do_not_stop_later_runs() -> None:
    out = run_isolated("""
        import threading, time
        from rxsteps import Step, StepGraph, StepTimeoutError, run
        never = threading.Event()
        hung = StepGraph([Step(f"call{i}", never.wait, timeout=0.1) for i in range(300)])
        result = run(hung, fail_fast=False)
        assert all(isinstance(e, StepTimeoutError) for e in result.errors.values())
        assert len(result.errors) == 300
        # 300 threads stay inside never.wait(); a later run still starts, and its own
        # timeout still fires on time
        began = time.monotonic()
        later = run(StepGraph([Step("ok", lambda: "fine"),
                               Step("slow", lambda: never.wait(), timeout=0.2)]),
                    fail_fast=False)
        print(later["ok"], type(later.errors["slow"]).__name__,
              round(time.monotonic() - began, 1) < 2.0)
    """)
    assert out.split() == ["fine", "StepTimeoutError", "True"]


def test_at_the_cap_a_run_fails_at_once_naming_the_cap_and_the_abandoned() -> None:
    out = run_isolated("""
        import threading, time
        from rxsteps import CapacityError, Step, StepGraph, run
        never = threading.Event()
        hung = StepGraph([Step(f"call{i}", never.wait, timeout=0.05) for i in range(400)])
        began = time.monotonic()
        try:
            run(hung, fail_fast=False)
        except CapacityError as error:
            print(error.cap, error.abandoned >= error.cap, time.monotonic() - began < 10)
            print(error)
            statuses = {s.value for s in error.result.status.values()}
            print(sorted(statuses))
    """, env={"RXSTEPS_MAX_THREADS": "8"})
    first, message, statuses = out.splitlines()
    assert first == "8 True True"
    assert re.fullmatch(
        r"rxsteps: all \d+ worker threads are busy and RXSTEPS_MAX_THREADS=8 is reached; "
        r"\d+ of them are stuck in actions that timed out and were abandoned\. Give the "
        r"calls a timeout of their own \(an HTTP client's timeout\), or raise "
        r"RXSTEPS_MAX_THREADS", message)
    assert statuses == "['cancelled', 'failed']"  # the partial result is kept


@pytest.mark.parametrize("where", ["threads", "executor"])
def test_a_timed_out_call_keeps_its_concurrency_slot_until_it_returns(where: str) -> None:
    out = run_isolated(f"""
        import threading
        from concurrent.futures import ThreadPoolExecutor
        from rxsteps import Step, StepGraph, run
        scheduler = ThreadPoolExecutor(8) if {where!r} == "executor" else "threads"
        lock, running, most = threading.Lock(), [0], [0]
        def call(hold):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            threading.Event().wait(hold)
            with lock:
                running[0] -= 1
        graph = StepGraph([Step("slow", lambda: call(0.3), timeout=0.05)]  # outlives it
                          + [Step(f"c{{i}}", lambda: call(0.01), timeout=10) for i in range(5)])
        result = run(graph, fail_fast=False, max_concurrency=1, scheduler=scheduler)
        print(most[0], sorted(result.errors))
    """)
    assert out.split() == ["1", "['slow']"]


@pytest.mark.parametrize("fan_out", [300, 3000])
@pytest.mark.parametrize("where", ["threads", "executor"])
def test_steps_that_call_run_work_at_any_fan_out(fan_out: int, where: str) -> None:
    out = run_isolated(f"""
        from concurrent.futures import ThreadPoolExecutor
        from rxsteps import Step, StepGraph, run
        pool = ThreadPoolExecutor(8)
        scheduler = pool if {where!r} == "executor" else "threads"
        inner = StepGraph([Step("a", lambda x: x + 1, ["x"]),
                           Step("b", lambda x: x * 2, ["x"]),
                           Step("c", lambda a, b: a + b, ["a", "b"])], inputs=["x"])
        def outer(i):
            return lambda: run(inner, {{"x": i}}, scheduler=scheduler)["c"]
        graph = StepGraph([Step(f"o{{i}}", outer(i)) for i in range({fan_out})])
        result = run(graph, scheduler=scheduler)
        print(all(result[f"o{{i}}"] == 3 * i + 1 for i in range({fan_out})))
    """, limit=90)
    assert out.split() == ["True"]


def test_a_coroutine_step_may_call_the_blocking_run() -> None:
    out = run_isolated("""
        import asyncio
        from rxsteps import Step, StepGraph, run
        async def fetch():
            await asyncio.sleep(0.01)
            return 20
        inner = StepGraph([Step("fetch", fetch), Step("add", lambda f: f + 1, ["fetch"])])
        async def outer():
            return run(inner)["add"]  # blocks this step's loop, and only its own run's
        print(run(StepGraph([Step("outer", outer)]))["outer"])
        print(run(inner)["add"])  # later coroutine steps in the process still run
    """)
    assert out.split() == ["21", "21"]


def test_a_slow_callback_delays_neither_another_runs_timeout_nor_its_own_steps() -> None:
    out = run_isolated("""
        import threading, time
        from rxsteps import EventKind, Step, StepGraph, run
        never = threading.Event()
        def slow_callback(event):
            if event.kind is EventKind.FAILED:
                time.sleep(3)
        a = StepGraph([Step("hang", never.wait, timeout=0.05),
                       Step("other", lambda: "x")])
        first = threading.Thread(target=run, args=(a,),
                                 kwargs={"on_event": slow_callback, "fail_fast": False})
        first.start()
        time.sleep(0.2)  # let the first run's FAILED reach its callback
        began = time.monotonic()
        b = run(StepGraph([Step("hang", never.wait, timeout=0.1)]), fail_fast=False)
        print(round(time.monotonic() - began, 1) < 1.0, type(b.errors["hang"]).__name__)
        first.join()
    """)
    assert out.split() == ["True", "StepTimeoutError"]


def test_a_blocking_pipeline_subscriber_does_not_hold_the_loop_its_steps_run_on() -> None:
    # The runs end on the loop (coroutine steps); their results reach the subscriber on
    # a delivery job, so the subscriber may wait for work on that same loop.
    out = run_isolated("""
        import asyncio, threading
        import reactivex
        from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler
        from rxsteps import Step, StepGraph, pipeline
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True).start()
        async def double(q):
            return 2 * q
        graph = StepGraph([Step("double", double, ["q"])], inputs=["q"])
        got, done = [], threading.Event()
        async def on_the_loop():
            return "loop alive"
        def on_next(result):
            waited = asyncio.run_coroutine_threadsafe(on_the_loop(), loop)
            got.append((result["double"], waited.result(timeout=10)))
        scheduler = AsyncIOThreadSafeScheduler(loop)
        pipeline(graph, {"q": reactivex.of(1, 2)}, scheduler=scheduler).subscribe(
            on_next, print, done.set)
        print(done.wait(20), got)
    """, limit=40)
    assert out.strip() == "True [(2, 'loop alive'), (4, 'loop alive')]"


def test_a_callback_may_start_a_run_of_its_own() -> None:
    out = run_isolated("""
        import threading
        from rxsteps import EventKind, Step, StepGraph, run
        never = threading.Event()
        fallback = StepGraph([Step("cached", lambda: "from the cache")])
        got = []
        def on_event(event):
            if event.kind is EventKind.FAILED:
                got.append(run(fallback)["cached"])
        run(StepGraph([Step("fetch", never.wait, timeout=0.05)]), fail_fast=False,
            on_event=on_event)
        print(got)
    """)
    assert out.strip() == "['from the cache']"


@pytest.mark.parametrize("raised", ["SystemExit", "KeyboardInterrupt"])
def test_a_base_exception_in_a_callback_ends_the_run_and_reaches_the_caller(raised: str) -> None:
    out = run_isolated(f"""
        import time
        from rxsteps import Step, StepGraph, current, run
        def slow():
            current().wait(30)  # told to stop when the run ends
            return "late"
        def on_event(event):
            raise {raised}()
        began = time.monotonic()
        try:
            run(StepGraph([Step("a", lambda: 1), Step("b", slow)]), on_event=on_event)
        except {raised}:
            print("{raised}", time.monotonic() - began < 5.0)
    """)
    assert out.split() == [raised, "True"]


def test_a_base_exception_from_a_subscriber_after_the_end_reaches_the_handles_result() -> None:
    # the run's end callbacks are dropped once delivered (so a finished run is freed
    # without the collector); the one for a BaseException must still reach the run
    out = run_isolated("""
        import threading, time
        from rxsteps import Step, StepGraph, start
        handle = start(StepGraph([Step("a", lambda: 1)]))
        print(handle.result()["a"])
        seen = threading.Event()
        def on_next(value):
            seen.set()
            raise SystemExit()
        handle.steps["a"].subscribe(on_next)
        print(seen.wait(10))
        deadline = time.monotonic() + 10  # the raise is handled just after on_next
        while time.monotonic() < deadline:
            try:
                handle.result()
            except SystemExit:
                print("SystemExit")
                break
            time.sleep(0.01)
    """)
    assert out.split() == ["1", "True", "SystemExit"]


def test_an_observe_subscriber_raising_generator_exit_ends_the_run() -> None:
    out = run_isolated("""
        import threading
        from rxsteps import Step, StepGraph, current, observe
        cancelled = threading.Event()
        def slow():
            cancelled.set() if current().wait(30) else None
        def on_next(event):
            if event.kind.name == "STARTED":
                raise GeneratorExit()
        observe(StepGraph([Step("slow", slow)])).subscribe(on_next)
        print(cancelled.wait(10))
    """)
    assert out.split() == ["True"]


def test_a_base_exception_in_an_observe_pipeline_reaches_the_caller_of_run() -> None:
    # an operator's function raising SystemExit: the subscription must end with it,
    # or observe(...).run() waits for an end nobody sends
    out = run_isolated("""
        import sys, time
        from reactivex import operators as ops
        from rxsteps import Step, StepGraph, observe
        began = time.monotonic()
        try:
            observe(StepGraph([Step("a", lambda: 1)])).pipe(
                ops.map(lambda event: sys.exit(5))).run()
        except SystemExit as exit:
            print("SystemExit", exit.code, time.monotonic() - began < 5.0)
    """)
    assert out.split() == ["SystemExit", "5", "True"]


def test_a_subscriber_raising_a_base_exception_is_told_the_run_ended_with_it() -> None:
    out = run_isolated("""
        import threading
        from rxsteps import Step, StepGraph, observe, start
        graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a + 1, ["a"])])
        for events in (lambda: observe(graph), lambda: start(graph).events):
            ended, told = [], threading.Event()
            def on_next(event):
                raise KeyboardInterrupt()
            events().subscribe(on_next, lambda e: (ended.append(type(e).__name__), told.set()),
                               lambda: (ended.append("completed"), told.set()))
            print(told.wait(10), *ended)
    """)
    assert out.split() == ["True", "KeyboardInterrupt", "True", "KeyboardInterrupt"]


@pytest.mark.parametrize("scheduler", ["threads", "asyncio", "executor"])
def test_ctrl_c_stops_a_run_whose_steps_never_return(scheduler: str) -> None:
    out = run_isolated(f"""
        import asyncio, os, signal, threading, time
        from concurrent.futures import ThreadPoolExecutor
        from rxsteps import Step, StepGraph, arun, run
        started, after = threading.Event(), []
        def never():
            started.set()
            threading.Event().wait()  # ignores cancellation
        graph = StepGraph([Step("never", never),
                           Step("after", lambda n: after.append(n), ["never"])])
        def interrupt():
            started.wait(10)
            time.sleep(0.05)
            interrupt.at = time.monotonic()
            os.kill(os.getpid(), signal.SIGINT)
        threading.Thread(target=interrupt, daemon=True).start()
        try:
            if {scheduler!r} == "asyncio":
                asyncio.run(arun(graph))
            elif {scheduler!r} == "executor":
                run(graph, scheduler=ThreadPoolExecutor(4))
            else:
                run(graph)
        except KeyboardInterrupt:
            print(time.monotonic() - interrupt.at, after, flush=True)
        os._exit(0)  # the never-returning thread would block the executor's exit
    """)
    latency, after = out.split()
    assert after == "[]"
    assert float(latency) < 0.5, f"KeyboardInterrupt reached the caller after {latency} s"


@pytest.mark.parametrize("scheduler", ["threads", "executor"])
def test_interrupt_main_stops_a_run_whose_steps_never_return(scheduler: str) -> None:
    # _thread.interrupt_main() sends no signal: it only trips the flag that the main
    # thread checks between bytecodes, and done.wait() with no timeout never returned
    out = run_isolated(f"""
        import _thread, os, threading, time
        from concurrent.futures import ThreadPoolExecutor
        from rxsteps import Step, StepGraph, run
        started = threading.Event()
        def never():
            started.set()
            threading.Event().wait()
        def interrupt():
            started.wait(10)
            interrupt.at = time.monotonic()
            _thread.interrupt_main()
        threading.Thread(target=interrupt, daemon=True).start()
        try:
            if {scheduler!r} == "executor":
                run(StepGraph([Step("never", never)]), scheduler=ThreadPoolExecutor(2))
            else:
                run(StepGraph([Step("never", never)]))
        except KeyboardInterrupt:
            print(time.monotonic() - interrupt.at, flush=True)
        os._exit(0)
    """, limit=20)
    assert float(out) < 1.0, f"KeyboardInterrupt reached the caller after {out.strip()} s"


def test_keyboard_interrupt_while_a_run_starts_cancels_it() -> None:
    out = run_isolated("""
        import threading
        from rxsteps import Step, StepGraph, current
        from rxsteps.execution.options import RunOptions
        from rxsteps.execution.run import RunState, start_run
        import rxsteps.execution.run as engine
        ran = threading.Event()
        original = engine.Run._start_nodes
        def interrupted(self):
            launches = original(self)
            raise KeyboardInterrupt  # as if Ctrl-C came during start()
        engine.Run._start_nodes = interrupted
        runs = []
        engine_init = engine.Run.__init__
        def record(self, *a, **k):
            engine_init(self, *a, **k)
            runs.append(self)
        engine.Run.__init__ = record
        graph = StepGraph([Step("a", lambda: current().wait(5) or ran.set())])
        try:
            start_run(graph, None, RunOptions())
        except KeyboardInterrupt:
            pass
        print(runs[0].state is not RunState.RUNNING)
    """)
    assert out.split() == ["True"]


def test_a_run_in_a_forked_child_does_not_hang() -> None:
    # the child's copy of the pool believed it had an idle worker (the parent's, which
    # does not exist there): every run() in it hung; so did its timers, monitor, loops
    out = run_isolated("""
        import asyncio, multiprocessing, threading
        from concurrent.futures import ProcessPoolExecutor
        from rxsteps import Step, StepGraph, run
        async def later(a):
            await asyncio.sleep(0.01)
            return a + 1
        def job():
            graph = StepGraph([Step("a", lambda: 20), Step("b", later, ["a"]),
                               Step("hang", threading.Event().wait, timeout=0.1)])
            result = run(graph, fail_fast=False)
            return result["b"], type(result.errors["hang"]).__name__
        print(job())  # the parent has run rxsteps: its pool, timers, loops exist
        fork = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(1, mp_context=fork) as pool:
            print(pool.submit(job).result(timeout=30))
    """, limit=45)
    assert out.splitlines() == ["(21, 'StepTimeoutError')"] * 2


def test_a_base_exception_from_a_condition_ends_the_run_and_reaches_the_caller() -> None:
    # asked on the worker that made the call available: SystemExit escaped to the
    # worker's log and run() never returned
    out = run_isolated("""
        import sys, threading, time
        from rxsteps import Step, StepGraph, run
        graph = StepGraph([Step("a", lambda: threading.Event().wait(0.05) or 1),
                           Step("b", lambda a: a, ["a"], when=lambda a: sys.exit(5))])
        began = time.monotonic()
        try:
            run(graph)
        except SystemExit as error:
            print("SystemExit", error.code, time.monotonic() - began < 5.0)
    """, limit=20)
    assert out.split() == ["SystemExit", "5", "True"]


@pytest.mark.parametrize("how", ["fails", "times out"])
def test_a_base_exception_from_a_retry_predicate_ends_the_run_and_reaches_the_caller(
        how: str) -> None:
    # the predicate was asked outside the run's lock and only an Exception was caught:
    # SystemExit escaped to the worker's log ("unexpected error") and run() never returned
    out = run_isolated(f"""
        import logging, sys, threading, time
        from rxsteps import Retry, Step, StepGraph, run
        logging.getLogger("rxsteps").addHandler(logging.StreamHandler(sys.stdout))
        def boom():
            raise ValueError("flaky")
        never = threading.Event()
        retry = Retry(attempts=3, on=lambda error: sys.exit(4))
        step = (Step("s", boom, retry=retry) if {how!r} == "fails"
                else Step("s", never.wait, timeout=0.05, retry=retry))
        began = time.monotonic()
        try:
            run(StepGraph([step, Step("other", lambda: never.wait(30))]))
        except SystemExit as error:
            print("SystemExit", error.code, time.monotonic() - began < 5.0)
    """, limit=20)
    assert out.split() == ["SystemExit", "4", "True"]


def test_a_timeout_covers_the_wait_for_a_thread_at_the_cap() -> None:
    # 8 threads (the cap) inside calls with no timeout: the new run's attempt waited
    # for a thread forever, its timeout not yet armed (it started with the attempt)
    out = run_isolated("""
        import threading, time
        from rxsteps import Step, StepGraph, run
        never, inside = threading.Event(), threading.Semaphore(0)
        def hold():
            inside.release()
            never.wait()
        hung = StepGraph([Step(f"hold{i}", hold) for i in range(8)])
        threading.Thread(target=run, args=(hung,), daemon=True).start()
        for _ in range(8):
            inside.acquire(timeout=10)
        ran, began = [], time.monotonic()
        result = run(StepGraph([Step("late", lambda: ran.append(1), timeout=0.2)]),
                     fail_fast=False)
        print(time.monotonic() - began < 5.0, ran)
        print(result.errors["late"])
    """, env={"RXSTEPS_MAX_THREADS": "8"}, limit=30)
    bounded, message = out.splitlines()
    assert bounded == "True []"
    assert message == ("step 'late' timed out after 0.2 s (attempt 1) waiting for a worker "
                       "thread, without starting")


@pytest.mark.parametrize("scheduler", ["executor", "eventloop"])
def test_attempts_queued_behind_hung_calls_on_a_scheduler_time_out(scheduler: str) -> None:
    # 4 executor threads inside hung calls: the 4 other steps never started, and the
    # run never ended (their timeouts were to start with the attempts)
    out = run_isolated(f"""
        import os, threading, time
        from concurrent.futures import ThreadPoolExecutor
        from reactivex.scheduler import EventLoopScheduler
        from rxsteps import Step, StepGraph, run
        never, calls = threading.Event(), []
        def hang():
            calls.append(1)
            never.wait()
        scheduler = ThreadPoolExecutor(4) if {scheduler!r} == "executor" else EventLoopScheduler()
        began = time.monotonic()
        result = run(StepGraph([Step(f"c{{i}}", hang, timeout=0.1) for i in range(8)]),
                     fail_fast=False, scheduler=scheduler)
        waited = [e for e in result.errors.values() if e.waited is not None]
        print(time.monotonic() - began < 5.0, len(result.errors), len(calls), len(waited))
        print(result.errors["c7"])
        os._exit(0)  # the hung threads would block the executor's exit
    """, limit=30)
    first, message = out.splitlines()
    name = "ThreadPoolExecutor" if scheduler == "executor" else "EventLoopScheduler"
    started = 4 if scheduler == "executor" else 1
    assert first == f"True 8 {started} {8 - started}"  # the rest never ran
    assert message == (f"step 'c7' timed out after 0.1 s (attempt 1) waiting for the {name}, "
                       "without starting")


@pytest.mark.parametrize("retry", [False, True])
def test_attempts_waiting_for_a_slot_held_by_a_hung_call_time_out(retry: bool) -> None:
    # max_concurrency=1 and a hung call keeps its slot: the others (or its own retry)
    # waited for the slot forever
    out = run_isolated(f"""
        import threading, time
        from rxsteps import Retry, Step, StepGraph, run
        never = threading.Event()
        again = Retry(attempts=3, backoff=0.01) if {retry} else None
        graph = StepGraph([Step("hang", never.wait, timeout=0.1, retry=again),
                           Step("other", lambda: 1, timeout=0.3)])
        began = time.monotonic()
        result = run(graph, fail_fast=False, max_concurrency=1)
        print(time.monotonic() - began < 5.0)
        print(result.errors["hang"])
        print(result.errors["other"])
    """, limit=30)
    bounded, hang, other = out.splitlines()
    assert bounded == "True"
    assert hang == ("step 'hang' timed out after 0.1 s (attempt 3) waiting for a "
                    "max_concurrency slot, without starting" if retry
                    else "step 'hang' timed out after 0.1 s (attempt 1)")
    assert other == ("step 'other' timed out after 0.3 s (attempt 1) waiting for a "
                     "max_concurrency slot, without starting")


def test_steps_without_a_timeout_behind_slots_all_held_by_hung_calls_fail_at_once() -> None:
    out = run_isolated("""
        import threading, time
        from rxsteps import CapacityError, Step, StepGraph, run
        never, ran = threading.Event(), []
        graph = StepGraph([Step("hang", never.wait, timeout=0.1),
                           Step("after", lambda: ran.append(1))])
        began = time.monotonic()
        try:
            run(graph, fail_fast=False, max_concurrency=1)
        except CapacityError as error:
            print(time.monotonic() - began < 5.0, ran, error.setting, error.abandoned)
            print(error)
            print(sorted(s.value for s in error.result.status.values()))
    """, limit=30)
    first, message, statuses = out.splitlines()
    assert first == "True [] max_concurrency 1"
    assert message == (
        "rxsteps: max_concurrency=1 is reached and 1 of the run's slots are held by calls "
        "that timed out and were abandoned; the steps queued without a timeout would wait "
        "for them forever. Give the calls a timeout of their own (an HTTP client's "
        "timeout), or raise max_concurrency")
    assert statuses == "['cancelled', 'failed']"


_REFUSE_ONCE = """
        import sys, threading
        refused = []
        real_start = threading.Thread.start
        def start(self):
            caller = sys._getframe(1)
            frames = []
            while caller is not None:
                frames.append(caller.f_code.co_name)
                caller = caller.f_back
            if not refused and self.name.startswith("rxsteps-worker") and WHERE in frames:
                refused.append(self.name)
                raise RuntimeError("can't start new thread")
            return real_start(self)
        threading.Thread.start = start
    """


def test_the_timer_thread_survives_the_os_refusing_a_worker_thread() -> None:
    # the timer thread handed a due timer to a new worker, the OS refused the thread,
    # and the timer thread died: that timeout and every later one in the process were lost
    out = run_isolated(_REFUSE_ONCE.replace("WHERE", '"_serve"') + """
        import time
        from rxsteps import Step, StepGraph, run
        never = threading.Event()
        for _ in range(2):
            began = time.monotonic()
            result = run(StepGraph([Step("hang", never.wait, timeout=0.1)]), fail_fast=False)
            print(type(result.errors["hang"]).__name__, time.monotonic() - began < 5.0)
        print(len(refused))
    """, limit=20)
    assert out.split() == ["StepTimeoutError", "True", "StepTimeoutError", "True", "1"]


def test_events_are_delivered_when_the_os_refuses_the_delivery_thread() -> None:
    # the sink marked its delivery job scheduled, the thread was refused, and nothing
    # was ever delivered again: run() waited for its end forever
    out = run_isolated(_REFUSE_ONCE.replace("WHERE", '"flush"') + """
        from rxsteps import Step, StepGraph, run
        seen = []
        result = run(StepGraph([Step("a", lambda: 1), Step("b", lambda a: a + 1, ["a"])]),
                     on_event=lambda event: seen.append(event.kind.name))
        print(result["b"], len(seen), len(refused))
    """, limit=20)
    assert out.split() == ["2", "6", "1"]


def test_a_loop_blocked_by_a_timed_out_coroutine_step_is_not_lent_again() -> None:
    # the run ended on time, gave its still-blocked loop back to the free list, and the
    # next run with a coroutine step borrowed it and hung
    out = run_isolated("""
        import threading, time
        from rxsteps import Step, StepGraph, run
        never = threading.Event()
        async def blocks_its_loop():
            never.wait()  # a blocking call inside async def
        began = time.monotonic()
        result = run(StepGraph([Step("block", blocks_its_loop, timeout=0.1)]), fail_fast=False)
        print(type(result.errors["block"]).__name__, time.monotonic() - began < 5.0)
        async def answer():
            return 42
        for _ in range(3):
            began = time.monotonic()
            print(run(StepGraph([Step("answer", answer)]))["answer"],
                  time.monotonic() - began < 5.0)
    """, limit=30)
    assert out.split() == ["StepTimeoutError", "True"] + ["42", "True"] * 3


@pytest.mark.parametrize("observer", ["on_event", "start"])
def test_with_observers_step_actions_stay_within_the_thread_cap(observer: str) -> None:
    # an event delivery job at the cap got a thread above it, which then stayed in the
    # pool and ran steps: 40 steps ran at once under RXSTEPS_MAX_THREADS=8
    out = run_isolated(f"""
        import threading
        from rxsteps import Step, StepGraph, run, start
        lock, running, most = threading.Lock(), [0], [0]
        def call():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            threading.Event().wait(0.05)
            with lock:
                running[0] -= 1
            return 1
        graph = StepGraph([Step(f"c{{i}}", call) for i in range(80)])
        if {observer!r} == "on_event":
            result = run(graph, on_event=lambda event: None)
        else:
            handle = start(graph)
            handle.events.subscribe(lambda event: None)
            result = handle.result()
        print(sum(result[f"c{{i}}"] for i in range(80)), most[0])
    """, env={"RXSTEPS_MAX_THREADS": "8"}, limit=60)
    total, most = out.split()
    assert total == "80"
    assert 1 <= int(most) <= 8, f"{most} step actions ran at once under a cap of 8"


@pytest.mark.parametrize("waiter", ["run", "subscribe"])
def test_a_pipeline_subscriber_raising_system_exit_ends_the_pipeline(waiter: str) -> None:
    # the flow's sink had no on_fatal: SystemExit escaped to the worker's log
    # ("unexpected error") and the pipeline never completed nor errored
    out = run_isolated(f"""
        import logging, sys, threading, time
        import reactivex
        from reactivex import operators as ops
        from rxsteps import Step, StepGraph, pipeline
        logging.getLogger("rxsteps").addHandler(logging.StreamHandler(sys.stdout))
        graph = StepGraph([Step("double", lambda q: 2 * q, ["q"])], inputs=["q"])
        results = pipeline(graph, {{"q": reactivex.of(1, 2, 3)}})
        began = time.monotonic()
        if {waiter!r} == "run":
            try:
                results.pipe(ops.map(lambda result: sys.exit(3))).run()
            except SystemExit as error:
                print("SystemExit", error.code, time.monotonic() - began < 5.0)
        else:
            errors, ended = [], threading.Event()
            def on_next(result):
                raise SystemExit(3)
            results.subscribe(on_next, lambda e: (errors.append(e), ended.set()), ended.set)
            print(ended.wait(10) and type(errors[0]).__name__, errors[0].code,
                  time.monotonic() - began < 5.0)
    """, limit=20)
    assert out.split() == ["SystemExit", "3", "True"]
