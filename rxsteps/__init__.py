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
    ResourceError,
    RunChangedError,
    RunLockedError,
    RxStepsError,
    RxStepsWarning,
    SchedulerError,
    StepCancelledError,
    StepDefinitionError,
    StepFailedError,
    StepTimeoutError,
    StepTypeError,
    StoreError,
    StoreValueError,
    ZipWarning,
)
from .events import EventKind, StepEvent
from .execution.limits import Limiter, Rate
from .graph import StepGraph
from .handle import RunHandle, StepObservable
from .pipeline import pipeline
from .result import Attempt, RunResult, StepStatus, Wait
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
    "Limiter",
    "MapItemsFailedError",
    "MapTypeError",
    "MissingDependencyError",
    "OptionError",
    "OptionTypeError",
    "Rate",
    "ResourceError",
    "Retry",
    "Route",
    "RunChangedError",
    "RunHandle",
    "RunLockedError",
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
    "StoreError",
    "StoreValueError",
    "Wait",
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
