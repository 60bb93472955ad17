"""One function checks every run before it starts (:func:`check_run`), and every front
door, the pipeline and the CLI go through it — eagerly, where the call was made."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import reactivex

from rxsteps import (
    InputError,
    SchedulerError,
    Step,
    StepGraph,
    apipeline,
    arun,
    astream,
    observe,
    pipeline,
    run,
    start,
)
from rxsteps.execution.checks import check_run
from rxsteps.execution.options import RunOptions

PACKAGE = Path(__file__).resolve().parents[2] / "rxsteps"

LAMBDA = ("step 'a': its action cannot be pickled for the ProcessPoolExecutor backend: "
          "AttributeError: Can't pickle local object "
          "'GRAPH.<locals>.<lambda>'")


def GRAPH() -> StepGraph:  # upper case: the lambda's qualified name in the message
    return StepGraph([Step("a", lambda: 1)])


@pytest.fixture(scope="module")
def pool() -> Any:
    with ProcessPoolExecutor(1) as executor:
        yield executor


def test_observe_refuses_a_lambda_for_a_process_pool_at_call_time(pool: Any) -> None:
    with pytest.raises(SchedulerError) as info:
        observe(GRAPH(), scheduler=pool)  # nothing subscribed: nothing would start
    assert str(info.value) == LAMBDA


@pytest.mark.parametrize("door", [
    lambda graph, pool: astream(graph, {"x": 1}, scheduler=pool),
    lambda graph, pool: pipeline(graph, {"x": reactivex.of(1)}, scheduler=pool),
    lambda graph, pool: apipeline(graph, {"x": reactivex.of(1)}, scheduler=pool),
], ids=["astream", "pipeline", "apipeline"])
def test_the_lazy_doors_refuse_a_lambda_for_a_process_pool_at_call_time(
        pool: Any, door: Callable[[StepGraph, Any], Any]) -> None:
    graph = StepGraph([Step("a", lambda x: x, ["x"])], inputs=["x"])
    with pytest.raises(SchedulerError) as info:
        door(graph, pool)
    assert str(info.value).startswith(
        "step 'a': its action cannot be pickled for the ProcessPoolExecutor backend: ")


def test_check_run_returns_the_inputs_and_the_backend() -> None:
    graph = StepGraph([Step("echo", lambda q: q, ["q"])], inputs=["q"])
    checked = check_run(graph, {"q": 1}, RunOptions())
    assert (checked.inputs, checked.backend.name) == ({"q": 1}, "threads")


def test_check_run_checks_the_inputs_before_the_scheduler() -> None:
    graph = StepGraph([Step("echo", lambda q: q, ["q"])], inputs=["q"])
    with pytest.raises(InputError) as info:
        check_run(graph, {}, RunOptions(scheduler="nope"))
    assert str(info.value) == "missing input 'q', needed by step 'echo'"


def test_a_waiting_caller_is_refused_a_virtual_time_scheduler() -> None:
    from reactivex.testing import TestScheduler

    options = RunOptions(scheduler=TestScheduler())
    check_run(GRAPH(), None, options)  # observe() may: the caller advances the clock
    with pytest.raises(SchedulerError) as info:
        check_run(GRAPH(), None, options, waits=True)
    assert str(info.value) == (
        "run() cannot wait on a virtual-time scheduler: nothing would advance its "
        "clock; use observe() and advance the scheduler")


#: Who may call the checks' parts: check_run alone.
CHECKS = {"preflight", "resolve_backend", "check_steps", "check_inputs", "check_uses"}


def _calls_of_the_checks() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    if name in CHECKS:
                        found.append(f"{path.relative_to(PACKAGE.parent)}:{function.name}:"
                                     f"{name}")
    return sorted(set(found))


def test_only_check_run_calls_the_checks() -> None:
    assert _calls_of_the_checks() == [
        "rxsteps/execution/checks.py:check_run:check_steps",
        "rxsteps/execution/checks.py:check_run:preflight",
        "rxsteps/execution/checks.py:check_run:resolve_backend",
        "rxsteps/execution/inputs.py:preflight:check_inputs",  # preflight's parts
        "rxsteps/execution/inputs.py:preflight:check_uses",
    ]


@pytest.mark.parametrize("door", [run, arun, observe, start, astream])
def test_every_option_of_a_front_door_reaches_its_run_options(door: Callable[..., Any]) -> None:
    """The doors build their options from their arguments by name: a parameter that is
    not a field of RunOptions would be dropped silently."""
    fields = set(inspect.signature(RunOptions).parameters)
    given = set(inspect.signature(door).parameters) - {"graph", "inputs"}
    assert given <= fields, given - fields


def test_from_arguments_takes_the_options_and_leaves_the_rest() -> None:
    options = RunOptions.from_arguments({"graph": object(), "max_concurrency": 3,
                                         "fail_fast": False})
    assert (options.max_concurrency, options.fail_fast, options.scheduler) == (
        3, False, "threads")
