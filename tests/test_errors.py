"""The error hierarchy: what each error is, carries and says; errors pickle; refusals
are rxsteps errors that name the argument and the fix, never plain built-in ones."""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import math
import pickle
import pkgutil
import re
import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import rxsteps
import rxsteps.errors
from rxsteps import (
    CycleError,
    DuplicateStepError,
    GraphError,
    InputError,
    MissingDependencyError,
    OptionError,
    OptionTypeError,
    RxStepsError,
    SchedulerError,
    Step,
    StepCancelledError,
    StepDefinitionError,
    StepFailedError,
    StepGraph,
    StepTimeoutError,
    StepTypeError,
    routes,
    run,
)
from rxsteps.errors import ResourceUsageError, RunsUsageError, TargetError, UsageError

PACKAGE = Path(rxsteps.__file__).resolve().parent


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


# -- refusals are rxsteps errors ----------------------------------------------------------


def _dask_gather() -> None:
    from rxsteps.backends.dask import DaskBackend

    DaskBackend(None, gather="all")  # type: ignore[arg-type]  # checked before the client


def _draw(path: str) -> Callable[[], object]:
    return lambda: StepGraph([Step("a", lambda: 1)]).draw(path)


def _timeline(path: str) -> Callable[[], object]:
    return lambda: run(StepGraph([Step("a", lambda: 1)])).timeline(path)


def _save(target: Any, format: str | None = None) -> Callable[[], object]:
    from matplotlib.figure import Figure

    from rxsteps.pictures.figures import save_figure

    return lambda: save_figure(Figure(), target, format=format)


def _durations(durations: dict[str, Any]) -> Callable[[], object]:
    return lambda: StepGraph([Step("a", lambda: 1)]).critical_path(durations)


def _detached_axes() -> None:
    from rxsteps.pictures.figures import figure_of

    figure_of(types.SimpleNamespace(get_figure=lambda: None))  # type: ignore[arg-type]


REFUSALS = [
    pytest.param(lambda: run(StepGraph([Step("a", lambda: 1)]), max_concurrency="2"),
                 OptionTypeError, TypeError, "max_concurrency",
                 "max_concurrency must be a positive int, got '2'", id="max_concurrency-str"),
    pytest.param(lambda: run(StepGraph([Step("a", lambda: 1)]), fail_fast="yes"),
                 OptionTypeError, TypeError, "fail_fast",
                 "fail_fast must be True or False, got 'yes'", id="fail_fast-str"),
    pytest.param(lambda: run(StepGraph([Step("a", lambda: 1)]), on_event=3),
                 OptionTypeError, TypeError, "on_event",
                 "on_event must be a function taking a StepEvent, got 3", id="on_event-int"),
    pytest.param(lambda: StepGraph(inputs="q"), OptionTypeError, TypeError, "inputs",
                 "StepGraph: inputs must be a list of names, got the string 'q'; write "
                 "inputs=['q']", id="StepGraph-inputs-string"),
    pytest.param(lambda: StepGraph([Step("a", str, ["q"])], inputs=["q", None]),
                 OptionTypeError, TypeError, "inputs",
                 "StepGraph: an input name must be a non-empty string, got None; give each "
                 "a name, such as inputs=['query']", id="StepGraph-input-None"),
    pytest.param(lambda: StepGraph(inputs=[""]), OptionTypeError, TypeError, "inputs",
                 "StepGraph: an input name must be a non-empty string, got ''; give each "
                 "a name, such as inputs=['query']", id="StepGraph-input-empty"),
    pytest.param(lambda: StepGraph([("b", print)]), OptionTypeError, TypeError, "steps",
                 "StepGraph: expected a Step, got tuple; wrap a function in "
                 "Step('name', function)", id="StepGraph-not-a-Step"),
    pytest.param(lambda: StepGraph().add(print), OptionTypeError, TypeError, "steps",
                 "StepGraph: expected a Step, got builtin_function_or_method; wrap a "
                 "function in Step('name', function)", id="add-not-a-Step"),
    pytest.param(_draw("x.jpg"), OptionError, ValueError, "path",
                 "cannot write 'x.jpg': pictures are PNG, SVG or PDF; give the path a .png, "
                 ".svg or .pdf extension", id="draw-jpg"),
    pytest.param(_timeline("run.gif"), OptionError, ValueError, "path",
                 "cannot write 'run.gif': pictures are PNG, SVG or PDF; give the path a "
                 ".png, .svg or .pdf extension", id="timeline-gif"),
    pytest.param(_save(io.BytesIO()), OptionError, ValueError, "format",
                 "save_figure needs format= ('png', 'svg' or 'pdf') to write to a file "
                 "object", id="save-file-object"),
    pytest.param(_save("x.png", "jpg"), OptionError, ValueError, "format",
                 "cannot write format 'jpg': use format='png', 'svg' or 'pdf'",
                 id="save-format"),
    pytest.param(_detached_axes, OptionError, ValueError, "ax",
                 "ax: the axes belong to no figure; pass axes of one (figure.add_subplot())",
                 id="axes-without-figure"),
    pytest.param(_durations({"nope": 1}), OptionError, ValueError, "durations",
                 "durations name unknown steps: 'nope'; give seconds only for the graph's "
                 "steps", id="durations-unknown"),
    pytest.param(_durations({"a": -1}), OptionError, ValueError, "durations",
                 "duration of step 'a' must be a finite number >= 0, got -1",
                 id="durations-negative"),
    pytest.param(_durations({"a": "1"}), OptionTypeError, TypeError, "durations",
                 "duration of step 'a' must be a finite number >= 0, got '1'",
                 id="durations-string"),
    pytest.param(lambda: routes("router"), OptionTypeError, TypeError, "names",
                 "routes('router', ...) needs the router's step id and at least one route "
                 "name, all strings; got names ()", id="routes-no-name"),
    pytest.param(_dask_gather, OptionError, ValueError, "gather",
                 "gather must be one of 'result', 'outputs', 'events', 'none', got 'all'",
                 id="dask-gather"),
]


