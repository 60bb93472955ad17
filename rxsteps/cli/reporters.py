"""Which progress reporter a command uses: JSON lines, a live table, or plain lines.

This module sits above :mod:`rxsteps.cli.progress` and :mod:`rxsteps.cli.live` (which
builds on it), so neither has to import the other to choose.

Example:
    >>> import io
    >>> from rxsteps import Step, StepGraph
    >>> type(make_reporter(StepGraph([Step("a", lambda: 1)]), io.StringIO(), start=0.0))
    <class 'rxsteps.cli.progress.PlainReporter'>
"""

from __future__ import annotations

from typing import IO

from ..graph import StepGraph
from .progress import JsonReporter, PlainReporter, Reporter

__all__ = ["make_reporter"]


def make_reporter(
    graph: StepGraph, stream: IO[str], *, start: float, json_lines: bool = False,
    live: bool | None = None,
) -> Reporter:
    """The reporter for a stream: JSON if asked, live on a terminal with rich, else plain.

    Args:
        graph: The graph being run.
        stream: Where to write.
        start: ``time.monotonic()`` at the run's start.
        json_lines: Write JSON lines.
        live: Force (``True``) or refuse (``False``) the live display; by default live
            when ``stream`` is a terminal and ``rich`` is installed.

    Returns:
        A :class:`~rxsteps.cli.progress.Reporter`.

    Example:
        >>> import io
        >>> from rxsteps import Step, StepGraph
        >>> graph = StepGraph([Step("a", lambda: 1)])
        >>> type(make_reporter(graph, io.StringIO(), start=0.0, json_lines=True)).__name__
        'JsonReporter'
    """
    if json_lines:
        return JsonReporter(graph, stream, start=start)
    if live is None:
        live = bool(getattr(stream, "isatty", lambda: False)())
    if live:
        try:
            from .live import LiveReporter
        except ImportError:  # rich is not installed: plain lines
            pass
        else:
            return LiveReporter(graph, stream, start=start)
    return PlainReporter(graph, stream, start=start)
