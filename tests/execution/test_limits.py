"""Named resources: ``Step(uses=)`` with ``run(limits=)`` on every scheduler.

Counters in the actions prove the capacities are never exceeded; start orders recorded
by the actions (not timing) prove the priority; a subprocess with a hard time limit
proves that waiting holds no thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
import reactivex
from reactivex import operators as ops
from reactivex.testing import TestScheduler

import rxsteps
from rxsteps import (
    EventKind,
    Limiter,
    OptionError,
    ResourceError,
    Retry,
    Step,
    StepDefinitionError,
    StepGraph,
    StepStatus,
    StepTypeError,
)
from tests.support.isolated import run_isolated


class Usage:
    """Counts the units of each resource in use from inside the actions."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.starts: list[str] = []

    def enter(self, step: str, uses: dict[str, int]) -> None:
        with self.lock:
            self.starts.append(step)
            for name, units in uses.items():
                self.now[name] = self.now.get(name, 0) + units
                self.most[name] = max(self.most.get(name, 0), self.now[name])

    def leave(self, uses: dict[str, int]) -> None:
        with self.lock:
            for name, units in uses.items():
                self.now[name] -= units

    def sync(self, step: str, uses: dict[str, int]) -> Any:
        def action(*_args: Any) -> str:
            self.enter(step, uses)
            time.sleep(0.002)  # a chance to overlap; the proof is the counter
            self.leave(uses)
            return step
        return action

    def coroutine(self, step: str, uses: dict[str, int]) -> Any:
        async def action(*_args: Any) -> str:
            self.enter(step, uses)
            await asyncio.sleep(0.002)
            self.leave(uses)
            return step
        return action


def test_capacities_hold_for_overlapping_sets(execute):
    usage = Usage()
    sets = [{"llm": 1}, {"web": 2}, {"llm": 1, "web": 1}, {"llm": 2}]
    steps = []
    for i in range(24):
        uses = sets[i % len(sets)]
        make = usage.coroutine if i % 3 == 0 else usage.sync
        steps.append(Step(f"s{i}", make(f"s{i}", uses), uses=uses))
    outcome = execute(StepGraph(steps), limits={"llm": 2, "web": 3})
    assert outcome.values() == {f"s{i}": f"s{i}" for i in range(24)}
    assert usage.most["llm"] <= 2 and usage.most["web"] <= 3
    assert usage.now == {"llm": 0, "web": 0}


def test_max_concurrency_still_holds_with_limits(execute):
    usage = Usage()
    steps = [Step(f"s{i}", usage.sync(f"s{i}", {"any": 1}), uses="web") for i in range(12)]
    outcome = execute(StepGraph(steps), limits={"web": 10}, max_concurrency=2)
    assert outcome.result is not None and outcome.result.ok
    assert usage.most["any"] <= 2


def _priority_graph(usage: Usage, **extra: Any) -> StepGraph:
    def step(name: str, depends: list[str], **options: Any) -> Step:
        return Step(name, usage.sync(name, {}), depends, uses="llm", **options)
    return StepGraph([
        step("root", []),
        step("b1", ["root"]), step("b2", ["root"]), step("b3", ["root"]),
        step("a1", ["root"]), step("a2", ["a1"]), step("a3", ["a2"]),
    ])


def test_longest_remaining_path_starts_first(execute):
    usage = Usage()
    outcome = execute(_priority_graph(usage), limits={"llm": 1})
    assert outcome.result is not None and outcome.result.ok
    # a1 heads the longest chain (3 steps); a3 then ties with the b's and came later
    assert usage.starts == ["root", "a1", "a2", "b1", "b2", "b3", "a3"]


