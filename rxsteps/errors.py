"""The exceptions rxsteps raises, and what each one carries.

Every error names what went wrong in its message and keeps the context in attributes,
so a program can react without parsing text. The hierarchy::

    RxStepsError
    ├── GraphError (ValueError) ─── the graph is invalid; nothing has run
    │   ├── CycleError ─────────── .cycle: the steps around the cycle, first repeated last
    │   ├── MissingDependencyError  .step, .missing, .suggestions
    │   ├── DuplicateStepError ──── .step
    │   └── StepDefinitionError ─── .step, .argument: a Step(...) argument that cannot work
    │       └── StepTypeError (TypeError)  the same, for an argument of the wrong type
    ├── InputError (ValueError) ─── run inputs do not match the declared ones
    ├── SchedulerError (ValueError) a scheduler that cannot work, or an unknown name
    ├── OptionError (ValueError) ── .option: a run or Retry option with a bad value
    │   ├── OptionTypeError (TypeError)  the same, for a value of the wrong type
    │   └── ResourceError ────────── .step, .resource: a step's ``uses`` that limits=
    │                               cannot serve
    ├── StepFailedError ─────────── .step, .result (the partial RunResult); __cause__ is
    │                               the step's own exception
    ├── StepTimeoutError (TimeoutError)  .step, .timeout, .attempt
    ├── MapTypeError (TypeError) ── .step, .dependency: map= over a value with no items
    ├── MapItemsFailedError (ExceptionGroup)  .step, .failed (indexes), .values: items
    │                               of a mapped step failed (fail_fast=False)
    ├── StepCancelledError ──────── raised by StepContext.raise_if_cancelled()
    ├── CapacityError (RuntimeError)  .cap, .threads, .abandoned: no worker thread left
    ├── BufferOverflowError (OverflowError)  .name, .buffer: a pipeline input overflowed
    ├── StoreError ──────────────── .store: a durable store (``store=``) refused or failed
    │   ├── StoreValueError (TypeError)  .step: a step's value cannot be serialised
    │   ├── RunChangedError (ValueError)  .run_id, .changed: graph or inputs differ from
    │   │                           the stored run's
    │   └── RunLockedError ──────── .run_id, .owner: another live process runs it now
    ├── UsageError (ValueError) ─── the CLI: a command line that cannot be carried out
    ├── RunsUsageError (ValueError)  the CLI: an ``rxsteps runs`` command line, the same
    ├── ResourceUsageError (ValueError)  .option, .resource: the CLI: a ``--limit`` or
    │                               ``--rate`` that cannot work
    └── TargetError ─────────────── the CLI: its target cannot be loaded, or is no graph

The command line's errors (the last four) are reported in one line; a usage error
exits with status 2.

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

import os
import pickle
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import FrameType

__all__ = [
    "BufferOverflowError",
    "CapacityError",
    "CycleError",
    "DuplicateStepError",
    "GraphError",
    "InputError",
    "MapItemsFailedError",
    "MapTypeError",
    "MissingDependencyError",
    "OptionError",
    "OptionTypeError",
    "ResourceError",
    "ResourceUsageError",
    "RunChangedError",
    "RunLockedError",
    "RunsUsageError",
    "RxStepsError",
    "RxStepsWarning",
    "SchedulerError",
    "StepCancelledError",
    "StepDefinitionError",
    "StepFailedError",
    "StepTimeoutError",
    "StepTypeError",
    "StoreError",
    "StoreValueError",
    "TargetError",
    "UsageError",
    "ZipWarning",
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


class StepDefinitionError(GraphError):
    """A ``Step(...)`` argument that cannot work.

    ``.step`` names the step and ``.argument`` the argument (``"timeout"``,
    ``"depends"``, ``"action"``…).

    Example:
        >>> from rxsteps import Step
        >>> Step("fetch", lambda: 1, timeout=float("nan"))
        Traceback (most recent call last):
        ...
        rxsteps.errors.StepDefinitionError: step 'fetch': timeout must be a positive \
number of seconds (math.inf for no limit), got nan
    """

    def __init__(self, message: str, step: str, argument: str) -> None:
        super().__init__(message)
        self.step, self.argument = step, argument

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.step, self.argument))


class StepTypeError(StepDefinitionError, TypeError):
    """A ``Step(...)`` argument of the wrong type (also a ``TypeError``).

    Example:
        >>> from rxsteps import Step
        >>> Step("merge", lambda a, b: a + b, depends={"a", "b"})
        Traceback (most recent call last):
        ...
        rxsteps.errors.StepTypeError: step 'merge': depends must be a list or tuple of \
