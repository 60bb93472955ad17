"""``scheduler=ProcessPoolExecutor(...)``: actions in other processes, pickled with the
standard library (no lambdas), refused up front when they cannot be shipped."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from rxsteps import (
    SchedulerError,
    Step,
    StepFailedError,
    StepGraph,
    StepStatus,
    run,
)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    # spawn: forking a process that runs threads (rxsteps', Dask's) can deadlock
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as executor:
        yield executor


def square(x: int) -> int:
    return x * x


def total(a: int, b: int) -> int:
    return a + b


def cube(sq: int, x: int) -> int:
    return sq * x


def worker_pid(_: object) -> int:
    return os.getpid()


def fail(_: object) -> None:
    raise ArithmeticError("no such number")


def count_up() -> Iterator[int]:
    yield from range(3)


def test_values_flow_between_processes(pool: ProcessPoolExecutor) -> None:
    graph = StepGraph(
        [
            Step("sq", square, ["x"]),
            Step("cube", cube, ["sq", "x"]),
            Step("sum", total, ["sq", "cube"]),
            Step("where", worker_pid, ["sum"]),
        ],
        inputs=["x"],
    )
    result = run(graph, {"x": 3}, scheduler=pool)
    assert (result["sq"], result["cube"], result["sum"]) == (9, 27, 36)
    assert result["where"] != os.getpid()


def test_a_failure_travels_back(pool: ProcessPoolExecutor) -> None:
    graph = StepGraph([Step("bad", fail, ["x"]), Step("after", square, ["bad"])], inputs=["x"])
    with pytest.raises(StepFailedError) as caught:
        run(graph, {"x": 1}, scheduler=pool)
    assert str(caught.value) == "step 'bad' failed: ArithmeticError: no such number"
    assert type(caught.value.__cause__) is ArithmeticError
    result = caught.value.result
    assert result is not None
    assert result.status["after"] is StepStatus.CANCELLED


def test_keep_going_skips_only_dependents(pool: ProcessPoolExecutor) -> None:
    graph = StepGraph(
        [Step("bad", fail, ["x"]), Step("after", square, ["bad"]), Step("ok", square, ["x"])],
        inputs=["x"],
    )
    result = run(graph, {"x": 4}, scheduler=pool, fail_fast=False)
    assert dict(result) == {"ok": 16}
    assert result.reasons["after"] == "dependency 'bad' failed"


def test_a_lambda_is_refused_before_anything_runs(
    pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    graph = StepGraph(
        [Step("first", touch, ["path"]), Step("anon", lambda path: path, ["path"])],
        inputs=["path"],
    )
    with pytest.raises(SchedulerError) as caught:
        run(graph, {"path": str(marker)}, scheduler=pool)
    assert str(caught.value) == (
        "step 'anon': its action cannot be pickled for the ProcessPoolExecutor backend: "
        "AttributeError: Can't pickle local object "
        "'test_a_lambda_is_refused_before_anything_runs.<locals>.<lambda>'"
    )
    assert not marker.exists()


def touch(path: str) -> None:
    Path(path).touch()


def test_a_generator_is_refused(pool: ProcessPoolExecutor) -> None:
    with pytest.raises(SchedulerError) as caught:
        run(StepGraph([Step("numbers", count_up)]), scheduler=pool)
    assert str(caught.value) == (
        "step 'numbers' is a generator (a streaming step); the ProcessPoolExecutor backend "
        "ships each call to another process and gets one value back, so it cannot stream: "
        "return a list, or run the graph on 'threads' or 'asyncio'"
    )


def test_a_refused_submission_fails_the_step() -> None:
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    pool.shutdown()
    graph = StepGraph([Step("sq", square, ["x"])], inputs=["x"])
    with pytest.raises(StepFailedError) as caught:
        run(graph, {"x": 2}, scheduler=pool)
    assert str(caught.value) == (
        "step 'sq' failed: RuntimeError: cannot schedule new futures after shutdown"
    )


def _fails_inside_a_worker() -> str:
    from rxsteps import Step, StepGraph, run

    def boom() -> None:
        raise ValueError("inside")

    run(StepGraph([Step("ok", lambda: 1), Step("boom", boom)]), fail_fast=True)
    return "unreachable"


def test_a_failing_run_inside_a_process_pool_job_reaches_the_caller_as_itself(
    pool: ProcessPoolExecutor,
) -> None:
    with pytest.raises(StepFailedError, match="step 'boom' failed: ValueError: inside") as info:
        pool.submit(_fails_inside_a_worker).result(60)
    failure = info.value
    assert isinstance(failure.error, ValueError)  # (the pool sets __cause__ to its traceback)
    assert failure.result is not None and failure.result.failure is failure
    assert failure.result.status["boom"] is StepStatus.FAILED
    assert repr(failure.result.graph["ok"].action).startswith("Unpicklable(")


def test_a_mapped_step_ships_each_item_to_the_pool(pool: ProcessPoolExecutor) -> None:
    graph = StepGraph([Step("wheres", worker_pid, ["items"], map="items"),
                       Step("squares", square, ["items"], map="items")], inputs=["items"])
    result = run(graph, {"items": [1, 2, 3]}, scheduler=pool)
    assert result["squares"] == [1, 4, 9]
    assert os.getpid() not in result["wheres"] and len(result["wheres"]) == 3