def _hub_graph(action: Any) -> StepGraph:
    """Three lookups of one unit each, listed a, b, hub; hub feeds three steps, a and b
    one each. With 2 slots, starting a and b first (arrival order) leaves a slot idle
    while hub runs alone: 4 units; starting hub first fills both slots: 3 units, the
    bound (6 units of work on 2 slots)."""
    return StepGraph([Step("a", action("a")), Step("b", action("b")), Step("hub", action("hub")),
                      Step("x", action("x"), ["hub"]), Step("y", action("y"), ["b", "hub"]),
                      Step("z", action("z"), ["a", "hub"])])


def _virtual_run(priority: str) -> tuple[list[tuple[str, float]], float]:
    scheduler = TestScheduler()

    def unit(name: str) -> Any:  # one unit of virtual time, then the step's value
        return lambda *_: reactivex.timer(1.0, scheduler=scheduler).pipe(
            ops.map(lambda _: name))

    events: list[Any] = []
    rxsteps.observe(_hub_graph(unit), scheduler=scheduler, max_concurrency=2,
                    priority=priority).subscribe(events.append)
    scheduler.start()
    starts = [(e.step, e.time) for e in events if e.kind is EventKind.STARTED]
    return starts, max(e.time for e in events if e.kind is EventKind.SUCCEEDED)


def test_equal_ranks_go_to_the_step_with_more_dependents_for_the_optimal_makespan():
    starts, makespan = _virtual_run("critical")
    assert starts == [("hub", 0.0), ("a", 0.0), ("b", 1.0), ("x", 1.0), ("z", 2.0), ("y", 2.0)]
    assert makespan == 3.0  # optimal: 6 units on 2 slots
    # the old tie order (arrival, as fifo still does) left a slot idle for one unit
    starts, makespan = _virtual_run("fifo")
    assert starts == [("a", 0.0), ("b", 0.0), ("hub", 1.0), ("x", 2.0), ("y", 2.0), ("z", 3.0)]
    assert makespan == 4.0


def test_more_dependents_break_ties_on_every_scheduler(execute):
    usage = Usage()
    outcome = execute(_hub_graph(lambda name: usage.sync(name, {})), max_concurrency=1)
    assert outcome.result is not None and outcome.result.ok
    # ranks: a, b, hub 2 (hub has 3 dependents); x, z, y 1, in the order they came
    assert usage.starts == ["hub", "a", "b", "x", "z", "y"]


def test_fifo_priority_keeps_arrival_order(execute):
    usage = Usage()
    execute(_priority_graph(usage), limits={"llm": 1}, priority="fifo")
    assert usage.starts == ["root", "b1", "b2", "b3", "a1", "a2", "a3"]


def test_estimates_weigh_the_priority(execute):
    usage = Usage()
    graph = StepGraph([
        Step("short", usage.sync("short", {}), uses="llm", estimate=1),
        Step("mid", usage.sync("mid", {}), uses="llm", estimate=3),
        Step("long", usage.sync("long", {}), uses="llm", estimate=9),
    ])
    execute(graph, limits={"llm": 1})
    assert usage.starts == ["long", "mid", "short"]


def test_priority_orders_slots_too_without_limits(execute):
    usage = Usage()
    graph = StepGraph([
        Step("quick", usage.sync("quick", {})),
        Step("head", usage.sync("head", {})),
        Step("tail", usage.sync("tail", {}), ["head"]),
    ])
    execute(graph, max_concurrency=1)
    assert usage.starts == ["head", "quick", "tail"]


def test_waiting_is_an_event_naming_the_resource(execute):
    graph = StepGraph([Step("first", lambda: 1, uses="llm"),
                       Step("second", lambda: 2, uses="llm")])
    outcome = execute(graph, limits={"llm": 1}, priority="fifo")
    assert outcome.kinds("second") == [EventKind.WAITING, EventKind.STARTED, EventKind.EMITTED,
                                       EventKind.SUCCEEDED]
    waiting = [e for e in outcome.events if e.kind is EventKind.WAITING]
    assert [(e.step, e.reason) for e in waiting] == [("second", "resource 'llm'")]
    assert outcome.kinds("first")[0] is EventKind.STARTED
    assert outcome.result is not None
    (wait,) = outcome.result.waits
    assert (wait.step, wait.index, wait.attempt, wait.reason) == ("second", 0, 1,
                                                                  "resource 'llm'")
    assert wait.start <= waiting[0].time <= wait.end <= outcome.result.started["second"]


