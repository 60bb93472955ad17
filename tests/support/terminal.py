"""A fake terminal for the CLI's live display: what a screen shows after some output.

The live display redraws in place with cursor movements, so the text it writes is
not what a person sees; :func:`screen` plays it on a ``pyte`` terminal emulator and
returns the visible lines, :func:`frame` those of one redraw of a live display.
:class:`Terminal` is a text stream that says it is a terminal, so ``rich`` and
:func:`rxsteps.cli.reporters.make_reporter` treat it as one.
"""

from __future__ import annotations

import io
from typing import Any

import pyte
from rich.console import Console


class Terminal(io.StringIO):
    """A ``StringIO`` that is a terminal (``isatty()`` is true)."""

    def isatty(self) -> bool:
        return True


def console(stream: io.StringIO, *, columns: int = 100, lines: int = 40) -> Console:
    """A ``rich`` console drawing on ``stream`` as on a terminal of that size."""
    return Console(file=stream, width=columns, height=lines, force_terminal=True,
                   color_system="standard", highlight=False)


def screen(output: str, *, columns: int = 100, lines: int = 40) -> list[str]:
    """The lines a ``columns`` x ``lines`` terminal shows after ``output``, right-trimmed."""
    emulator = pyte.Screen(columns, lines)
    stream = pyte.Stream(emulator)
    stream.feed(output.replace("\n", "\r\n"))
    return [line.rstrip() for line in emulator.display]


def frame(reporter: Any, *, columns: int = 100, lines: int = 40) -> list[str]:
    """What one redraw of ``reporter`` (a live display: anything ``rich`` can print)
    shows on a terminal of that size."""
    out = io.StringIO()
    console(out, columns=columns, lines=lines).print(reporter)
    return screen(out.getvalue(), columns=columns, lines=lines)
