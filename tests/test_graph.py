"""StepGraph: building, validation by networkx, exact error messages."""

from __future__ import annotations

import pickle

import pytest

from rxsteps import (
    CycleError,
    DuplicateStepError,
    GraphError,
    MissingDependencyError,
    Step,
    StepGraph,
    run,
)
from tests.support import run_isolated


def test_cycle_names_its_path():
    with pytest.raises(CycleError) as info:
        StepGraph(
            [
                Step("a", lambda c: c, ["c"]),
                Step("b", lambda a: a, ["a"]),
                Step("c", lambda b: b, ["b"]),
            ]
        )
    error = info.value
    assert len(error.cycle) == 4 and error.cycle[0] == error.cycle[-1]
    assert set(error.cycle) == {"a", "b", "c"}
    assert str(error) == "cycle in step graph: " + " -> ".join(error.cycle)
    # consecutive names are real edges: each depends on the one before it
    graph_edges = {("c", "a"), ("a", "b"), ("b", "c")}
    assert set(zip(error.cycle, error.cycle[1:], strict=False)) == graph_edges


def test_self_loop_is_a_cycle():
    with pytest.raises(CycleError, match=r"^cycle in step graph: a -> a$"):
        StepGraph([Step("a", lambda a: a, ["a"])])


def test_missing_dependency_names_step_and_suggests():
    with pytest.raises(MissingDependencyError) as info:
        StepGraph(
            [Step("search", lambda q: q, ["query"]), Step("answer", lambda s: s, ["serch"])],
            inputs=["query"],
        )
    error = info.value
    assert str(error) == (
        "step 'answer' depends on 'serch', which is neither a step nor a declared input; "
        "did you mean 'search'?"
    )
    assert (error.step, error.missing, error.suggestions) == ("answer", "serch", ["search"])


def test_missing_dependency_without_close_match():
    with pytest.raises(
        MissingDependencyError,
        match=r"^step 'a' depends on 'zzz', which is neither a step nor a declared input$",
    ):
        StepGraph([Step("a", lambda z: z, ["zzz"])])


def test_duplicates_are_refused_as_they_are_added():
    graph = StepGraph()
    graph.add(Step("a", lambda: 1))
    with pytest.raises(DuplicateStepError, match=r"^duplicate step id 'a'$"):
        graph.add(Step("a", lambda: 2))
    with pytest.raises(DuplicateStepError, match=r"^'q' is both a step and an input$"):
        StepGraph([Step("q", lambda: 1)], inputs=["q"])


def test_steps_given_up_front_get_the_same_checks_as_add():
    # the constructor adds its steps in one loop of its own: same refusals, same words
    with pytest.raises(DuplicateStepError, match=r"^duplicate step id 'a'$"):
        StepGraph([Step("a", lambda: 1), Step("b", lambda: 2), Step("a", lambda: 3)])
    with pytest.raises(TypeError, match=r"^StepGraph: expected a Step, got tuple; wrap a "):
        StepGraph([Step("a", lambda: 1), ("b", lambda: 2)])  # type: ignore[list-item]
    with pytest.raises(DuplicateStepError, match=r"^'y' is both a step and an input$"):
        StepGraph([Step("a", lambda x: x, ["x"]), Step("y", lambda: 1)], inputs=["x", "y"])
    graph = StepGraph(iter([Step("b", lambda a: a, ["a"]), Step("a", lambda: 1)]))
    assert list(graph) == ["b", "a"]  # listing order kept, whatever the iterable


def test_steps_in_order_is_compiled_once_and_follows_add():
    graph = StepGraph([Step("c", lambda b: b, ["b"]), Step("b", lambda a: a, ["a"]),
                       Step("a", lambda: 1)])
    first = graph.steps_in_order()
    assert [step.id for step in first] == ["a", "b", "c"] == graph.order()
    assert graph.steps_in_order() is first  # shared by every run until the graph changes
    graph.add(Step("d", lambda a, c: a + c, ["a", "c"]))
    assert [step.id for step in graph.steps_in_order()] == ["a", "b", "c", "d"]
    assert graph.steps_in_order()[-1] is graph["d"]


def test_decorator_checks_duplicates_at_once_and_the_rest_at_run():
    graph = StepGraph()

    @graph.step
    def a() -> int:
        return 1

    with pytest.raises(DuplicateStepError):

        @graph.step(id="a")
        def other() -> int:
            return 2

    @graph.step
    def b(missing: int) -> int:
        return missing

    with pytest.raises(MissingDependencyError, match="step 'b' depends on 'missing'"):
        run(graph)


def _two(x, y):
    return x + y