def test_the_critical_path_names_the_step_that_held_the_resource(execute):
    # capacity 1, first come: "trivial" waits for "slow" and ends last; the path used to
    # be ["trivial"] alone, now the wait leads back to the step that held the model
    graph = StepGraph([Step("slow", lambda: 1, uses="llm"),
                       Step("trivial", lambda: 2, uses="llm")])
    result = execute(graph, limits={"llm": 1}, priority="fifo").result
    assert result is not None and [w.step for w in result.waits] == ["trivial"]
    path, seconds = result.critical_path()
    assert path == ["slow", "trivial"]
    assert seconds == result.ended["trivial"] - result.started["slow"]


def test_retries_release_and_reacquire(execute):
    limiter = Limiter(limits={"llm": 1})
    seen: list[int] = []

    def flaky() -> str:
        seen.append(limiter.in_use("llm"))
        if len(seen) < 3:
            raise ConnectionError("again")
        return "ok"

    graph = StepGraph([Step("ask", flaky, uses="llm", retry=Retry(attempts=3, backoff=0.001)),
                       Step("other", lambda: "x", uses="llm")])
    outcome = execute(graph, limits=limiter)
    assert outcome.values() == {"ask": "ok", "other": "x"}
    assert seen == [1, 1, 1]
    assert limiter.in_use("llm") == 0


def test_a_failed_run_gives_every_unit_back(execute):
    limiter = Limiter(limits={"llm": 2})

    def boom() -> None:
        raise ValueError("no")

    graph = StepGraph([Step("boom", boom, uses="llm"),
                       *(Step(f"w{i}", lambda: 1, uses="llm") for i in range(6))])
    outcome = execute(graph, limits=limiter)
    assert isinstance(outcome.error, rxsteps.StepFailedError)
    assert limiter.in_use("llm") == 0


def test_keep_going_settles_steps_doomed_while_waiting(execute):
    def boom() -> None:
        raise ValueError("no")

    graph = StepGraph([Step("boom", boom, uses="llm"),
                       Step("after", lambda b: b, ["boom"], uses="llm"),
                       Step("free", lambda: 1, uses="llm")])
    outcome = execute(graph, limits={"llm": 1}, fail_fast=False)
    assert outcome.result is not None
    assert outcome.result.status == {"boom": StepStatus.FAILED, "after": StepStatus.SKIPPED,
                                     "free": StepStatus.SUCCEEDED}


def test_a_shared_limiter_holds_across_concurrent_runs():
    limiter = Limiter(limits={"llm": 1})
    usage = Usage()
    graph = StepGraph([Step(f"s{i}", usage.sync(f"s{i}", {"llm": 1}), uses="llm")
                       for i in range(6)])
    handles = [rxsteps.start(graph, limits=limiter) for _ in range(4)]
    results = [handle.result() for handle in handles]
    assert all(r.ok for r in results)
    assert usage.most["llm"] == 1 and len(usage.starts) == 24
    assert limiter.in_use("llm") == 0


def test_a_pipeline_shares_one_limiter_between_its_runs():
    import reactivex
    from reactivex import operators as ops

    usage = Usage()
    graph = StepGraph([Step("ask", usage.sync("ask", {"llm": 1}), ["q"], uses="llm")],
                      inputs=["q"])
    out = rxsteps.pipeline(graph, {"q": reactivex.of(*range(8))}, limits={"llm": 1},
                           max_in_flight=8)
    results = out.pipe(ops.to_list()).run()
    assert len(results) == 8 and usage.most["llm"] == 1


