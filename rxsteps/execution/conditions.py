"""Conditions (``Step(when=...)``): asking them, outside the run's lock.

A call of a step with a condition goes through one more state before it is queued for
a slot. When its join makes the call available, the run records a *check* — the node,
the call's index and its arguments — instead of queueing it (:meth:`Run._ready
<rxsteps.execution.run.Run>`), and keeps the node ``busy``. After the lock is released,
whoever carried out the transition asks the pending conditions (:func:`ask_all`), in a
copy of the caller's context, on its own thread: no driver thread is taken for them and
no ``max_concurrency`` slot. The answers go back under the lock: true queues the call as
usual, false skips the call (no STARTED, no value) and an exception fails the step, with
the exception as its error, as if the action had raised it. A condition always runs in
this process, so on a backend that leaves values on a cluster (Dask) its arguments are
fetched first (:meth:`~rxsteps.backends.base.Backend.local_values`); the action itself
still gets them where they are.

A step none of whose calls ran ends SKIPPED with :data:`~rxsteps.result.CONDITION_FALSE`
as its reason, and is *skipped by a condition*: so are the dependents that need it
(``by_condition``), while a dependent that names it in ``optional`` gets its default in
its place (:func:`stand_in`) and runs. A failure never counts as a condition.

Example:
    >>> from rxsteps import Step, StepGraph, run
    >>> graph = StepGraph([
    ...     Step("plan", lambda: {"search": False}),
    ...     Step("search", lambda plan: "found", ["plan"], when=lambda plan: plan["search"]),
    ...     Step("answer", lambda plan, found: found or "from memory", ["plan", "search"],
    ...          optional=["search"]),
    ... ])
    >>> result = run(graph)
    >>> result.reasons["search"], result["answer"]
    ('condition false', 'from memory')
"""

from __future__ import annotations

import contextvars
from typing import Any, NamedTuple

from ..backends.base import Backend
from .node import InputNode, Node, Source

__all__ = ["Answer", "Check", "ask_all", "stand_in"]


class Check(NamedTuple):
    """A call waiting for its condition: which node, which call, with what arguments."""

    node: Node
    call: int
    args: tuple[Any, ...]


class Answer(NamedTuple):
    """A condition's answer for one :class:`Check`: ``ok``, or the ``error`` it raised."""

    check: Check
    ok: bool
    error: Exception | None


def ask_all(context: contextvars.Context, checks: list[Check], backend: Backend) -> list[Answer]:
    """Ask each check's condition (user code: call this outside the run's lock), with
    the arguments' values fetched to this process if ``backend`` left them remote."""
    return [_ask(context, check, backend) for check in checks]


def _ask(context: contextvars.Context, check: Check, backend: Backend) -> Answer:
    when = check.node.step.when
    assert when is not None
    try:
        args = backend.local_values(check.args)
        return Answer(check, bool(context.copy().run(when, *args)), None)
    except Exception as error:  # a BaseException goes on: the run ends with it
        return Answer(check, False, error)


def stand_in(node: Node, skipped: Source) -> None:
    """``skipped`` (an optional dependency of ``node``) was skipped by a condition: put
    its default in its place, as a dependency that emitted that one value and ended."""
    value = node.step.defaults.get(skipped.id)
    deps = node.deps
    for position, dep in enumerate(deps):
        if dep is skipped:
            default = InputNode(skipped.id, value)
            deps[position] = default
            node.dep_emitted(default)
            node.dep_completed(default)