def test_wrong_arity_is_refused_before_running():
    with pytest.raises(TypeError) as info:
        StepGraph([Step("a", lambda: 1), Step("b", _two, ["a"])])
    assert str(info.value) == (
        "step 'b': action _two(x, y) cannot be called with 1 positional argument; "
        "the step depends on 1 ('a')"
    )


def test_graph_errors_are_value_errors_and_pickle():
    assert issubclass(GraphError, ValueError)
    error = pickle.loads(pickle.dumps(CycleError(["a", "b", "a"])))
    assert error.cycle == ["a", "b", "a"]


def test_mapping_and_order():
    graph = StepGraph(
        [Step("c", lambda a, b: 0, ["a", "b"]), Step("b", lambda a: 0, ["a"]), Step("a", lambda: 0)]
    )
    assert set(graph) == {"a", "b", "c"}
    assert graph.order() == ["a", "b", "c"]
    assert graph.dependents("a") == ["c", "b"] or set(graph.dependents("a")) == {"b", "c"}
    nx_graph = graph.to_networkx()
    assert nx_graph.has_edge("a", "c")
    assert repr(graph) == "StepGraph(3 steps, inputs=[])"
    assert len(graph) == 3


def test_inputs_are_nodes_marked_as_inputs():
    graph = StepGraph([Step("s", lambda q: q, ["q"])], inputs=["q"])
    assert graph.to_networkx().nodes["q"]["input"] is True
    assert graph.inputs == ("q",)


# -- compile once, run many (issue 12) --------------------------------------------------


def test_a_graph_compiles_once_for_many_runs_and_again_after_add(monkeypatch) -> None:
    from rxsteps import graph as graph_module
    from rxsteps import run

    compiled = []
    original = graph_module._Plan.compile.__func__

    def counting(cls, steps, inputs):
        compiled.append(len(steps))
        return original(cls, steps, inputs)

    monkeypatch.setattr(graph_module._Plan, "compile", classmethod(counting))
    graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a + 1, ["a"])])
    for _ in range(3):
        assert run(graph)["b"] == 2
    assert compiled == [2]
    graph.add(Step("c", lambda b: b * 10, ["b"]))
    assert run(graph)["c"] == 20
    assert compiled == [2, 3]


@pytest.mark.slow
def test_a_cycle_in_a_huge_graph_is_found_in_linear_time() -> None:
    # In its own interpreter with a hard limit: the old search was quadratic (a 1,000-step
    # chain rooted on a 2-cycle took 8.5 s; 10,000 did not answer in 15 s).
    out = run_isolated("""
        from rxsteps import CycleError, Step, StepGraph
        f = lambda *a: 1
        n = 100_000
        steps = [Step("s0", f, [f"s{n // 2}"])] + [
            Step(f"s{i}", f, [f"s{i - 1}"]) for i in range(1, n)]
        try:
            StepGraph(steps)
        except CycleError as error:
            print(len(error.cycle), error.cycle[0] == error.cycle[-1])
        rooted = [Step("a", f, ["b"]), Step("b", f, ["a"])] + [
            Step(f"c{i}", f, ["a" if i == 0 else f"c{i - 1}"]) for i in range(10_000)]
        try:
            StepGraph(rooted)
        except CycleError as error:
            print(error)
    """, limit=30)
    assert out.splitlines() == ["50002 True", "cycle in step graph: b -> a -> b"]


def test_importing_rxsteps_does_not_import_networkx() -> None:
    out = run_isolated("""
        import sys
        import rxsteps
        from rxsteps import Step, StepGraph, run
        run(StepGraph([Step("a", lambda: 1)]))
        print("networkx" in sys.modules)
    """)
    assert out.split() == ["False"]


def test_remaining_paths_weigh_estimates_then_their_mean_and_are_computed_once() -> None:
    graph = StepGraph([Step("a", lambda: 1, estimate=4.0), Step("b", lambda a: a, ["a"]),
                       Step("c", lambda: 1, estimate=2.0)])
    first = graph.remaining_paths()
    assert dict(first) == {"a": 7.0, "b": 3.0, "c": 2.0}  # b weighs the mean, 3.0
    assert graph.remaining_paths() is first
    with pytest.raises(TypeError):
        first["a"] = 0.0  # type: ignore[index]
    graph.add(Step("d", lambda b: b, ["b"]))
    assert graph.remaining_paths()["a"] == 10.0


def test_remaining_paths_prefer_measured_seconds_and_count_steps_without_hints() -> None:
    graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"]), Step("c", lambda: 1)])
    assert dict(graph.remaining_paths()) == {"a": 2.0, "b": 1.0, "c": 1.0}
    assert dict(graph.remaining_paths({"a": 0.5, "c": 3.0})) == {"a": 2.25, "b": 1.75,
                                                                 "c": 3.0}
