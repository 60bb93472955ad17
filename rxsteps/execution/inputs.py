"""Checking the inputs a run is given against the inputs its graph declares.

Example:
    >>> from rxsteps import Step, StepGraph
    >>> graph = StepGraph([Step("echo", lambda q: q, ["query"])], inputs=["query"])
    >>> check_inputs(graph, {"qery": "rx"})
    Traceback (most recent call last):
    ...
    rxsteps.errors.InputError: unknown input 'qery'; did you mean 'query'? \
(the graph declares 'query')
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from ..graph import StepGraph
from ..result import RunResult
from .limits import Limiter, check_uses

__all__ = ["check_inputs", "check_resume", "preflight"]


def check_inputs(graph: StepGraph, inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``inputs`` as a dict, or raise :class:`~rxsteps.InputError` naming the
    first unknown or missing input (and the steps that need a missing one)."""
    if inputs is not None and not isinstance(inputs, Mapping):
        raise InputError(
            f"inputs must be a mapping of input name to value, such as "
            f"{{'query': ...}}, got {type(inputs).__name__} {inputs!r}", "",
        )
    given = dict(inputs or {})
    declared = graph.inputs
    for name in given:
        if not isinstance(name, str):
            raise InputError(f"input names are strings; got {name!r} "
                             f"({type(name).__name__})", str(name))
        if name not in declared:
            close = difflib.get_close_matches(name, declared, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listed = ", ".join(map(repr, declared)) or "no inputs"
            raise InputError(f"unknown input {name!r}{hint} (the graph declares {listed})", name)
    for name in declared:
        if name not in given:
            users = [s.id for s in graph.values() if name in s.depends]
            needed = f", needed by step{'s' if len(users) != 1 else ''} " + ", ".join(
                map(repr, users)
            ) if users else ""
            raise InputError(f"missing input {name!r}{needed}", name)
    return given


def preflight(
    graph: StepGraph, inputs: Mapping[str, Any] | None, limiter: Limiter | None = None,
) -> dict[str, Any]:
    """Validate the graph, the inputs and the steps' ``uses`` against ``limiter``;
    return the inputs as a dict (a part of :func:`~.checks.check_run`)."""
    graph.validate()
    if limiter is not None:
        check_uses(graph, limiter)
    return check_inputs(graph, inputs)


def check_resume(graph: StepGraph, inputs: dict[str, Any], resume: RunResult) -> None:
    """Refuse to resume a result of another graph or of other inputs: its values were
    computed for those, and reusing them would be silently wrong."""
    unknown = [step for step in resume.status if step not in graph]
    if unknown:
        raise InputError(
            f"cannot resume: the result has step {unknown[0]!r}, which this graph lacks",
            unknown[0],
        )
    for name in inputs.keys() | resume.inputs.keys():
        try:
            same = name in inputs and name in resume.inputs and bool(
                inputs[name] == resume.inputs[name]
            )
        except Exception:  # values that do not compare (arrays…): trust the caller
            same = True
        if not same:
            raise InputError(
                f"cannot resume: input {name!r} differs from the one the result was "
                "computed with; run without resume= to start afresh",
                name,
            )
