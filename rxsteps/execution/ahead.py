"""Remote steps submitted ahead: a Dask task shipped before its dependencies end.

On a remote backend whose tasks can take the values of unfinished tasks as arguments
(:meth:`~rxsteps.backends.base.Backend.submit_ahead`: Dask futures), submitting each
task only once its dependencies have ended costs a round trip to the cluster per
level of the graph (measured on 1,000 no-op tasks on a 2-worker ``LocalCluster``:
3.5 ms a task, against 1.4 ms for one ``client.submit`` per task up front). So when
such a run starts, :class:`Ahead` submits every step it can plan, in topological
order, each with its dependencies' futures; Dask runs each task once its
dependencies have ended, without asking the client.

The engine is otherwise unchanged: a step becomes ready when its dependencies have
succeeded, and only then is its attempt launched (STARTED, its timeout, its span).
The launch *adopts* the task submitted ahead (:meth:`Ahead.take`) when it is the
step's first attempt of its first call and its arguments are the very objects the
task was submitted with; otherwise (a dependency was retried, so its future is
another one) that task is cancelled and the attempt submitted as usual. Tasks never
adopted — a dependency failed, or the run stopped — are cancelled when the run ends
(:meth:`Ahead.cancel_rest`); Dask never runs a task whose dependency failed or was
cancelled, so no action runs that the engine would not have launched, but a task
may already be running, or done, when its STARTED event comes.

A step is planned only when nothing the engine decides at run time stands between
its dependencies' ends and its call (:func:`plannable`): it runs remotely, joins with
``zip``, has no condition (``when=``), map, resources (``uses=``), optional
dependencies or cache, and each dependency is an input or a planned step. The run
decides whether to plan at all: no ``max_concurrency``, limits or rates, store or
resume.

State: ``_submitted``, step id → the :class:`~rxsteps.backends.base.Submitted` not
adopted yet, with the arguments it was submitted with. It is filled once, as the
run starts and before any launch, then only emptied: each entry is popped once, by
the launch that adopts or refuses it or by :meth:`Ahead.cancel_rest` (``dict.pop``
is atomic, so no lock is needed).

Example:
    >>> from rxsteps import Step
    >>> q = InputNode("q", 1)
    >>> a = Node(Step("a", lambda q: q + 1, ["q"]), [q])
    >>> a.mode = Mode.REMOTE
    >>> when = Node(Step("w", lambda q: q, ["q"], when=lambda q: q > 0), [q])
    >>> when.mode = Mode.REMOTE
    >>> plannable(a), plannable(when)
    (True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backends.base import Backend, Submitted
from .attempt import ActiveAttempt
from .node import InputNode, Mode, Node

__all__ = ["Ahead", "plannable"]

#: ``(node, args)`` → the ``(fn, args)`` a remote backend ships for that call
Pack = Callable[[Node, tuple[Any, ...]], tuple[Callable[..., Any], tuple[Any, ...]]]


def plannable(node: Node) -> bool:
    """Whether ``node``'s first call can be submitted before its dependencies end."""
    step = node.step
    return (node.mode is Mode.REMOTE and step.join == "zip" and step.when is None
            and step.map is None and not step.uses and not step.optional
            and step.cache is False)


class Ahead:
    """The tasks of one run submitted ahead; see the module docstring."""

    __slots__ = ("_submitted",)

    def __init__(self) -> None:
        self._submitted: dict[str, tuple[Submitted, tuple[Any, ...]]] = {}

    def submit(self, backend: Backend, nodes: Iterable[Node], pack: Pack) -> None:
        """Submit the first call of every plannable node whose dependencies are inputs
        or planned nodes (``nodes`` in topological order)."""
        planned = self._submitted
        for node in nodes:
            if not plannable(node):
                continue
            args = _planned_args(node, planned)
            if args is None:
                continue
            submitted = backend.submit_ahead(*pack(node, args), f"{node.id}-1")
            if submitted is None:
                return  # the backend cannot, or the cluster refused: launch as usual
            planned[node.id] = (submitted, args)

    def take(self, attempt: ActiveAttempt) -> Submitted | None:
        """The task submitted ahead for ``attempt``, if it has the same arguments;
        a task for the step that does not fit is cancelled."""
        entry = self._submitted.pop(attempt.node.id, None)
        if entry is None:
            return None
        submitted, args = entry
        if attempt.number == 1 and attempt.index == 0 and _same(args, attempt.args):
            return submitted
        submitted.cancel()
        return None

    def cancel_rest(self) -> None:
        """Cancel every task not adopted (the run has ended)."""
        while self._submitted:
            try:
                _, (submitted, _) = self._submitted.popitem()
            except KeyError:  # a launch took the last one meanwhile
                return
            submitted.cancel()


def _planned_args(node: Node, planned: dict[str, tuple[Submitted, tuple[Any, ...]]]
                  ) -> tuple[Any, ...] | None:
    """The arguments of ``node``'s first call: inputs' values and planned steps'
    futures; ``None`` if a dependency is neither."""
    args = []
    for dep in node.deps:
        if type(dep) is InputNode:
            args.append(dep.values[0])
        elif dep.id in planned:
            args.append(planned[dep.id][0].value)
        else:
            return None
    return tuple(args)


def _same(planned: tuple[Any, ...], actual: tuple[Any, ...]) -> bool:
    return len(planned) == len(actual) and all(
        a is b for a, b in zip(planned, actual, strict=True))
