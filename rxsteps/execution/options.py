"""The options every front door shares, checked once: :class:`RunOptions`.

``run``, ``arun``, ``observe``, ``start``, ``astream``, ``pipeline`` and the CLI take the
same options; each builds one :class:`RunOptions` from its own arguments
(:meth:`RunOptions.from_arguments`), which refuses bad values with an
:class:`~rxsteps.OptionError` naming the option before anything runs, and hands it to
:func:`rxsteps.execution.checks.check_run`, which checks the rest, and
:func:`rxsteps.execution.run.start_run`, the one function that starts a run.

Example:
    >>> RunOptions(max_concurrency=-1)
    Traceback (most recent call last):
    ...
    rxsteps.errors.OptionError: max_concurrency must be a positive int, got -1
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import OptionError, OptionTypeError
from ..events import StepEvent
from ..result import RunResult
from ..stores import SERIALIZERS
from .limits import PRIORITIES, Limiter, make_limiter

__all__ = ["RunOptions"]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What a run is asked to do besides its graph and inputs.

    Attributes:
        scheduler: Where actions run (see :mod:`rxsteps.backends.resolve`).
        fail_fast: Stop at the first failure (default) or skip only its dependents.
        max_concurrency: Most actions of the run running at once (``None``: no limit).
        on_event: Called with every event, serially, on a thread of its own.
        tracer_provider: An OpenTelemetry tracer provider (default: the global one).
        resume: An earlier result whose succeeded steps are reused.
        limits: Capacities of named resources (``{"llm": 4}``) or a shared
            :class:`~rxsteps.Limiter`.
        rates: Rate limits of named resources (``{"llm": "60/min"}``).
        priority: Which waiting step starts first when capacity is short:
            ``"critical"`` (longest remaining path) or ``"fifo"`` (first come).
        history: An earlier result whose measured durations weigh the priorities.
        limiter: The :class:`~rxsteps.Limiter` made of ``limits`` and ``rates`` (None:
            neither was given).
        store: Where the run is kept: a path (an SQLite file) or a
            :class:`~rxsteps.stores.Store` (see :mod:`rxsteps.execution.durable`).
        run_id: The run's id in ``store`` (a pipeline also takes a function of the
            event's inputs); the same id again resumes it.
        fresh: Forget what ``store`` keeps under ``run_id`` and start over.
        serializer: How values are stored: ``"pickle"`` (default) or ``"json"``.
    """

    scheduler: Any = "threads"
    fail_fast: bool = True
    max_concurrency: int | None = None
    on_event: Callable[[StepEvent], Any] | None = None
    tracer_provider: Any = None
    resume: RunResult | None = None
    limits: Mapping[str, int] | Limiter | None = None
    rates: Mapping[str, Any] | None = None
    priority: str = "critical"
    history: RunResult | None = None
    limiter: Limiter | None = field(init=False, default=None)
    store: Any = None
    run_id: str | Callable[[Mapping[str, Any]], str] | None = None
    fresh: bool = False
    serializer: str = "pickle"

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> RunOptions:
        """The options among a front door's ``arguments`` (its ``locals()``, taken
        first thing), so the list of options is written once, in its signature.

        Args:
            arguments: Argument name to value; the names that are not options (the
                graph, the inputs) are left out.

        Returns:
            The checked options.

        Raises:
            OptionError: A bad value, naming the option (see the class).

        Example:
            >>> def door(graph, *, fail_fast=True, max_concurrency=None):
            ...     return RunOptions.from_arguments(locals())
            >>> door("g", max_concurrency=2).max_concurrency
            2
        """
        return cls(**{name: arguments[name] for name in _OPTIONS if name in arguments})

    def __post_init__(self) -> None:
        limit = self.max_concurrency
        if limit is not None:
            wrong = OptionTypeError if isinstance(limit, bool) or not isinstance(limit, int) \
                else OptionError if limit < 1 else None
            if wrong is not None:
                raise wrong(f"max_concurrency must be a positive int, got {limit!r}",
                            "max_concurrency")
        if not isinstance(self.fail_fast, bool):
            raise OptionTypeError(f"fail_fast must be True or False, got {self.fail_fast!r}",
                                  "fail_fast")
        if self.on_event is not None and not callable(self.on_event):
            raise OptionTypeError(
                f"on_event must be a function taking a StepEvent, got {self.on_event!r}",
                "on_event",
            )
        if self.resume is not None and not isinstance(self.resume, RunResult):
            raise OptionError(
                f"resume must be the RunResult of an earlier run, got "
                f"{type(self.resume).__name__}", "resume",
            )
        if self.priority not in PRIORITIES:
            raise OptionError(f"priority must be one of {', '.join(map(repr, PRIORITIES))}, "
                              f"got {self.priority!r}", "priority")
        if self.history is not None and not isinstance(self.history, RunResult):
            raise OptionError(
                f"history must be the RunResult of an earlier run, got "
                f"{type(self.history).__name__}", "history",
            )
        object.__setattr__(self, "limiter", make_limiter(self.limits, self.rates))
        if self.store is not None or self.run_id is not None:
            _check_durable(self.store, self.run_id, self.serializer, self.fresh)
            if self.resume is not None:
                raise OptionError("pass resume= or store=, not both: a stored run resumes "
                                  "itself when run again with its run_id", "resume")


#: The names :meth:`RunOptions.from_arguments` takes: every field one may pass.
_OPTIONS = tuple(f.name for f in fields(RunOptions) if f.init)


def _check_durable(store: Any, run_id: Any, serializer: Any, fresh: Any) -> None:
    """Refuse a bad combination of the durable options (called by RunOptions)."""
    if store is None:
        if run_id is not None:
            raise OptionError("run_id= needs store= too (a path such as 'runs.db' or a "
                              "Store): without a store nothing is kept", "run_id")
        return
    if run_id is None or not (isinstance(run_id, str) or callable(run_id)) or run_id == "":
        raise OptionError(f"store= needs a run_id= (a non-empty str naming the run, such "
                          f"as 'order-1234'), got {run_id!r}", "run_id")
    if serializer not in SERIALIZERS:
        raise OptionError(f"serializer must be one of {', '.join(SERIALIZERS)}, got "
                          f"{serializer!r}", "serializer")
    if not isinstance(fresh, bool):
        raise OptionError(f"fresh must be True or False, got {fresh!r}", "fresh")
