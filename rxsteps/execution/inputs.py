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

__all__ = ["check_inputs"]


def check_inputs(graph: StepGraph, inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``inputs`` as a dict, or raise :class:`~rxsteps.InputError` naming the
    first unknown or missing input (and the steps that need a missing one)."""
    given = dict(inputs or {})
    declared = graph.inputs
    for name in given:
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
