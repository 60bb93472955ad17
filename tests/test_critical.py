"""Critical paths: planned (longest path for given durations) and of a finished run."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import networkx as nx
import pytest

from rxsteps import Attempt, RunResult, Step, StepGraph, StepStatus, Wait, run
from rxsteps.critical import critical_edges, planned_critical_path, result_critical_path


def _graph(edges: dict[str, list[str]], inputs: tuple[str, ...] = ()) -> StepGraph:
    return StepGraph(
        [Step(name, lambda *args: None, deps) for name, deps in edges.items()], inputs=inputs
    )


DIAMOND = {"plan": [], "search": ["plan"], "lookup": ["plan"], "answer": ["search", "lookup"]}


# -- planned ------------------------------------------------------------------------------


def test_planned_path_follows_the_heaviest_branch() -> None:
    graph = _graph(DIAMOND)
    assert graph.critical_path({"plan": 1, "search": 5, "lookup": 2, "answer": 1}) == (
        ["plan", "search", "answer"], 7.0
    )
    assert graph.critical_path({"plan": 1, "search": 2, "lookup": 5, "answer": 1}) == (
        ["plan", "lookup", "answer"], 7.0
    )


def test_missing_durations_count_as_zero_and_inputs_never_appear() -> None:
    graph = _graph({"a": ["q"], "b": ["a"], "c": ["q"]}, inputs=("q",))
    path, total = graph.critical_path({"c": 3.0})
    assert (path, total) == (["c"], 3.0)
    path, total = graph.critical_path({"b": 1.0})
    assert (path, total) == (["a", "b"], 1.0)


def test_a_long_chain_beats_a_wide_fan() -> None:
    edges: dict[str, list[str]] = {f"fan{i}": [] for i in range(20)}
    edges |= {"c1": [], "c2": ["c1"], "c3": ["c2"], "c4": ["c3"]}
    durations = {name: 1.0 for name in edges}
    assert _graph(edges).critical_path(durations) == (["c1", "c2", "c3", "c4"], 4.0)


def test_ties_are_broken_deterministically() -> None:
    graph = _graph(DIAMOND)
    first = graph.critical_path({name: 1.0 for name in DIAMOND})
    assert first == (["plan", "search", "answer"], 3.0)  # first dependency listed wins
    assert all(graph.critical_path({n: 1.0 for n in DIAMOND}) == first for _ in range(5))


def test_empty_graph() -> None:
    assert StepGraph().critical_path({}) == ([], 0.0)


@pytest.mark.parametrize(
    ("durations", "message"),
    [({"nope": 1.0}, "unknown steps: 'nope'"), ({"plan": -1}, "finite number >= 0"),
     ({"plan": float("nan")}, "finite number >= 0"), ({"plan": float("inf")}, "finite")],
)
def test_bad_durations_are_refused(durations: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _graph(DIAMOND).critical_path(durations)


@pytest.mark.parametrize("seed", range(12))
def test_planned_path_matches_brute_force_on_random_dags(seed: int) -> None:
    rng = random.Random(seed)
    names = [f"s{i}" for i in range(12)]
    edges = {name: rng.sample(names[:i], k=min(i, rng.randint(0, 3))) for i, name in
             enumerate(names)}
    durations = {name: float(rng.randint(0, 9)) for name in names if rng.random() < 0.9}
    path, total = planned_critical_path(_graph(edges), durations)
    dag = nx.DiGraph([(dep, name) for name, deps in edges.items() for dep in deps])
    dag.add_nodes_from(names)
    best = max(
        (sum(durations.get(n, 0.0) for n in p)
         for s in dag for t in dag for p in ([[s]] if s == t else nx.all_simple_paths(dag, s, t))),
        default=0.0,
    )
    assert total == best
    assert sum(durations.get(n, 0.0) for n in path) == total
    assert all(dag.has_edge(a, b) for a, b in critical_edges(path))


def test_critical_edges() -> None:
    assert critical_edges(["a"]) == set()
    assert critical_edges(["a", "b", "c"]) == {("a", "b"), ("b", "c")}


# -- of a run -----------------------------------------------------------------------------


def _result(graph: StepGraph, spans: dict[str, tuple[float, float]], *,
            status: dict[str, StepStatus] | None = None, start: float = 100.0,
            end: float | None = None,
            waits: dict[str, tuple[float, float, str]] | None = None) -> RunResult:
    """A RunResult with made-up, exact times (seconds after ``start``)."""
    status = status or {}
    statuses = {s: status.get(s, StepStatus.SUCCEEDED) for s in graph}
    attempts = [Attempt(s, 0, 1, start + a, start + b, "succeeded") for s, (a, b) in spans.items()]
    kwargs: dict[str, Any] = {
        "graph": graph, "inputs": {}, "emitted": {}, "status": statuses, "errors": {},
        "reasons": {}, "started": {s: start + a for s, (a, _) in spans.items()},
        "ended": {s: start + b for s, (_, b) in spans.items()}, "attempts": attempts,
        "start": start, "end": end if end is not None else start + max(b for _, b in
                                                                       spans.values()),
        "waits": [Wait(s, 0, 1, start + a, start + b, why)
                  for s, (a, b, why) in (waits or {}).items()],
    }
    return RunResult(**kwargs)


def test_run_path_walks_back_through_the_dependency_that_ended_last() -> None:
    graph = _graph(DIAMOND)
    result = _result(graph, {"plan": (0, 1), "search": (1, 4), "lookup": (1, 2),
                             "answer": (4, 5)})
    assert result_critical_path(result) == (["plan", "search", "answer"], 5.0)
    result = _result(graph, {"plan": (0, 1), "search": (1, 2), "lookup": (1, 3.5),
                             "answer": (3.5, 4)})
    assert result.critical_path() == (["plan", "lookup", "answer"], 4.0)


def test_run_path_starts_at_the_first_step_of_the_chain() -> None:
    graph = _graph({"late": [], "tail": ["late"], "early": []})
    result = _result(graph, {"early": (0, 1), "late": (2, 3), "tail": (3, 6)})
    assert result.critical_path() == (["late", "tail"], 4.0)


def _uses(uses: dict[str, str | None], depends: dict[str, list[str]]) -> StepGraph:
    return StepGraph([Step(name, lambda *_: None, depends.get(name, []), uses=used)
                      for name, used in uses.items()])


def test_a_step_that_waited_for_a_resource_was_released_by_its_holder() -> None:
    # Before: the trivial step that ended last was the whole path, 0.5 of 10.5 seconds.
    graph = _uses({"slow": "llm", "trivial": "llm"}, {})
    result = _result(graph, {"slow": (0, 10), "trivial": (10, 10.5)},
                     waits={"trivial": (0, 10, "resource 'llm'")})
    assert result.critical_path() == (["slow", "trivial"], 10.5)


def test_the_holder_wins_over_a_dependency_that_ended_before_the_wait() -> None:
    graph = _uses({"plan": None, "hog": "llm", "ask": "llm", "other": "web"},
                  {"ask": ["plan"]})
    result = _result(graph, {"plan": (0, 1), "hog": (0.5, 5), "other": (0, 4.9),
                             "ask": (5, 6)},
                     waits={"ask": (1, 5, "resource 'llm'")})
    assert result.critical_path() == (["hog", "ask"], 5.5)  # not "other": another resource


def test_a_rate_wait_has_no_holder_and_the_dependency_stays() -> None:
    graph = _uses({"plan": None, "hog": "llm", "ask": "llm"}, {"ask": ["plan"]})
    result = _result(graph, {"plan": (0, 1), "hog": (0, 2), "ask": (5, 6)},
                     waits={"ask": (1, 5, "rate 'llm'")})
    assert result.critical_path() == (["plan", "ask"], 6.0)


def test_a_wait_after_the_first_start_is_not_what_delayed_the_step() -> None:
    graph = _uses({"hog": "llm", "ask": "llm"}, {})
    result = _result(graph, {"hog": (2, 3), "ask": (0, 4)},
                     waits={"ask": (2, 3, "resource 'llm'")})  # a retry waited
    assert result.critical_path() == (["ask"], 4.0)


def test_steps_that_never_ran_are_not_on_the_path() -> None:
    graph = _graph({"a": [], "b": ["a"], "c": ["b"]})
    result = _result(graph, {"a": (0, 2)}, status={"b": StepStatus.FAILED,
                                                   "c": StepStatus.SKIPPED})
    assert result.critical_path() == (["a"], 2.0)


def test_a_run_where_nothing_ran() -> None:
    graph = _graph({"a": []})
    result = RunResult(graph=graph, inputs={}, emitted={}, status={"a": StepStatus.CANCELLED},
                       errors={}, reasons={"a": "run cancelled"}, started={}, ended={"a": 1.0},
                       attempts=[], start=1.0, end=1.0)
    assert result.critical_path() == ([], 0.0)


def test_real_run_with_an_unambiguous_slow_branch() -> None:
    quick_done = threading.Event()

    def quick(_: object) -> None:
        quick_done.set()

    def slow(_: object) -> None:  # ends well after quick, however loaded the machine
        assert quick_done.wait(10)
        time.sleep(0.3)

    graph = StepGraph([
        Step("load", lambda: None),
        Step("quick", quick, ["load"]),
        Step("slow", slow, ["load"]),
        Step("join", lambda a, b: "done", ["quick", "slow"]),
        Step("side", lambda: None),
    ])
    result = run(graph)
    path, seconds = result.critical_path()
    assert path == ["load", "slow", "join"]
    assert 0.3 <= seconds <= result.duration + 1e-9


def test_failed_step_can_end_the_path_and_skipped_ones_cannot() -> None:
    ok_done = threading.Event()

    def ok() -> None:
        ok_done.set()

    def boom() -> None:
        assert ok_done.wait(10)
        time.sleep(0.3)
        raise ValueError("boom")

    graph = StepGraph([Step("boom", boom), Step("after", lambda b: b, ["boom"]),
                       Step("ok", ok)])
    result = run(graph, fail_fast=False)
    assert result.status["after"] is StepStatus.SKIPPED
    assert result.critical_path()[0] == ["boom"]