names in the order the action takes them, got a set (which has no order)
    """


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


class OptionError(RxStepsError, ValueError):
    """A run or ``Retry`` option has a value that cannot work.

    ``.option`` names it (``"max_concurrency"``, ``"fail_fast"``, ``"backoff"``…).

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> run(StepGraph([Step("a", lambda: 1)]), max_concurrency=0)
        Traceback (most recent call last):
        ...
        rxsteps.errors.OptionError: max_concurrency must be a positive int, got 0
    """

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.option = option

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.option))


class OptionTypeError(OptionError, TypeError):
    """An option of the wrong type (also a ``TypeError``).

    Example:
        >>> from rxsteps import Retry
        >>> Retry(backoff="1")
        Traceback (most recent call last):
        ...
        rxsteps.errors.OptionTypeError: Retry: backoff must be a number of seconds, got '1'
    """


class ResourceError(OptionError):
    """A step's ``uses`` that the run's ``limits=`` cannot serve; nothing has run.

    The step uses a resource the limits do not name, or more units than its capacity.
    ``.step`` and ``.resource`` name them.

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> run(StepGraph([Step("ask", lambda: 1, uses="lmm")]), limits={"llm": 2})
        Traceback (most recent call last):
        ...
        rxsteps.errors.ResourceError: step 'ask' uses resource 'lmm', which limits= does \
