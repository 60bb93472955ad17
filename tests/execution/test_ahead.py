"""Planning remote tasks ahead (rxsteps.execution.ahead), with a backend that records.

The real thing, on a Dask cluster, is in tests/backends/test_dask.py; here the rules:
which steps are planned, with which arguments, and when a launch takes a planned task.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from rxsteps import Step
from rxsteps.backends.base import Backend, Handle
from rxsteps.execution.ahead import Ahead, plannable
from rxsteps.execution.attempt import ActiveAttempt
from rxsteps.execution.invoke import remote_call
from rxsteps.execution.node import InputNode, Mode, Node


class Planned:
    """A task submitted ahead: its value is a token the test can recognise."""

    def __init__(self, label: str, args: tuple[Any, ...]) -> None:
        self.value = f"future of {label}"
        self.args = args
        self.cancelled = False

    def attach(self, done: Callable[[Future[Any]], None]) -> Handle:
        return self

    def cancel(self) -> None:
        self.cancelled = True


class Recording(Backend):
    remote = True

    def __init__(self) -> None:
        self.planned: dict[str, Planned] = {}

    def submit_ahead(self, fn: Callable[..., Any], args: tuple[Any, ...],
                     label: str) -> Planned:
        self.planned[label] = Planned(label, args)
        return self.planned[label]


def _add(*values: int) -> int:
    return sum(values)


def _nodes(*steps: Step) -> dict[str, Node]:
    nodes: dict[str, Any] = {"q": InputNode("q", 7)}
    for step in steps:
        nodes[step.id] = Node(step, [nodes[d] for d in step.depends])
        nodes[step.id].mode = Mode.REMOTE
    del nodes["q"]
    return nodes


def test_steps_are_planned_with_inputs_values_and_planned_futures() -> None:
    nodes = _nodes(Step("a", _add, ["q"]), Step("b", _add, ["a", "q"]),
                   Step("w", _add, ["a"], when=lambda a: True), Step("c", _add, ["w"]))
    backend = Recording()
    Ahead().submit(backend, nodes.values(), remote_call)
    assert {label: planned.args for label, planned in backend.planned.items()} == {
        "a-1": (7,), "b-1": ("future of a-1", 7)}  # w has a condition; c needs w's value


@pytest.mark.parametrize("option", [
    {"when": bool}, {"uses": "llm"}, {"optional": ["q"], "defaults": {"q": 0}},
    {"cache": True}, {"join": "collect"}, {"map": "q"},
])
def test_what_the_run_decides_later_is_not_planned(option: dict[str, Any]) -> None:
    (node,) = _nodes(Step("a", _add, ["q"], **option)).values()
    assert not plannable(node)
    assert plannable(next(iter(_nodes(Step("a", _add, ["q"], timeout=5)).values())))


def test_a_local_step_is_not_planned() -> None:
    (node,) = _nodes(Step("a", _add, ["q"])).values()
    node.mode = Mode.SYNC
    assert not plannable(node)


def _attempt(node: Node, number: int, args: tuple[Any, ...]) -> ActiveAttempt:
    attempt = ActiveAttempt(node, 0, number, 0.0)
    attempt.args = args
    return attempt


def test_a_launch_takes_its_planned_task_only_with_the_same_arguments() -> None:
    nodes = _nodes(Step("a", _add, ["q"]), Step("b", _add, ["a"]), Step("c", _add, ["a"]))
    backend, ahead = Recording(), Ahead()
    ahead.submit(backend, nodes.values(), remote_call)
    planned = backend.planned
    assert ahead.take(_attempt(nodes["a"], 1, (7,))) is planned["a-1"]
    # b's dependency was retried: its future is another one, so b's task is dropped
    assert ahead.take(_attempt(nodes["b"], 1, ("future of a-2",))) is None
    assert planned["b-1"].cancelled
    assert ahead.take(_attempt(nodes["b"], 1, ("future of a-1",))) is None  # taken once
    ahead.cancel_rest()  # the run ended: c was never launched
    assert planned["c-1"].cancelled and not planned["a-1"].cancelled


def test_a_retry_never_takes_the_planned_task() -> None:
    nodes = _nodes(Step("a", _add, ["q"]))
    backend, ahead = Recording(), Ahead()
    ahead.submit(backend, nodes.values(), remote_call)
    assert ahead.take(_attempt(nodes["a"], 2, (7,))) is None
    assert backend.planned["a-1"].cancelled


def test_a_backend_that_cannot_plan_plans_nothing() -> None:
    ahead = Ahead()
    ahead.submit(Backend(), _nodes(Step("a", _add, ["q"])).values(), remote_call)
    (node,) = _nodes(Step("a", _add, ["q"])).values()
    assert ahead.take(_attempt(node, 1, (7,))) is None
