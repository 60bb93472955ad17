"""The outcome of a run: values, statuses, errors and timings, read-only.

A :class:`RunResult` is a ``Mapping`` from step id to the step's value (a streaming
step's last value) for every step that produced one. Everything else a run learned is
kept beside it: every value a step emitted, each step's :class:`StepStatus`, the errors,
why a step was skipped or cancelled, and one :class:`Attempt` record per attempt (what
timelines and critical paths are drawn from). Results of a failed fail-fast run are
partial, never lost: they ride on :attr:`rxsteps.StepFailedError.result`.

Example:
    >>> from rxsteps import Step, StepGraph, run, StepStatus
    >>> graph = StepGraph([Step("a", lambda: 2), Step("b", lambda a: a * 10, ["a"])])
    >>> result = run(graph)
    >>> dict(result), result.status["b"] is StepStatus.SUCCEEDED
    ({'a': 2, 'b': 20}, True)
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import os
import pickle
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from ._pictures import pictures
from .critical import result_critical_path
from .graph import StepGraph
from .step import Step

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CONDITION_FALSE", "Attempt", "RunResult", "StepStatus", "Wait"]

#: The reason of a step skipped because its own condition (``Step(when=...)``) was false.
CONDITION_FALSE = "condition false"

_V = TypeVar("_V")


class StepStatus(enum.Enum):
    """Where a step stands. A finished run holds only the last four.

    Example:
        >>> from rxsteps import Step, StepGraph, StepStatus, run
        >>> status = run(StepGraph([Step("a", lambda: 1)])).status["a"]
        >>> status is StepStatus.SUCCEEDED, status.done
        (True, True)
    """

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        """Whether the status is final."""
        return self not in (StepStatus.PENDING, StepStatus.RUNNING)


_RESOURCE = "resource "  # how a Wait's reason names a resource: "resource 'llm'"


@dataclass(slots=True, frozen=True)
class Wait:
    """A time a ready step spent waiting for capacity before an attempt started.

    Attributes:
        step: The step id.
        index: Which call of the step, from 0.
        attempt: The attempt number that waited, from 1.
        start: Monotonic time it began to wait (its WAITING event).
        end: Monotonic time it was let through (or the run stopped).
        reason: What it waited for: ``"resource 'llm'"`` or ``"rate 'llm'"``.

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> graph = StepGraph([Step("a", lambda: 1, uses="llm"),
        ...                    Step("b", lambda: 2, uses="llm")])
        >>> [(w.step, w.reason) for w in run(graph, limits={"llm": 1}, priority="fifo").waits]
        [('b', "resource 'llm'")]
    """

    step: str
    index: int
    attempt: int
    start: float
    end: float
    reason: str

    @property
    def duration(self) -> float:
        """Seconds it waited."""
        return self.end - self.start

    @property
    def resource(self) -> str | None:
        """The resource it waited for (``"llm"``), or ``None`` for a rate token.

        Example:
            >>> Wait("b", 0, 1, 0.0, 1.0, "resource 'llm'").resource
            'llm'
            >>> Wait("b", 0, 1, 0.0, 1.0, "rate 'llm'").resource is None
            True
        """
        if not self.reason.startswith(_RESOURCE):
            return None
        return self.reason[len(_RESOURCE):].strip("'\"")


@dataclass(slots=True)
class Attempt:
    """One attempt of one call of a step (a read-only record).

    Attributes:
        step: The step id.
        index: Which call of the step, from 0.
        attempt: The attempt number, from 1.
        start: Monotonic start time.
        end: Monotonic end time.
        outcome: ``"succeeded"``, ``"failed"``, ``"timeout"``, ``"cancelled"`` or
            ``"cached"`` (answered from a store's cache, not called).
        error: The exception of a failed or timed-out attempt.

    Example:
        >>> from rxsteps import Retry, Step, StepGraph, run
        >>> calls = []
        >>> def flaky():
        ...     calls.append(1)
        ...     if len(calls) == 1:
        ...         raise ConnectionError("once")
        ...     return "ok"
        >>> result = run(StepGraph([Step("f", flaky, retry=Retry(backoff=0))]))
        >>> [(a.attempt, a.outcome) for a in result.attempts]
        [(1, 'failed'), (2, 'succeeded')]
    """

    step: str
    index: int
    attempt: int
    start: float
    end: float
    outcome: str
    error: BaseException | None = None

    @property
    def duration(self) -> float:
        """Seconds the attempt took."""
        return self.end - self.start


class RunResult(Mapping[str, Any]):
    """Read-only mapping from step id to value, with the run's statuses and timings.

    Built by the engine; users read it.

    Attributes:
        status: Step id to :class:`StepStatus`, for every step of the graph.
        errors: Step id to the exception of each FAILED step.
        reasons: Step id to why it was SKIPPED or CANCELLED.
        started: Step id to the monotonic time its first attempt began.
        ended: Step id to the monotonic time it finished.
        attempts: Every attempt, in the order they ended.
        waits: Every :class:`Wait` for a resource or a rate before an attempt started.
        start, end: Monotonic times the run began and finished.
        graph: The graph that ran.
        inputs: The inputs the run was given.
        sequence: The event number when the run came from a pipeline, else ``None``.
        failure: The :class:`~rxsteps.StepFailedError` that stopped a fail-fast run;
            for a pipeline event whose run the store refused, that
            :class:`~rxsteps.StoreError` (every step cancelled); else ``None``.
        cached: The steps whose every call was answered from the store's cache
            (``Step(..., cache=True)``), not made.

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> result = run(StepGraph([Step("tokens", lambda: (t for t in "abc"))]))
        >>> result["tokens"], result.emitted("tokens"), result.ok
        ('c', ['a', 'b', 'c'], True)
    """

    __slots__ = (
        "_emitted",
        "_values",
        "attempts",
        "cached",
        "end",
        "ended",
        "errors",
        "failure",
        "graph",
        "inputs",
        "reasons",
        "sequence",
        "start",
        "started",
        "status",
        "waits",
    )

    def __init__(
        self,
        *,
        graph: StepGraph,
        inputs: Mapping[str, Any],
        emitted: Mapping[str, list[Any]],
        status: Mapping[str, StepStatus],
        errors: Mapping[str, BaseException],
        reasons: Mapping[str, str],
        started: Mapping[str, float],
        ended: Mapping[str, float],
        attempts: list[Attempt],
        start: float,
        end: float,
        sequence: int | None = None,
        failure: BaseException | None = None,
        waits: list[Wait] | None = None,
        cached: frozenset[str] = frozenset(),
    ) -> None:
        self.cached = cached
        self.graph = graph
        self.waits = tuple(waits or ())
        self.failure = failure
        self.inputs = MappingProxyType(dict(inputs))
        self._emitted = {k: v for k, v in emitted.items() if v}
        self._values = {k: v[-1] for k, v in self._emitted.items()}
        self.status = _frozen(status)
        self.errors = _frozen(errors)
        self.reasons = _frozen(reasons)
        self.started = _frozen(started)
        self.ended = _frozen(ended)
        self.attempts = tuple(attempts)
        self.start = start
        self.end = end
        self.sequence = sequence

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle (a failing run inside a process pool or a Dask task reaches its caller
        whole): what cannot be pickled — a lambda action, an open socket as a value — is
        replaced by an :class:`Unpicklable` placeholder naming it. The ``failure`` is
        left out here and restored by :class:`~rxsteps.StepFailedError`'s own pickle,
        which holds this result (the two refer to each other)."""
        fields = {
            "graph": _portable_graph(self.graph),
            "inputs": {k: _portable(v) for k, v in self.inputs.items()},
            "emitted": {k: [_portable(v) for v in vs] for k, vs in self._emitted.items()},
            "status": dict(self.status), "errors": {k: _portable(v) for k, v in
                                                    self.errors.items()},
            "reasons": dict(self.reasons), "started": dict(self.started),
            "ended": dict(self.ended), "attempts": list(self.attempts),
            "start": self.start, "end": self.end, "sequence": self.sequence,
            "waits": list(self.waits),
            "cached": self.cached,
        }
        return (_rebuild_result, (fields,))

    # -- mapping ----------------------------------------------------------------------

    def __getitem__(self, step_id: str) -> Any:
        try:
            return self._values[step_id]
        except KeyError:
            if step_id in self.status:
                raise KeyError(
                    f"step {step_id!r} produced no value "
                    f"({self.status[step_id].value}"
                    + (f": {self.reasons[step_id]}" if step_id in self.reasons else "")
                    + ")"
                ) from None
            raise

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for status in self.status.values():
            counts[status.value] = counts.get(status.value, 0) + 1
        summary = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
        seq = f"#{self.sequence} " if self.sequence is not None else ""
        return f"<RunResult {seq}{summary} in {self.duration:.3f} s>"

    # -- queries ----------------------------------------------------------------------

    def skipped_by_condition(self, step_id: str) -> bool:
        """Whether ``step_id`` was skipped because of a condition, not a failure.

        True for a step whose own condition (``Step(when=...)``) was false, and for one
        skipped because a dependency it needs was skipped by a condition; false for a
        step skipped because a dependency failed or emitted nothing, and for every
        step that was not skipped.

        Args:
            step_id: A step of the graph.

        Returns:
            Whether a condition, directly or through its dependencies, skipped it.

        Raises:
            KeyError: ``step_id`` is not a step of this run.

        Example:
            >>> from rxsteps import Step, StepGraph, run
            >>> result = run(StepGraph([
            ...     Step("a", lambda: 1, when=lambda: False),
            ...     Step("b", lambda a: a, ["a"]),
            ... ]))
            >>> result.reasons["b"], result.skipped_by_condition("b")
            ("dependency 'a' skipped", True)
        """
        if step_id not in self.status:
            raise KeyError(f"no step {step_id!r} in this run")
        seen: set[str] = set()
        while step_id not in seen and self.status.get(step_id) is StepStatus.SKIPPED:
            seen.add(step_id)
            reason = self.reasons.get(step_id, "")
            if reason == CONDITION_FALSE:
                return True
            prefix, _, rest = reason.partition(" ")
            name, quoted, tail = rest.rpartition(" ")
            if prefix != "dependency" or tail != "skipped" or not quoted:
                return False
            step_id = _unquote(name)
        return False

    def partial(self, step_id: str) -> list[Any] | None:
        """The item results of a mapped step (``Step(..., map=...)``), kept even when
        some items failed.

        Args:
            step_id: A step of the graph.

        Returns:
            The list of results in item order for a mapped step that succeeded; for one
            whose items failed (``fail_fast=False``), the same list with ``None``
            where an item failed (the error, a
            :class:`~rxsteps.MapItemsFailedError`, says which); else ``None``.

        Raises:
            KeyError: ``step_id`` is not a step of this run.

        Example:
            >>> from rxsteps import Step, StepGraph, run
            >>> graph = StepGraph([Step("xs", lambda: [2, 0]),
            ...                    Step("inv", lambda x: 1 / x, ["xs"], map="xs")])
            >>> run(graph, fail_fast=False).partial("inv")
            [0.5, None]
        """
        if step_id not in self.status:
            raise KeyError(f"no step {step_id!r} in this run")
        if self.status[step_id] is StepStatus.SUCCEEDED and step_id in self._values:
            value = self._values[step_id]
            return value if isinstance(value, list) else None
        values = getattr(self.errors.get(step_id), "values", None)
        return list(values) if isinstance(values, list) else None

    def emitted(self, step_id: str) -> list[Any]:
        """Every value the step emitted, in order (empty if it produced none)."""
        if step_id not in self.status:
            raise KeyError(step_id)
        return list(self._emitted.get(step_id, ()))

    @property
    def duration(self) -> float:
        """Seconds from the run's start to its end."""
        return self.end - self.start

    @property
    def ok(self) -> bool:
        """Whether every step succeeded, or was skipped by a condition (a branch not
        taken is not a failure; see :meth:`skipped_by_condition`)."""
        return all(
            status is StepStatus.SUCCEEDED
            or (status is StepStatus.SKIPPED and self.skipped_by_condition(step_id))
            for step_id, status in self.status.items()
        )

    def raise_for_errors(self) -> None:
        """Raise an ``ExceptionGroup`` of every step failure, if there was any.

        Each member has a note naming its step.
        """
        if not self.errors:
            return
        members = []
        for step_id, error in self.errors.items():
            if not any(f"step {step_id!r}" in note for note in getattr(error, "__notes__", ())):
                error.add_note(f"in step {step_id!r}")
            members.append(error if isinstance(error, Exception) else RuntimeError(error))
        names = ", ".join(map(repr, self.errors))
        raise ExceptionGroup(f"{len(members)} step(s) failed: {names}", members)

    # -- pictures (implemented in critical.py, timeline.py, renderings.py) ------------

    def critical_path(self) -> tuple[list[str], float]:
        """The chain of steps that bounded the makespan, and its duration in seconds.

        Walks back from the step that ended last, each time to the dependency that
        ended latest; see :func:`rxsteps.critical.result_critical_path`.

        Returns:
            ``(step_ids, seconds)``; ``([], 0.0)`` if no step ran.

        Example:
            >>> from rxsteps import Step, StepGraph, run
            >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"])])
            >>> run(graph).critical_path()[0]
            ['a', 'b']
        """
        return result_critical_path(self)

    def timeline(self, path: str | os.PathLike[str] | None = None, *,
                 overview: bool | None = None) -> Figure:
        """A Gantt chart of every attempt; see :func:`rxsteps.pictures.timeline.draw_timeline`.

        Args:
            path: Also write the picture here (``.png``, ``.svg`` or ``.pdf``).
            overview: ``False`` draws a lane per step of a big run, ``True`` summarises
                it in at most 40 lanes; ``None`` summarises runs of more than 40 steps.

        Returns:
            The ``matplotlib.figure.Figure``.

        Raises:
            ImportError: matplotlib is not installed (the draw extra: ``pip install -e '.[draw]'``
                in your clone).
            OptionError: ``path`` does not end in ``.png``, ``.svg`` or ``.pdf``.

        Example:
            >>> from rxsteps import Step, StepGraph, run
            >>> bool(run(StepGraph([Step("a", lambda: 1)])).timeline().get_size_inches()[0] > 0)
            True
        """
        return pictures().draw_timeline(  # type: ignore[no-any-return]
            self, path, overview=overview)

    def _repr_png_(self) -> bytes | None:
        """The graph coloured by this run, as PNG (Jupyter); ``None`` without matplotlib."""
        return pictures().repr_png(self.graph, result=self)  # type: ignore[no-any-return]

    def _repr_svg_(self) -> str | None:
        """The graph coloured by this run, as SVG (Jupyter); ``None`` without matplotlib."""
        return pictures().repr_svg(self.graph, result=self)  # type: ignore[no-any-return]


class Unpicklable:
    """Stands in, after unpickling a :class:`RunResult`, for a value or action that
    could not be pickled; ``repr`` is what it was.

    Example:
        >>> Unpicklable("<function <lambda>>")
        Unpicklable('<function <lambda>>')
    """

    def __init__(self, description: str) -> None:
        self.description = description

    def __call__(self, *args: Any) -> Any:
        raise RuntimeError(f"{self.description} could not be pickled; it is not here")

    def __repr__(self) -> str:
        return f"Unpicklable({self.description!r})"


def _portable(value: Any) -> Any:
    try:
        pickle.dumps(value)
    except Exception:
        return Unpicklable(repr(value))
    return value


def _portable_graph(graph: StepGraph) -> StepGraph:
    try:
        pickle.dumps(graph)
    except Exception:
        from_steps = [
            dataclasses.replace(step) if _picklable(step.action)
            else Step(step.id, Unpicklable(repr(step.action)), step.depends, join=step.join,
                      timeout=step.timeout, retry=step.retry, description=step.description)
            for step in graph.values()
        ]
        return StepGraph(from_steps, inputs=graph.inputs)
    return graph


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def _rebuild_result(fields: dict[str, Any]) -> RunResult:
    return RunResult(**fields)


def _unquote(text: str) -> str:
    """A step id from its ``repr`` in a reason (``'a'`` -> ``a``)."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


def _frozen(mapping: Mapping[str, _V]) -> Mapping[str, _V]:
    """A read-only view; a plain dict handed over is viewed, not copied."""
    return MappingProxyType(mapping if type(mapping) is dict else dict(mapping))