not name (did you mean 'llm'? known: 'llm'); add it, e.g. limits={'lmm': 4}
    """

    def __init__(self, message: str, step: str, resource: str) -> None:
        super().__init__(message, "limits")
        self.step, self.resource = step, resource

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.step, self.resource))


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
        # the step's exception may not pickle (it holds a socket…): keep its repr then
        try:
            pickle.dumps(self.error)
            error = self.error
        except Exception:
            error = RuntimeError(f"{type(self.error).__name__}: {self.error}")
        return (_rebuild_failed, (type(self), self.step, error, self.result))


class MapTypeError(RxStepsError, TypeError):
    """A mapped step (``Step(..., map="docs")``) got a value it cannot map over.

    ``.step`` names the mapped step, ``.dependency`` the dependency it maps over; the
    step fails with this error, the value's own ``TypeError`` as its cause.

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> graph = StepGraph([Step("docs", lambda: 12),
        ...                    Step("sums", lambda d: d, ["docs"], map="docs")])
        >>> error = run(graph, fail_fast=False).errors["sums"]
        >>> error.step, error.dependency, str(error).split(", ")[1]
        ('sums', 'docs', 'whose value is an int')
    """

    def __init__(self, step: str, dependency: str, value: Any) -> None:
        kind = type(value).__name__
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        super().__init__(
            f"step {step!r} maps over dependency {dependency!r}, whose value is "
            f"{article} {kind}, not a list or other iterable of items"
        )
        self.step, self.dependency = step, dependency

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_map_type, (str(self), self.step, self.dependency))


def _rebuild_map_type(message: str, step: str, dependency: str) -> MapTypeError:
    error = MapTypeError.__new__(MapTypeError)
    Exception.__init__(error, message)
    error.step, error.dependency = step, dependency
    return error


class MapItemsFailedError(ExceptionGroup[Exception], RxStepsError):
    """Items of a mapped step failed, in a run with ``fail_fast=False``.

    The members are the items' exceptions, in item order, each with a note naming its
    index; ``.failed`` lists the indexes and ``.values`` the results of every item
    (``None`` where one failed), so the successful items' values are kept
    (:meth:`rxsteps.RunResult.partial`).

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> graph = StepGraph([Step("docs", lambda: [1, 0, 2]),
        ...                    Step("inv", lambda d: 1 / d, ["docs"], map="docs")])
        >>> result = run(graph, fail_fast=False)
        >>> result.errors["inv"].failed, result.partial("inv")
        ([1], [1.0, None, 0.5])
    """

    step: str
    failed: list[int]
    values: list[Any]

    def __new__(cls, step: str, errors: dict[int, Exception], values: list[Any]
                ) -> MapItemsFailedError:
        failed = sorted(errors)
        names = ", ".join(map(str, failed))
        count = len(values)
        self = super().__new__(
            cls, f"step {step!r}: {len(failed)} of {count} item{'s' * (count != 1)} "
            f"failed (index{'es' * (len(failed) != 1)} {names})",
            [errors[i] for i in failed],
        )
        self.step, self.failed, self.values = step, failed, values
        return self

    def __init__(self, step: str, errors: dict[int, Exception], values: list[Any]) -> None:
        super().__init__(self.message, self.exceptions)

    def derive(self, excs: Any) -> Any:
        """``split`` and ``subgroup`` give plain groups (their items are a subset)."""
        return ExceptionGroup(self.message, excs)

    def __reduce__(self) -> tuple[object, ...]:
        errors = dict(zip(self.failed, self.exceptions, strict=True))
        return (MapItemsFailedError, (self.step, errors, self.values))


class StepTimeoutError(RxStepsError, TimeoutError):
    """A step attempt ran longer than its ``timeout``.

    Attributes:
        step: The id of the step.
        timeout: The limit in seconds.
        attempt: The attempt that timed out, from 1.

        waited: What the attempt waited for when its timeout passed before it began
            (``"for a worker thread"``, ``"for a max_concurrency slot"``…), else None.

    The timeout covers the attempt from the moment it was due (queued), so an attempt
    that waited that long for a thread or a slot fails too, saying so.

    Example:
        >>> str(StepTimeoutError("fetch", 2.5, attempt=3))
        "step 'fetch' timed out after 2.5 s (attempt 3)"
        >>> str(StepTimeoutError("fetch", 2.5, waited="for a worker thread"))
        "step 'fetch' timed out after 2.5 s (attempt 1) waiting for a worker thread, \
without starting"
    """

    def __init__(self, step: str, timeout: float, attempt: int = 1,
                 waited: str | None = None) -> None:
        self.step = step
        self.timeout = timeout
        self.attempt = attempt
        self.waited = waited
        tail = "" if waited is None else f" waiting {waited}, without starting"
        super().__init__(f"step {step!r} timed out after {timeout:g} s (attempt {attempt}){tail}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.step, self.timeout, self.attempt, self.waited))


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



class CapacityError(RxStepsError, RuntimeError):
    """The process's worker threads reached their cap, so the run cannot go on.

    Threads stuck in actions that timed out keep their threads (Python cannot stop
    them); the pool replaces them while it may, and at the cap the run fails at once
    instead of waiting behind calls that may never return.

    Also raised when every ``max_concurrency`` slot of a run is held by such a call
    and steps with no timeout wait for a slot (``setting == "max_concurrency"``).

    Attributes:
        cap: ``RXSTEPS_MAX_THREADS`` (or ``max_concurrency``), the cap.
        threads: Threads alive when it was reached (slots, for ``max_concurrency``).
        abandoned: How many of them are stuck in actions the engine gave up on.
        setting: Which cap: ``"RXSTEPS_MAX_THREADS"`` or ``"max_concurrency"``.

    Example:
        >>> str(CapacityError(8, 8, 6)).split(";")[0]
        'rxsteps: all 8 worker threads are busy and RXSTEPS_MAX_THREADS=8 is reached'
    """

    result: Any = None
    """The partial :class:`~rxsteps.RunResult` of the run it ended, when it ended one."""

    def __init__(self, cap: int, threads: int, abandoned: int,
                 setting: str = "RXSTEPS_MAX_THREADS") -> None:
        if setting == "max_concurrency":
            message = (
                f"rxsteps: max_concurrency={cap} is reached and {abandoned} of the run's "
                "slots are held by calls that timed out and were abandoned; the steps "
                "queued without a timeout would wait for them forever. Give the calls a "
                "timeout of their own (an HTTP client's timeout), or raise max_concurrency"
            )
        else:
            message = (
                f"rxsteps: all {threads} worker threads are busy and {setting}={cap} "
                f"is reached; {abandoned} of them are stuck in actions that timed out and "
                "were abandoned. Give the calls a timeout of their own (an HTTP client's "
                "timeout), or raise RXSTEPS_MAX_THREADS"
            )
        super().__init__(message)
        self.cap, self.threads, self.abandoned = cap, threads, abandoned
        self.setting = setting

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.cap, self.threads, self.abandoned, self.setting))

    @classmethod
    def bad_setting(cls, raw: str) -> CapacityError:
        """The error for an ``RXSTEPS_MAX_THREADS`` that is not a positive integer."""
        error = cls.__new__(cls)
        RxStepsError.__init__(
            error, f"RXSTEPS_MAX_THREADS must be a positive integer, got {raw!r}"
        )
        error.cap, error.threads, error.abandoned = 0, 0, 0
        error.setting = "RXSTEPS_MAX_THREADS"
        return error


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


class StoreError(RxStepsError):
    """A durable store (``store=``) cannot be opened, read or written.

    ``.store`` describes the store (a path or a DSN without its password). The
    message says what failed and what to do; the database error is ``__cause__``.

    Example:
        >>> str(StoreError("store 'runs.db' is not an rxsteps database", "runs.db"))
        "store 'runs.db' is not an rxsteps database"
    """

    def __init__(self, message: str, store: str = "") -> None:
        super().__init__(message)
        self.store = store

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.store))


class StoreValueError(StoreError, TypeError):
    """A step produced a value its run's store cannot serialise; the step fails.

    Attributes:
        step: The step whose value it was.

    Example:
        >>> str(StoreValueError("step 'a': cannot serialise ...", "runs.db", "a"))
        "step 'a': cannot serialise ..."
    """

    def __init__(self, message: str, store: str = "", step: str = "") -> None:
        super().__init__(message, store)
        self.step = step

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.store, self.step))


class RunChangedError(StoreError, ValueError):
    """A stored run is resumed with another graph or other inputs.

    Attributes:
        run_id: The run.
        changed: What differs, such as ``["step 'c' added", "input 'query'"]``.

    Example:
        >>> str(RunChangedError("run 'r1' ... changed", "runs.db", "r1", ["input 'q'"]))
        "run 'r1' ... changed"
    """

    def __init__(self, message: str, store: str = "", run_id: str = "",
                 changed: Sequence[str] = ()) -> None:
        super().__init__(message, store)
        self.run_id = run_id
        self.changed = list(changed)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.store, self.run_id, self.changed))


class RunLockedError(StoreError):
    """Another live process (or another run in this one) holds the stored run.

    Attributes:
        run_id: The run.
        owner: Who holds it (``host:pid:token``).

    Example:
        >>> str(RunLockedError("run 'r1' is running elsewhere", "runs.db", "r1", "h:1:x"))
        "run 'r1' is running elsewhere"
    """

    def __init__(self, message: str, store: str = "", run_id: str = "",
                 owner: str = "") -> None:
        super().__init__(message, store)
        self.run_id = run_id
        self.owner = owner

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.store, self.run_id, self.owner))


class UsageError(RxStepsError, ValueError):
    """A command line of ``rxsteps`` that cannot be carried out; reported in one line,
    exit 2 (raised by :mod:`rxsteps.cli`, which keeps the name importable).

    Example:
        >>> str(UsageError("--input expects name=value, got 'oops'"))
        "--input expects name=value, got 'oops'"
    """


class RunsUsageError(RxStepsError, ValueError):
    """An ``rxsteps runs`` command line that cannot be carried out (exit 2).

    Example:
        >>> isinstance(RunsUsageError("rxsteps runs: ..."), ValueError)
        True
    """


class ResourceUsageError(RxStepsError, ValueError):
    """A ``--limit`` or ``--rate`` that cannot work; reported in one line, exit 2.

    Attributes:
        option: ``"--limit"`` or ``"--rate"``.
        resource: The resource's name, or ``None`` when the text has no name.

    Example:
        >>> error = ResourceUsageError("--limit llm=0: the capacity must be ...",
        ...                            "--limit", "llm")
        >>> error.option, error.resource
        ('--limit', 'llm')
    """

    def __init__(self, message: str, option: str, resource: str | None) -> None:
        super().__init__(message)
        self.option = option
        self.resource = resource

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.option, self.resource))


class TargetError(RxStepsError):
    """The CLI's target cannot be loaded, or is not a step graph; the message is one line.

    Example:
        >>> str(TargetError("cannot load file 'x.py': no such file"))
        "cannot load file 'x.py': no such file"
    """


def _rebuild_failed(
    cls: type[StepFailedError], step: str, error: BaseException, result: Any
) -> StepFailedError:
    failure = cls(step, error, result)
    failure.__cause__ = error
    if result is not None:
        result.failure = failure  # the result's pickle leaves it out (they refer to each other)
    return failure


def _rebuild_duplicate(step: str, is_input: bool) -> DuplicateStepError:
    return DuplicateStepError(step, is_input=is_input)


class RxStepsWarning(UserWarning):
    """Base class of the warnings rxsteps gives (filter them with ``warnings``).

    Attributes:
        (none: the message says what and how to fix it)

    Example:
        >>> import warnings
        >>> warnings.simplefilter("error", RxStepsWarning)
        >>> warnings.resetwarnings()
    """


class ZipWarning(RxStepsWarning):
    """A ``join="zip"`` step pairs a stream with a single value.

    All but the first value of the stream would be dropped without a word, so this is
    given once per graph, when it is validated; the message points to ``latest`` and
    ``collect``.

    Attributes:
        (none: the message names the step and both dependencies)

    Example:
        >>> import warnings
        >>> from rxsteps import Step, StepGraph
        >>> def tokens():
        ...     yield from "abc"
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     _ = StepGraph([Step("t", tokens), Step("n", lambda: 1),
        ...                    Step("pair", lambda t, n: t * n, ["t", "n"])])
        >>> caught[0].category.__name__
        'ZipWarning'
    """


def stacklevel_outside_package() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside rxsteps, so
    it names the user's line (``StepGraph(...)``, ``run(...)`` or ``graph.draw(...)``)
    however deep inside the package it was raised. Call it in the ``warnings.warn``
    call itself.

    Example:
        >>> stacklevel_outside_package()  # called from outside rxsteps: this frame
        1
    """
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level
