"""The error hierarchy: what each error is, carries and says; errors pickle."""

from __future__ import annotations

import contextlib
import importlib
import pickle
import pkgutil
import re
from pathlib import Path

import pytest

import rxsteps
import rxsteps.errors
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
from rxsteps.errors import ResourceUsageError, RunsUsageError, TargetError, UsageError


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


# -- one hierarchy, drawn twice ------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
_BRANCH = re.compile(r"^(?P<indent>(?:│   |    )*)(?:├── |└── )(?P<name>\w+)")


def _drawn(tree: str) -> dict[str, str]:
    """Each class of a drawn hierarchy with its parent, read from the indentation."""
    lines = tree.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "RxStepsError")
    margin = lines[start].index("RxStepsError")  # the docstring indents its drawing
    parents: dict[str, str] = {}
    path = ["RxStepsError"]
    for line in lines[start + 1:]:
        if not line.strip() or line.strip().startswith("```"):
            break
        match = _BRANCH.match(line[margin:])
        if match is None:
            continue  # a description's second line
        depth = len(match["indent"]) // 4 + 1
        del path[depth:]
        parents[match["name"]] = path[-1]
        path.append(match["name"])
    return parents


def _every_subclass(cls: type) -> dict[str, str]:
    found: dict[str, str] = {}
    for sub in cls.__subclasses__():
        parent = next(base for base in sub.__bases__ if issubclass(base, RxStepsError))
        found[sub.__name__] = parent.__name__
        found.update(_every_subclass(sub))
    return found


def _import_every_module() -> None:
    for module in pkgutil.walk_packages(rxsteps.__path__, "rxsteps."):
        with contextlib.suppress(ImportError):  # an optional dependency
            importlib.import_module(module.name)


def test_every_error_lives_in_the_errors_module() -> None:
    _import_every_module()
    homes = {sub.__name__: sub.__module__ for sub in _all_subclasses(RxStepsError)}
    assert {name: home for name, home in homes.items() if home != "rxsteps.errors"} == {}


def _all_subclasses(cls: type) -> list[type]:
    subs = cls.__subclasses__()
    return [found for sub in subs for found in (sub, *_all_subclasses(sub))]


@pytest.mark.parametrize("where", ["rxsteps/errors.py", "docs/reference.md"])
def test_the_drawn_hierarchy_is_the_real_one(where: str) -> None:
    _import_every_module()
    text = (ROOT / where).read_text(encoding="utf-8")
    real = {name: parent for name, parent in _every_subclass(RxStepsError).items()
            if getattr(rxsteps.errors, name, None) is not None}
    assert _drawn(text) == real


def test_the_tree_reader_itself() -> None:
    tree = "RxStepsError\n├── A ── text\n│   └── B  text\n│            more text\n└── C\n```"
    assert _drawn(tree) == {"A": "RxStepsError", "B": "A", "C": "RxStepsError"}
    indented = "\n".join("  " + line for line in tree.splitlines())
    assert _drawn(indented) == _drawn(tree)


@pytest.mark.parametrize("error", [
    UsageError("--input expects name=value, got 'oops'"),
    RunsUsageError("rxsteps runs: ..."),
    ResourceUsageError("--limit llm=0: ...", "--limit", "llm"),
    TargetError("cannot load file 'x.py': no such file"),
])
def test_the_command_lines_errors_pickle_with_what_they_carry(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_the_command_line_keeps_its_error_names() -> None:
    from rxsteps.cli import commands, resources, runs, target

    assert (commands.UsageError, runs.RunsUsageError, resources.ResourceUsageError,
            target.TargetError) == (UsageError, RunsUsageError, ResourceUsageError,
                                    TargetError)