def test_uses_without_limits_runs_unlimited():
    assert rxsteps.run(StepGraph([Step("a", lambda: 1, uses="llm")]))["a"] == 1


def test_waiting_holds_no_thread():
    out = run_isolated(
        """
        import threading, time
        from rxsteps import Step, StepGraph, run
        lock = threading.Lock()
        most = [0, 0]
        def work(i):
            with lock:
                most[0] += 1; most[1] = max(most)
            time.sleep(0.001)
            with lock:
                most[0] -= 1
            return i
        steps = [Step(f"s{i}", (lambda i=i: work(i)), uses="llm") for i in range(50)]
        result = run(StepGraph(steps), limits={"llm": 1})
        print(sum(result[f"s{i}"] for i in range(50)), most[1])
        """,
        limit=60, env={"RXSTEPS_MAX_THREADS": "3"},
    )
    assert out.split() == ["1225", "1"]


# -- refusals -------------------------------------------------------------------------------


def test_unknown_resource_is_refused_with_a_suggestion():
    graph = StepGraph([Step("ask", lambda: 1, uses="lmm")])
    with pytest.raises(ResourceError) as caught:
        rxsteps.run(graph, limits={"llm": 2, "web": 3})
    assert str(caught.value) == (
        "step 'ask' uses resource 'lmm', which limits= does not name (did you mean 'llm'? "
        "known: 'llm', 'web'); add it, e.g. limits={'lmm': 4}"
    )
    assert (caught.value.step, caught.value.resource, caught.value.option) == (
        "ask", "lmm", "limits")


def test_more_units_than_the_capacity_are_refused_before_running():
    ran: list[int] = []
    graph = StepGraph([Step("first", lambda: ran.append(1)),
                       Step("big", lambda: 1, uses={"llm": 3})])
    with pytest.raises(ResourceError) as caught:
        rxsteps.observe(graph, limits={"llm": 2})
    assert str(caught.value) == (
        "step 'big' needs 3 units of 'llm' but its capacity is 2, so it could never start; "
        "raise limits['llm'] to 3 or lower the step's uses"
    )
    assert ran == []


@pytest.mark.parametrize(
    ("uses", "error", "message"),
    [
        (3, StepTypeError, "step 's': uses must be a resource name or a mapping of name to "
                           "units, such as {'llm': 1}, got 3"),
        ({"llm": 0}, StepDefinitionError, "step 's': uses['llm'] must be a positive int of "
                                          "units, got 0"),
        ({"": 1}, StepTypeError, "step 's': resource names in uses must be non-empty "
                                 "strings, got ''"),
    ],
)
def test_bad_uses_are_refused(uses, error, message):
    with pytest.raises(error) as caught:
        Step("s", lambda: 1, uses=uses)
    assert str(caught.value) == message


def test_bad_estimate_is_refused():
    with pytest.raises(StepDefinitionError) as caught:
        Step("s", lambda: 1, estimate=-1)
    assert str(caught.value) == "step 's': estimate must be a finite number of seconds >= 0, got -1"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limits": {"llm": 0}}, "limits: the capacity of 'llm' must be a positive int, got 0"),
        ({"limits": ["llm"]}, "limits must map resource names to values, such as {'llm': 4}, "
                              "got ['llm']"),
        ({"rates": {"llm": "60 per minute"}}, "a rate must look like '60/min', '5/s' or "
                                              "'1000/h', got '60 per minute'"),
        ({"priority": "lifo"}, "priority must be one of 'critical', 'fifo', got 'lifo'"),
        ({"limits": Limiter(), "rates": {"x": "1/s"}}, "rates= cannot be combined with a "
         "Limiter object; give the rates to Limiter(..., rates=...)"),
        ({"history": {}}, "history must be the RunResult of an earlier run, got dict"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(OptionError) as caught:
        rxsteps.run(StepGraph([Step("a", lambda: 1)]), **options)
    assert str(caught.value) == message
