"""The exceptions rxsteps raises, and what each one carries.

Every error names what went wrong in its message and keeps the context in attributes,
so a program can react without parsing text. The hierarchy::

    RxStepsError
    ├── GraphError (ValueError) ─── the graph is invalid; nothing has run
    │   ├── CycleError ─────────── .cycle: the steps around the cycle, first repeated last
    │   ├── MissingDependencyError  .step, .missing, .suggestions
    │   └── DuplicateStepError ──── .step
    ├── InputError (ValueError) ─── run inputs do not match the declared ones
    ├── SchedulerError (ValueError) a scheduler that cannot work, or an unknown name
    ├── StepFailedError ─────────── .step, .result (the partial RunResult); __cause__ is
    │                               the step's own exception
    ├── StepTimeoutError (TimeoutError)  .step, .timeout, .attempt
    ├── StepCancelledError ──────── raised by StepContext.raise_if_cancelled()
    └── BufferOverflowError (OverflowError)  .name, .buffer: a pipeline input overflowed

Example:
    >>> from rxsteps import Step, StepGraph, CycleError
    >>> try:
    ...     StepGraph([Step("a", lambda b: b, depends=["b"]),
    ...                Step("b", lambda a: a, depends=["a"])]).validate()
    ... except CycleError as error:
    ...     print(error.cycle)
    ['b', 'a', 'b']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "BufferOverflowError",
    "CycleError",
    "DuplicateStepError",
    "GraphError",
    "InputError",
    "MissingDependencyError",
    "RxStepsError",
    "SchedulerError",
    "StepCancelledError",
    "StepFailedError",
    "StepTimeoutError",
]


class RxStepsError(Exception):
    """Base class of every error rxsteps raises itself.

    Catch it to handle anything rxsteps reports, and nothing else: a step's own
    exception reaches you as the ``__cause__`` of a :class:`StepFailedError`.

    Example:
        >>> from rxsteps import RxStepsError, StepGraph, run
        >>> try:
        ...     run(StepGraph(inputs=["q"]))
        ... except RxStepsError as error:
        ...     print(type(error).__name__)
        InputError
    """


class GraphError(RxStepsError, ValueError):
    """The step graph is invalid; no step has run.

    Example:
        >>> from rxsteps import GraphError, Step, StepGraph
        >>> try:
        ...     StepGraph([Step("a", lambda b: b, ["b"])])
        ... except GraphError as error:
        ...     print(error)
        step 'a' depends on 'b', which is neither a step nor a declared input
    """


class CycleError(GraphError):
    """The dependencies form a cycle.

    Attributes:
        cycle: The step ids around the cycle, the first one repeated at the end
            (``["a", "b", "a"]``), as in :class:`graphlib.CycleError`.

    Example:
        >>> str(CycleError(["a", "b", "a"]))
        'cycle in step graph: a -> b -> a'
    """

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        super().__init__("cycle in step graph: " + " -> ".join(self.cycle))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.cycle,))


class MissingDependencyError(GraphError):
    """A step depends on a name that is neither a step nor a declared input.

    Attributes:
        step: The step that names the missing dependency.
        missing: The name that could not be found.
        suggestions: Close matches among the known names, best first.

    Example:
        >>> error = MissingDependencyError("answer", "serch", ["search"])
        >>> error.step, error.missing, error.suggestions
        ('answer', 'serch', ['search'])
        >>> str(error).endswith("did you mean 'search'?")
        True
    """

    def __init__(self, step: str, missing: str, suggestions: Sequence[str] = ()) -> None:
        self.step = step
        self.missing = missing
        self.suggestions = list(suggestions)
        message = (
            f"step {step!r} depends on {missing!r}, which is neither a step "
            "nor a declared input"
        )
        if self.suggestions:
            message += "; did you mean " + " or ".join(map(repr, self.suggestions)) + "?"
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.step, self.missing, self.suggestions))


class DuplicateStepError(GraphError):
    """Two steps share an id, or a step id is also an input name.

    Attributes:
        step: The id used twice.

    Example:
        >>> str(DuplicateStepError("search")), str(DuplicateStepError("q", is_input=True))
        ("duplicate step id 'search'", "'q' is both a step and an input")
    """

    def __init__(self, step: str, *, is_input: bool = False) -> None:
        self.step = step
        self.is_input = is_input
        if is_input:
            super().__init__(f"{step!r} is both a step and an input")
        else:
            super().__init__(f"duplicate step id {step!r}")

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_duplicate, (self.step, self.is_input))


class InputError(RxStepsError, ValueError):
    """The inputs given to a run do not match the graph's declared inputs.

    Attributes:
        name: The missing or unknown input name.

    Example:
        >>> from rxsteps import InputError, Step, StepGraph, run
        >>> try:
        ...     run(StepGraph([Step("echo", lambda q: q, ["q"])], inputs=["q"]))
        ... except InputError as error:
        ...     print(error.name, "|", error)
        q | missing input 'q', needed by step 'echo'
    """

    def __init__(self, message: str, name: str) -> None:
        self.name = name
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.name))


class SchedulerError(RxStepsError, ValueError):
    """The scheduler asked for is unknown or cannot run a step graph.

    Example:
        >>> from reactivex.scheduler import ImmediateScheduler
        >>> from rxsteps import SchedulerError, Step, StepGraph, run
        >>> try:
        ...     run(StepGraph([Step("a", lambda: 1)]), scheduler=ImmediateScheduler())
        ... except SchedulerError as error:
        ...     print(str(error)[:48])
        ImmediateScheduler cannot run a step graph: it r
    """


class StepFailedError(RxStepsError):
    """A step failed and the run stopped (fail-fast).

    The step's own exception is ``__cause__``; the partial results are in ``result``.

    Attributes:
        step: The id of the step that failed.
        result: The run's :class:`~rxsteps.RunResult` so far, or ``None``.

    Example:
        >>> from rxsteps import Step, StepFailedError, StepGraph, run
        >>> def broken():
        ...     raise ConnectionError("down")
        >>> try:
        ...     run(StepGraph([Step("ok", lambda: 1), Step("tool", broken)]))
        ... except StepFailedError as error:
        ...     print(error.step, repr(error.__cause__), error.result.status["tool"].value)
        tool ConnectionError('down') failed
    """

    def __init__(self, step: str, error: BaseException, result: Any = None) -> None:
        self.step = step
        self.error = error
        self.result = result
        super().__init__(f"step {step!r} failed: {type(error).__name__}: {error}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.step, self.error, self.result))


class StepTimeoutError(RxStepsError, TimeoutError):
    """A step attempt ran longer than its ``timeout``.

    Attributes:
        step: The id of the step.
        timeout: The limit in seconds.
        attempt: The attempt that timed out, from 1.

    Example:
        >>> str(StepTimeoutError("fetch", 2.5, attempt=3))
        "step 'fetch' timed out after 2.5 s (attempt 3)"
    """

    def __init__(self, step: str, timeout: float, attempt: int = 1) -> None:
        self.step = step
        self.timeout = timeout
        self.attempt = attempt
        super().__init__(f"step {step!r} timed out after {timeout:g} s (attempt {attempt})")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.step, self.timeout, self.attempt))


class StepCancelledError(RxStepsError):
    """The run was cancelled while this step's action was running.

    Raised by :meth:`rxsteps.StepContext.raise_if_cancelled` inside an action.

    Attributes:
        step: The id of the cancelled step.

    Example:
        >>> str(StepCancelledError("crawl"))
        "step 'crawl' was cancelled"
    """

    def __init__(self, step: str) -> None:
        self.step = step
        super().__init__(f"step {step!r} was cancelled")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.step,))



class BufferOverflowError(RxStepsError, OverflowError):
    """A value arrived at a full input buffer of a pipeline with ``overflow="error"``.

    Attributes:
        name: The input whose buffer was full.
        buffer: Its capacity.

    Example:
        >>> str(BufferOverflowError("query", 10))
        "input 'query': 10 values already wait for a run slot (overflow='error')"
    """

    def __init__(self, name: str, buffer: int) -> None:
        self.name = name
        self.buffer = buffer
        super().__init__(
            f"input {name!r}: {buffer} values already wait for a run slot (overflow='error')"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.name, self.buffer))


def _rebuild_duplicate(step: str, is_input: bool) -> DuplicateStepError:
    return DuplicateStepError(step, is_input=is_input)
