"""rxsteps: run the steps of an agent workflow in parallel, eagerly, on RxPY.

Each step starts the moment its own inputs exist, runs once however many dependents
it has, and streams every value as it happens. See :func:`run`, :func:`arun` and
:func:`observe`; build graphs with :class:`Step` and :class:`StepGraph`.

Example:
    >>> from rxsteps import Step, StepGraph, run
    >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a + 1, ["a"])])
    >>> run(graph)["b"]
    2
"""

from ._version import __version__
from .api import arun, observe, run, start
from .context import StepContext, current
from .errors import (
    BufferOverflowError,
    CapacityError,
    CycleError,
    DuplicateStepError,
    GraphError,
    InputError,
    MapItemsFailedError,
    MapTypeError,
    MissingDependencyError,
    OptionError,
    OptionTypeError,
    RxStepsError,
    RxStepsWarning,
    SchedulerError,
    StepCancelledError,
    StepDefinitionError,
    StepFailedError,
    StepTimeoutError,
    StepTypeError,
    ZipWarning,
)
from .events import EventKind, StepEvent
from .graph import StepGraph
from .handle import RunHandle, StepObservable
from .pipeline import pipeline
from .result import Attempt, RunResult, StepStatus
from .retry import Retry
from .routing import Route, routes
from .step import Step
from .streaming import apipeline, astream

__all__ = [
    "Attempt",
    "BufferOverflowError",
    "CapacityError",
    "CycleError",
    "DuplicateStepError",
    "EventKind",
    "GraphError",
    "InputError",
    "MapItemsFailedError",
    "MapTypeError",
    "MissingDependencyError",
    "OptionError",
    "OptionTypeError",
    "Retry",
    "Route",
    "RunHandle",
    "RunResult",
    "RxStepsError",
    "RxStepsWarning",
    "SchedulerError",
    "Step",
    "StepCancelledError",
    "StepContext",
    "StepDefinitionError",
    "StepEvent",
    "StepFailedError",
    "StepGraph",
    "StepObservable",
    "StepStatus",
    "StepTimeoutError",
    "StepTypeError",
    "ZipWarning",
    "__version__",
    "apipeline",
    "arun",
    "astream",
    "current",
    "observe",
    "pipeline",
    "routes",
    "run",
    "start",
]