@pytest.mark.parametrize(("refused", "error", "builtin", "option", "message"), REFUSALS)
def test_refusals_are_rxsteps_errors_that_name_the_argument(
        refused: Callable[[], object], error: type[OptionError], builtin: type[Exception],
        option: str, message: str) -> None:
    with pytest.raises(error, match=f"^{re.escape(message)}$") as caught:
        refused()
    assert isinstance(caught.value, RxStepsError) and isinstance(caught.value, builtin)
    assert caught.value.option == option


@pytest.mark.parametrize(("timeout", "error"), [
    ("5", StepTypeError), (True, StepTypeError), ([5], StepTypeError),
    (0, StepDefinitionError), (math.nan, StepDefinitionError),
])
def test_a_timeout_of_the_wrong_type_is_a_type_error(timeout: Any, error: type) -> None:
    with pytest.raises(error) as caught:
        Step("fetch", print, timeout=timeout)
    assert type(caught.value) is error and caught.value.argument == "timeout"
    assert str(caught.value) == ("step 'fetch': timeout must be a positive number of seconds "
                                 f"(math.inf for no limit), got {timeout!r}")


#: ``"rxsteps/file.py:line"`` of a ``raise ValueError``/``TypeError`` that is right as
#: it is, and why: none yet.
BUILTIN_RAISES_ALLOWED: dict[str, str] = {}


def _builtin_raises(source: str) -> list[int]:
    """The lines of each ``raise ValueError(...)``/``raise TypeError(...)`` in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if isinstance(target, ast.Name) and target.id in ("ValueError", "TypeError"):
            found.append(node.lineno)
    return sorted(found)


def test_rxsteps_raises_no_plain_value_or_type_errors() -> None:
    # every refusal is an RxStepsError (catchable as one), most also a ValueError or
    # TypeError; a plain built-in one says nothing a program can react to
    files = sorted(PACKAGE.rglob("*.py"))
    found = [f"{path.relative_to(PACKAGE.parent).as_posix()}:{line}" for path in files
             for line in _builtin_raises(path.read_text(encoding="utf-8"))]
    assert [where for where in found if where not in BUILTIN_RAISES_ALLOWED] == []


def test_the_walk_finds_plain_raises_and_nothing_else() -> None:
    source = textwrap.dedent("""\
        def f(x):
            if x:
                raise ValueError("no")
            raise TypeError
        def g():
            raise OptionError("no", "x") from ValueError("cause")
        """)
    assert _builtin_raises(source) == [3, 4]


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
