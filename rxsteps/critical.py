"""Critical paths: the chain of steps that bounds how long a workflow takes.

Two questions, two answers:

- *Before* a run, :func:`planned_critical_path` takes a duration per step and returns
  the longest path through the DAG — the chain whose steps, even with unlimited
  parallelism, add up to the shortest possible makespan. It is a dynamic programme over
  one topological order, O(V + E). (``networkx.dag_longest_path`` weighs edges, not
  nodes, which is why it is not used here.)
- *After* a run, :func:`result_critical_path` explains the makespan that happened:
  starting from the step that ended last, it walks back, each time to the dependency
  that ended latest — the one that released the step — through steps that ran; a
  step that waited for a resource was released by the step that held it instead.

Both return ``(step_ids, seconds)``; :meth:`rxsteps.StepGraph.critical_path` and
:meth:`rxsteps.RunResult.critical_path` are the usual doors in.

Example:
    >>> from rxsteps import Step, StepGraph
    >>> graph = StepGraph([
    ...     Step("plan", lambda: 0),
    ...     Step("search", lambda p: 0, ["plan"]),
    ...     Step("lookup", lambda p: 0, ["plan"]),
    ...     Step("answer", lambda s, l: 0, ["search", "lookup"]),
    ... ])
    >>> planned_critical_path(graph, {"plan": 1, "search": 5, "lookup": 2, "answer": 1})
    (['plan', 'search', 'answer'], 7.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from itertools import pairwise
from typing import Protocol

from .errors import OptionError, OptionTypeError

__all__ = ["critical_edges", "planned_critical_path", "remaining_paths", "result_critical_path"]


class _Step(Protocol):
    @property
    def depends(self) -> Sequence[str]: ...
    @property
    def uses(self) -> Sequence[tuple[str, int]]: ...


class _Wait(Protocol):
    """What the run's path reads of a :class:`~rxsteps.Wait`."""

    @property
    def step(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def resource(self) -> str | None: ...


class _Graph(Protocol):
    """What the critical paths read of a :class:`~rxsteps.StepGraph` (this module sits
    below the graph and the result, so it names their shape, not their classes)."""

    def order(self) -> list[str]: ...
    def __getitem__(self, step_id: str, /) -> _Step: ...
    def __iter__(self) -> Iterator[str]: ...
    def __contains__(self, step_id: object, /) -> bool: ...


class _Result(Protocol):
    """What :func:`result_critical_path` reads of a :class:`~rxsteps.RunResult`."""

    @property
    def graph(self) -> _Graph: ...
    started: Mapping[str, float]
    ended: Mapping[str, float]
    start: float

    @property
    def waits(self) -> Sequence[_Wait]: ...


def planned_critical_path(
    graph: _Graph, durations: Mapping[str, float]
) -> tuple[list[str], float]:
    """The longest chain of dependent steps for planned durations.

    Each step weighs its duration; run inputs weigh nothing and never appear in the
    path. Steps missing from ``durations`` count as 0 s. Ties go to the step that comes
    first (in a dependency list, then in topological order), so the answer is
    deterministic.

    Args:
        graph: The step graph (validated first).
        durations: Seconds per step id.

    Returns:
        ``(path, total)``: the step ids from first to last, and the sum of their
        durations. An empty graph gives ``([], 0.0)``.

    Raises:
        OptionError: A duration is negative or not finite, or names no step of the graph
            (also a ``ValueError``; an ``OptionTypeError`` for one that is not a number).
        GraphError: The graph is invalid (see :meth:`rxsteps.StepGraph.validate`).

    Example:
        >>> from rxsteps import Step, StepGraph
        >>> graph = StepGraph([Step("a", lambda q: 0, ["q"]), Step("b", lambda q: 0, ["q"])],
        ...                   inputs=["q"])
        >>> planned_critical_path(graph, {"b": 2.5})
        (['b'], 2.5)
    """
    order = graph.order()
    weights = _checked_durations(graph, durations)
    best: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for step_id in order:
        parent: str | None = None
        longest = 0.0
        for dep in graph[step_id].depends:
            if dep in best and (parent is None or best[dep] > longest):
                parent, longest = dep, best[dep]
        best[step_id] = longest + weights.get(step_id, 0.0)
        via[step_id] = parent
    if not order:
        return [], 0.0
    end = max(order, key=lambda step_id: best[step_id])  # first of equals wins
    path = _walk_back(end, via)
    return path, best[end]


def remaining_paths(graph: _Graph, durations: Mapping[str, float]) -> dict[str, float]:
    """For each step, the longest chain from it to the end of the graph, itself included.

    The priority of a step waiting for capacity: the one with the longest remaining
    path goes first, so the critical path is never left waiting. One pass over the
    topological order backwards, O(V + E).

    Args:
        graph: The step graph (validated first).
        durations: Seconds (or units) per step id; missing steps weigh 0.

    Returns:
        Step id to the sum of the durations on its longest path to a sink.

    Raises:
        OptionError: A duration is negative or not finite, or names no step
            (also a ``ValueError``; an ``OptionTypeError`` for one that is not a number).

    Example:
        >>> from rxsteps import Step, StepGraph
        >>> graph = StepGraph([Step("a", lambda: 0), Step("b", lambda a: 0, ["a"]),
        ...                    Step("c", lambda: 0)])
        >>> sorted(remaining_paths(graph, {"a": 1, "b": 2, "c": 1}).items())
        [('a', 3.0), ('b', 2.0), ('c', 1.0)]
    """
    weights = _checked_durations(graph, durations)
    order = graph.order()
    tail = dict.fromkeys(order, 0.0)
    remaining: dict[str, float] = {}
    for step_id in reversed(order):
        total = remaining[step_id] = tail[step_id] + weights.get(step_id, 0.0)
        for dep in graph[step_id].depends:
            if dep in tail and tail[dep] < total:
                tail[dep] = total
    return remaining


def result_critical_path(result: _Result) -> tuple[list[str], float]:
    """The chain of steps that bounded a run's makespan.

    Starts at the step that ended last among those that ran (that have a start time),
    then repeatedly moves to what released the step: the dependency that ended
    latest — or, when the step was ready but waited for a resource before it first
    started, the step that held that resource and ended last during the wait (its
    end let the step in, so it is what delayed it). Inputs, steps that never ran, and
    steps already on the chain are skipped. A wait for a rate token has no holder;
    the walk then goes on through the dependency.

    Args:
        result: A finished run.

    Returns:
        ``(path, seconds)``: step ids from first to last, and the time from the first
        step's start (the run's start if it has none) to the last step's end. A run in
        which no step ran gives ``([], 0.0)``.

    Example:
        >>> import time
        >>> from rxsteps import Step, StepGraph, run
        >>> graph = StepGraph([
        ...     Step("fast", lambda: time.sleep(0.01)),
        ...     Step("slow", lambda: time.sleep(0.2)),
        ...     Step("join", lambda a, b: "done", ["fast", "slow"]),
        ... ])
        >>> path, seconds = result_critical_path(run(graph))
        >>> path, seconds >= 0.2
        (['slow', 'join'], True)

        A trivial step that waited for the model behind a slow one ended last; the
        path names the slow one too:

        >>> graph = StepGraph([Step("slow", lambda: time.sleep(0.2), uses="llm"),
        ...                    Step("trivial", lambda: 1, uses="llm")])
        >>> run(graph, limits={"llm": 1}, priority="fifo").critical_path()[0]
        ['slow', 'trivial']
    """
    ran = [s for s in result.graph if s in result.started and s in result.ended]
    if not ran:
        return [], 0.0
    ended = result.ended
    last = max(ran, key=lambda step_id: ended[step_id])
    left = set(ran)
    left.discard(last)
    waits = _first_waits(result)
    chain = [last]
    while True:
        step_id = chain[-1]
        deps = [d for d in result.graph[step_id].depends if d in left]
        before = max(deps, key=lambda dep: ended[dep]) if deps else None
        wait = waits.get(step_id)
        holder = None if wait is None else _holder(result, wait, left)
        after = holder if holder is not None else before
        if after is None:
            break
        chain.append(after)
        left.discard(after)
    chain.reverse()
    start = result.started.get(chain[0], result.start)
    return chain, max(0.0, ended[last] - start)


def _first_waits(result: _Result) -> dict[str, _Wait]:
    """Per step, the wait that ended when it first started (the latest one that ended
    by then), if it waited at all."""
    found: dict[str, _Wait] = {}
    for wait in result.waits:
        started = result.started.get(wait.step)
        if started is None or wait.end > started or wait.end <= wait.start:
            continue
        known = found.get(wait.step)
        if known is None or wait.end > known.end:
            found[wait.step] = wait
    return found


def _holder(result: _Result, wait: _Wait, left: set[str]) -> str | None:
    """The step that held the resource ``wait`` waited for and ended last during it:
    the one whose end let the waiting step in (None: a rate, or no such step)."""
    name = wait.resource
    if name is None:
        return None
    ended = result.ended
    holders = [s for s in left if wait.start <= ended[s] <= wait.end
               and any(used == name for used, _units in result.graph[s].uses)]
    return max(holders, key=lambda s: ended[s]) if holders else None


def critical_edges(path: list[str]) -> set[tuple[str, str]]:
    """The ``(dependency, dependent)`` pairs along a critical path.

    Args:
        path: Step ids from first to last, as returned by the functions above.

    Returns:
        The set of consecutive pairs — the edges a drawing highlights.

    Example:
        >>> sorted(critical_edges(["a", "b", "c"]))
        [('a', 'b'), ('b', 'c')]
    """
    return set(pairwise(path))


def _checked_durations(graph: _Graph, durations: Mapping[str, float]) -> dict[str, float]:
    unknown = [name for name in durations if name not in graph]
    if unknown:
        names = ", ".join(map(repr, unknown[:5]))
        raise OptionError(f"durations name unknown steps: {names}; give seconds only for "
                          "the graph's steps", "durations")
    checked: dict[str, float] = {}
    for name, seconds in durations.items():
        checked[name] = _seconds(name, seconds)
    return checked


def _seconds(name: str, seconds: object) -> float:
    """A step's duration as a float, or the refusal that names the step."""
    message = f"duration of step {name!r} must be a finite number >= 0, got {seconds!r}"
    if isinstance(seconds, bool | str | bytes):
        raise OptionTypeError(message, "durations")
    try:
        value = float(seconds)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OptionTypeError(message, "durations") from None
    if not math.isfinite(value) or value < 0:
        raise OptionError(message, "durations")
    return value


def _walk_back(end: str, via: Mapping[str, str | None]) -> list[str]:
    path = [end]
    parent = via[end]
    while parent is not None:
        path.append(parent)
        parent = via[parent]
    path.reverse()
    return path
