"""The error hierarchy: what each error is, carries and says; errors pickle."""

from __future__ import annotations

import pickle

import pytest

import rxsteps
from rxsteps import (
    CycleError,
    DuplicateStepError,
    GraphError,
    InputError,
    MissingDependencyError,
    RxStepsError,
    SchedulerError,
    StepCancelledError,
    StepFailedError,
    StepTimeoutError,
)


@pytest.mark.parametrize(
    ("error", "bases"),
    [
        (GraphError, (RxStepsError, ValueError)),
        (CycleError, (GraphError,)),
        (MissingDependencyError, (GraphError,)),
        (DuplicateStepError, (GraphError,)),
        (InputError, (RxStepsError, ValueError)),
        (SchedulerError, (RxStepsError, ValueError)),
        (StepFailedError, (RxStepsError,)),
        (StepTimeoutError, (RxStepsError, TimeoutError)),
        (StepCancelledError, (RxStepsError,)),
    ],
)
def test_hierarchy(error: type, bases: tuple[type, ...]) -> None:
    assert all(issubclass(error, base) for base in bases)


@pytest.mark.parametrize(
    "error",
    [
        CycleError(["a", "b", "a"]),
        MissingDependencyError("a", "b", ["c"]),
        DuplicateStepError("a"),
        DuplicateStepError("q", is_input=True),
        InputError("missing input 'q'", "q"),
        StepFailedError("a", ValueError("x")),
        StepTimeoutError("a", 1.5, 2),
        StepCancelledError("a"),
    ],
)
def test_errors_pickle_with_their_message(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)


def test_messages() -> None:
    assert str(StepTimeoutError("a", 1.5, 2)) == "step 'a' timed out after 1.5 s (attempt 2)"
    assert str(StepFailedError("a", ValueError("x"))) == "step 'a' failed: ValueError: x"


def test_public_names_are_sorted_and_exported() -> None:
    assert rxsteps.__all__ == sorted(rxsteps.__all__)
    for name in rxsteps.__all__:
        assert hasattr(rxsteps, name)
