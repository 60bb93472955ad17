"""Finding the step graph a command-line TARGET names.

A target is ``path/to/file.py:graph`` or ``package.module:graph`` (``:graph`` may be
left out; ``graph`` is the default). The attribute is a :class:`~rxsteps.StepGraph`
or a function of no arguments that returns one. A file is loaded as a fresh module,
with its folder on ``sys.path`` so its own imports work; a module is imported with the
current folder on ``sys.path``, as ``python -m`` does.

Everything that can go wrong becomes a :class:`TargetError` with one line that names
the file or module and the attribute — except an invalid graph, which raises its own
:class:`~rxsteps.GraphError` (say, ``cycle in step graph: a -> b -> a``).

Example:
    >>> graph = load_graph("rxsteps.cli.demo:build_graph")
    >>> graph.inputs
    ('question',)
    >>> load_graph("rxsteps.cli.demo:biuld_graph")
    Traceback (most recent call last):
    ...
    rxsteps.errors.TargetError: module 'rxsteps.cli.demo' has no attribute 'biuld_graph'; \
did you mean 'build_graph'?
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import GraphError, TargetError
from ..graph import StepGraph

__all__ = ["TargetError", "load_graph"]


def load_graph(target: str) -> StepGraph:
    """Load and validate the step graph that ``target`` names.

    Args:
        target: ``path/to/file.py:attribute`` or ``package.module:attribute``.

    Returns:
        The validated graph.

    Raises:
        TargetError: The file or module cannot be loaded, the attribute is missing,
            or it is not a graph (nor a function returning one).
        GraphError: The graph is invalid.

    Example:
        >>> len(load_graph("rxsteps.cli.demo:build_graph"))
        10
    """
    location, attribute = _split(target)
    is_file = _looks_like_file(location)
    module = _load_file(location) if is_file else _import(location)
    what = f"{'file' if is_file else 'module'} {location!r}"
    try:
        found = getattr(module, attribute)
    except AttributeError:
        hint = _hint(module, attribute)
        raise TargetError(f"{what} has no attribute {attribute!r}{hint}") from None
    if not isinstance(found, StepGraph) and callable(found):
        found = _guarded(lambda: found(), f"calling {location}:{attribute}() failed")
    if not isinstance(found, StepGraph):
        raise TargetError(
            f"{location}:{attribute} is a {type(found).__name__}, not a StepGraph "
            "(nor a function returning one)"
        )
    try:
        return found.validate()
    except TypeError as error:
        raise TargetError(str(error)) from None


def _split(target: str) -> tuple[str, str]:
    location, sep, attribute = target.rpartition(":")
    if not sep or (not attribute.isidentifier() and _looks_like_file(attribute)):
        location, attribute = target, "graph"  # no attribute given (or a Windows drive)
    if not location or not attribute.isidentifier():
        raise TargetError(
            f"target {target!r} should look like path/to/file.py:graph or package.module:graph"
        )
    return location, attribute


def _looks_like_file(location: str) -> bool:
    return location.endswith(".py") or "/" in location or os.sep in location


def _load_file(location: str) -> ModuleType:
    path = Path(location)
    if not path.is_file():
        raise TargetError(f"cannot load file {location!r}: no such file")
    name = "_rxsteps_target_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot load file {location!r}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    loader = spec.loader
    _guarded(lambda: loader.exec_module(module), f"cannot load file {location!r}")
    return module


def _import(location: str) -> ModuleType:
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module: ModuleType = _guarded(
            lambda: importlib.import_module(location), f"cannot import module {location!r}"
        )
    except TargetError as error:
        cause = error.__cause__
        if isinstance(cause, ModuleNotFoundError) and location.startswith(cause.name or "?"):
            raise TargetError(f"cannot import module {location!r}: no module named "
                              f"{cause.name!r}") from None
        raise
    return module


def _guarded(action: Any, context: str) -> Any:
    """Run user code; turn what it raises (but a GraphError) into one TargetError line."""
    try:
        return action()
    except GraphError:
        raise
    except (Exception, SystemExit) as error:
        text = " ".join(str(error).split())
        described = f"{type(error).__name__}: {text}" if text else type(error).__name__
        raise TargetError(f"{context}: {described}{_where(error)}") from error


def _where(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if "importlib" not in f.filename and not f.filename.startswith("<")]
    if not frames or Path(frames[-1].filename).resolve() == Path(__file__).resolve():
        return ""
    return f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})"


def _hint(module: ModuleType, attribute: str) -> str:
    graphs = [name for name, value in vars(module).items() if isinstance(value, StepGraph)]
    public = [name for name in vars(module) if not name.startswith("_")]
    close = difflib.get_close_matches(attribute, graphs + public, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    if graphs:
        return "; its step graphs: " + ", ".join(graphs)
    return ""
