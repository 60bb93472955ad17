"""Every refusal before a run starts, in one function: :func:`check_run`.

A run is refused before anything runs when its graph is invalid, its inputs do not
match the graph's, a step uses a resource the limits cannot serve, the scheduler is
unknown or cannot run a graph, a caller would wait on a run nothing can advance, or a
step cannot execute on the chosen backend (a lambda for a process pool, a generator
shipped to another process, a mapped step whose items stay on a cluster). The options
themselves were checked when their :class:`~.options.RunOptions` was built.

:func:`~.run.start_run` calls :func:`check_run` before it builds a run; the front doors
that start later (:func:`rxsteps.observe`, :func:`rxsteps.astream`, a pipeline) and the
CLI call it at once as well, so a bad call fails where it was made. Nothing else
validates a run.

Example:
    >>> from concurrent.futures import ProcessPoolExecutor
    >>> from rxsteps import Step, StepGraph
    >>> from rxsteps.execution.options import RunOptions
    >>> with ProcessPoolExecutor(1) as pool:
    ...     check_run(StepGraph([Step("a", lambda: 1)]), None, RunOptions(scheduler=pool))
    Traceback (most recent call last):
    ...
    rxsteps.errors.SchedulerError: step 'a': its action cannot be pickled for the \
ProcessPoolExecutor backend: PicklingError: ...
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..backends.base import Backend
from ..backends.loops import running_loop
from ..backends.resolve import resolve_backend
from ..errors import SchedulerError
from ..graph import StepGraph
from .inputs import preflight
from .invoke import check_steps
from .options import RunOptions

__all__ = ["CheckedRun", "check_run"]


@dataclass(frozen=True, slots=True)
class CheckedRun:
    """What :func:`check_run` found a run needs.

    Attributes:
        inputs: The run's inputs, as a dict with one value per declared input.
        backend: Where the run executes.
    """

    inputs: dict[str, Any]
    backend: Backend


def check_run(
    graph: StepGraph,
    inputs: Mapping[str, Any] | None,
    options: RunOptions,
    *,
    backend: Backend | None = None,
    waits: bool = False,
) -> CheckedRun:
    """Check everything about a run of ``graph`` before it starts, and resolve its backend.

    The graph, the inputs and the steps' ``uses`` come first (:func:`~.inputs.preflight`),
    then the scheduler (:func:`~rxsteps.backends.resolve.resolve_backend`), then what
    the caller and each step ask of that backend.

    Args:
        graph: The steps.
        inputs: A value per declared input (a pipeline passes its observables).
        options: The run's checked options.
        backend: A backend already resolved from ``options.scheduler`` (a pipeline's
            runs share one); ``None`` resolves it here.
        waits: The caller blocks until the run ends (:func:`rxsteps.run`), so the
            backend must advance without it.

    Returns:
        The :class:`CheckedRun`: the inputs as a dict and the backend.

    Raises:
        GraphError: The graph is invalid.
        InputError: The inputs do not match the graph's.
        ResourceError: A step uses a resource the limits cannot serve.
        SchedulerError: The scheduler is unknown or cannot run a graph; a waiting
            caller on a virtual-time scheduler or on the loop its steps need; a step
            the backend cannot execute.
    """
    checked = preflight(graph, inputs, options.limiter)
    if backend is None:
        backend = resolve_backend(options.scheduler)
    if waits:
        _check_waitable(backend)
    check_steps(graph.steps_in_order(), backend)
    return CheckedRun(checked, backend)


def _check_waitable(backend: Backend) -> None:
    """Refuse to block on a run that cannot advance while the caller waits."""
    if backend.virtual:
        raise SchedulerError(
            "run() cannot wait on a virtual-time scheduler: nothing would advance its "
            "clock; use observe() and advance the scheduler"
        )
    if backend.loop is not None and running_loop() is backend.loop:
        raise SchedulerError(
            "run() would block the event loop its steps need; use 'await arun(...)'"
        )
