"""One palette and one vocabulary for every picture of a run: the DAG, the timeline,
their legends (and the example app's web page, which is built from them).

Every state a step (or an attempt) can be drawn in is a :class:`Style` here, under the
words the legends use. The strong colours are the Okabe-Ito palette, chosen to stay
apart for the common kinds of colour blindness; fills are tints of them, as far apart
(with simulated colour blindness too) as dark labels on them allow. No state relies on
colour alone: outlines are dashed or dotted for steps that did not run, timeline bars
of failed, timed-out and cancelled attempts carry their own hatch and end marker, and
DAG boxes that did not succeed say so in words on their second line.

========================  =======================================================
state                     when
========================  =======================================================
``succeeded``             the step finished with a value
``failed``                its action raised (the last attempt, in the timeline)
``timed out``             it failed because it ran out of time
``cancelled``             the run was cancelled while it waited or ran
``skipped``               a dependency failed or was skipped
``condition false``       skipped because its condition was false (status
                          ``skipped``, reason ``"condition false"``)
``not run``               it never finished (the run stopped first)
``running``, ``retrying``  live states, for pages that follow a run
``cached``                a marker: its value came from a cache, not a call
``waiting``               ready, but waiting for a resource or a rate-limit token
                          (a thin bar with horizontal hatching before its attempt)
========================  =======================================================

Example:
    >>> PALETTE["timed out"].edge, PALETTE["failed"].edge
    ('#E69F00', '#D55E00')
    >>> from rxsteps import Step, StepGraph, run
    >>> result = run(StepGraph([Step("a", lambda: 1)]))
    >>> state_of(result, "a")
    'succeeded'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..errors import StepTimeoutError
from ..result import CONDITION_FALSE

if TYPE_CHECKING:
    from ..result import RunResult

__all__ = [
    "CONDITION_FALSE",
    "CRITICAL_COLOR",
    "INPUT",
    "OUTCOMES",
    "PALETTE",
    "STEP",
    "Style",
    "state_of",
]

#: Outline and edge colour of the critical path, in every picture (Okabe-Ito black).
CRITICAL_COLOR = "#000000"


@dataclass(frozen=True)
class Style:
    """How one state is painted, and the words its legend entry uses.

    Attributes:
        label: The legend's words for it (the same in every picture).
        fill, edge, text: Fill, outline and label colours.
        dashes: ``"solid"``, ``"dashed"`` or ``"dotted"`` outline.
        hatch: Matplotlib hatch of a timeline bar in this state, or ``None``.
        marker: Marker at the end of a timeline bar (or on a DAG box, for
            ``cached``), or ``None``.

    Example:
        >>> PALETTE["skipped"].dashes
        'dashed'
    """

    label: str
    fill: str
    edge: str
    text: str = "#1f2933"
    dashes: Literal["solid", "dashed", "dotted"] = "solid"
    hatch: str | None = None
    marker: str | None = None


#: Every state by its legend words, in legend order.
PALETTE: dict[str, Style] = {
    "succeeded": Style("succeeded", "#8ad2bf", "#009E73"),
    "failed": Style("failed", "#ecb58a", "#D55E00", hatch="////", marker="X"),
    "timed out": Style("timed out", "#f4d38a", "#E69F00", hatch="xxx", marker="|"),
    "cancelled": Style("cancelled", "#ebc9dc", "#CC79A7", hatch="...", marker="s"),
    "skipped": Style("skipped", "#e8e8e8", "#5c5c5c", "#4d4d4d", "dashed"),
    "condition false": Style("condition false", "#d3ecf9", "#56B4E9", "#3d4f5c", "dotted"),
    "not run": Style("not run", "#ffffff", "#adb5bd", "#6c757d", "dashed"),
    "running": Style("running", "#f8f3aa", "#9e9400"),
    "retrying": Style("retrying", "#f8f3aa", "#D55E00", dashes="dashed"),
    "cached": Style("cached", "#8ad2bf", "#0072B2", marker="D"),
    "waiting": Style("waiting", "#dbe9f4", "#0072B2", hatch="---"),
}

#: A step of a graph drawn without a run.
STEP = Style("step", "#d1e5f1", "#0072B2")
#: A run input.
INPUT = Style("input", "#eceff4", "#5f6b7a", "#37414d")

#: The palette state of each :attr:`rxsteps.Attempt.outcome`.
OUTCOMES: dict[str, str] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "timeout": "timed out",
    "cancelled": "cancelled",
    "cached": "cached",
}


def state_of(result: RunResult, step: str) -> str:
    """The palette state of ``step`` in ``result``.

    Args:
        result: A run.
        step: One of its steps.

    Returns:
        A key of :data:`PALETTE`: ``timed out`` for a step that failed by a timeout,
        ``condition false`` for one its condition skipped, ``not run`` for one that
        never finished, else the status's own name.

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> graph = StepGraph([Step("a", lambda: 1 / 0), Step("b", lambda a: a, ["a"])])
        >>> result = run(graph, fail_fast=False)
        >>> state_of(result, "a"), state_of(result, "b")
        ('failed', 'skipped')
    """
    status = result.status.get(step)
    if status is None or not status.done:
        return "not run"
    if status.value == "failed" and isinstance(result.errors.get(step), StepTimeoutError):
        return "timed out"
    if status.value == "skipped" and result.reasons.get(step) == CONDITION_FALSE:
        return "condition false"
    return status.value
