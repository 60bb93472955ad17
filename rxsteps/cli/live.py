"""The live progress display of ``rxsteps run`` on a terminal, drawn with ``rich``.

A table with a row per step — state icon (a spinner while it runs), id, state,
elapsed time, and what is worth knowing (attempt number, the values a streaming step
has emitted so far, the end of its text, the error or the reason it was skipped) —
above a footer that gives what ``tqdm`` and ``rich``'s own progress bars give: a bar,
the percentage, steps done of the total, the elapsed time, the rate and an estimate of
the time left. It redraws ten times a second from the reporter's state.

The clock is the reporter's (:meth:`rxsteps.cli.progress.Reporter.clock`): it stops
when the run ends, so the last frame and the summary line say the same duration.
When there are more steps than the terminal has lines, the running and failed steps
come first, then the most recently finished, then the next pending ones, then one
``+N more`` line; the footer is always shown. After Ctrl-C the last frame shows which
steps were cancelled while running.

``rich`` is optional (the cli extra: ``pip install -e '.[cli]'`` in a clone):
importing this module without it raises ``ImportError``, and
:func:`rxsteps.cli.reporters.make_reporter` falls back to plain lines.

Example:
    >>> import io
    >>> from rxsteps import Step, StepGraph, run
    >>> out = io.StringIO()
    >>> reporter = LiveReporter(StepGraph([Step("a", lambda: 1)]), out, start=0.0)
    >>> reporter.open()
    >>> result = run(reporter.graph, on_event=reporter.on_event)
    >>> reporter.close(result)
    >>> "1/1 steps" in out.getvalue()
    True
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from ..graph import StepGraph
from ..result import CONDITION_FALSE
from .progress import FROM_STORE, Reporter
from .values import one_line, stream_text

if TYPE_CHECKING:
    from ..result import RunResult

__all__ = ["LiveReporter", "estimate"]

_ICONS = {
    "pending": ("·", "dim"),
    "waiting": ("⧗", "blue"),
    "retrying": ("↻", "dark_orange"),
    "succeeded": ("✓", "green"),
    "failed": ("✗", "bold red"),
    "skipped": ("−", "dim"),
    "cancelled": ("⊘", "yellow"),
    CONDITION_FALSE: ("○", "blue"),  # skipped by its condition: a branch not taken
}
_STATE_STYLES = {"running": "yellow", "retrying": "dark_orange", "failed": "red",
                 "waiting": "blue",
                 "succeeded": "green", "skipped": "dim", "cancelled": "yellow", "pending": "dim",
                 CONDITION_FALSE: "blue"}
_NAME_WIDTH = 40
_FIXED_WIDTH = 27  # the icon, state and time columns and the padding of every column


def estimate(done: int, total: int, seconds: float) -> tuple[float | None, float | None]:
    """The rate (steps a second) and the seconds left, as ``tqdm`` estimates them.

    The rate is the average so far (``tqdm`` with ``smoothing=0``): a step graph
    finishes steps in bursts, so the average is steadier than an instantaneous rate.

    Args:
        done: Steps finished.
        total: Steps in the run.
        seconds: Seconds since the run started.

    Returns:
        ``(rate, left)``; ``None`` for what cannot be known yet (nothing finished).

    Example:
        >>> estimate(4, 10, 2.0)
        (2.0, 3.0)
        >>> estimate(0, 10, 2.0)
        (None, None)
    """
    if done <= 0 or seconds <= 0:
        return None, None
    rate = done / seconds
    return rate, max(total - done, 0) / rate


class LiveReporter(Reporter):
    """A live table of every step's state and time, above a progress footer.

    Args:
        graph: The graph being run.
        stream: The terminal to draw on.
        start: ``time.monotonic()`` when the run was started.
        console: The ``rich`` console to draw with (default: one on ``stream``).

    Example:
        >>> import io
        >>> from rxsteps import Step, StepGraph
        >>> reporter = LiveReporter(StepGraph([Step("a", lambda: 1)]), io.StringIO(), start=0.0)
        >>> reporter.state
        {'a': 'pending'}
    """

    def __init__(self, graph: StepGraph, stream: IO[str], *, start: float,
                 console: Console | None = None) -> None:
        super().__init__(graph, stream, start=start)
        self.console = console or Console(file=stream, highlight=False)
        self._spinners: dict[str, Spinner] = {}
        self._live = Live(console=self.console, refresh_per_second=10, transient=False,
                          get_renderable=lambda: self, redirect_stdout=False,
                          redirect_stderr=False)

    def open(self) -> None:
        """Start redrawing, ten times a second, until :meth:`close` (see the module
        example)."""
        self._live.start(refresh=True)

    def close(self, result: RunResult | None) -> None:
        """Stop the clock, draw the final state, stop redrawing, print the summary.

        Args:
            result: The finished run, or ``None`` if it was interrupted.
        """
        super().close(result)
        self._live.refresh()
        self._live.stop()
        failed = result is None or bool(result.errors)
        self.console.print(Text(self.summary(result), style="bold red" if failed
                                else "bold green"), soft_wrap=True)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Draw :meth:`render` fitted to the console drawn on (``console.print(reporter)``)."""
        yield self.render(options.max_width, options.height or console.height)

    def render(self, width: int | None = None, height: int | None = None) -> RenderableType:
        """The table and the footer, as they are now, fitted to a terminal.

        Args:
            width: The columns to fit in (default: the reporter's console's).
            height: The lines to fit in (default: the reporter's console's).

        Returns:
            A ``rich`` renderable.

        Example:
            >>> import io
            >>> from rich.console import Console
            >>> from rxsteps import Step, StepGraph
            >>> reporter = LiveReporter(StepGraph([Step("a", lambda: 1)]), io.StringIO(), start=0)
            >>> console = Console(file=io.StringIO(), width=60, color_system=None)
            >>> console.print(reporter)
            >>> "0/1 steps" in console.file.getvalue()
            True
        """
        width = self.console.width if width is None else width
        height = self.console.height if height is None else height
        with self.lock:
            seconds = self.clock()
            table = Table(box=None, padding=(0, 1), header_style="bold dim", expand=False)
            table.add_column("", width=1, no_wrap=True)
            name = min(max((len(step) for step in self.state), default=4), _NAME_WIDTH)
            table.add_column("step", no_wrap=True, overflow="ellipsis", min_width=name,
                             max_width=_NAME_WIDTH)
            table.add_column("state", no_wrap=True, min_width=9)
            table.add_column("time", justify="right", no_wrap=True, min_width=7)
            room = max(width - name - _FIXED_WIDTH, 10)
            table.add_column("", no_wrap=True, overflow="ellipsis", max_width=room)
            shown, more = self.rows(max(height - 3, 2))
            for step in shown:
                table.add_row(*self._row(step, room))
            footer = self._footer(seconds, width)
        if more:  # under the table, not in it: its column keeps the width of the names
            return Group(table, Text(f"    {more}", style="dim", no_wrap=True,
                                     overflow="ellipsis"), footer)
        return Group(table, footer)

    def _footer(self, seconds: float, width: int) -> RenderableType:
        total, done = len(self.state), self.done
        ended = self.ended is not None
        parts = [f"{100 * done // max(total, 1):3d}%", f"{done}/{total} steps",
                 f"{seconds:.3f} s" if ended else f"{seconds:.1f} s"]
        rate, left = estimate(done, total, seconds)
        if self.interrupted or (ended and done < total):
            parts.append("interrupted")
        elif not ended:
            parts.append("? left" if left is None else f"~{left:.1f} s left")
        if rate is not None:
            parts.append(f"{rate:.1f} steps/s")
        footer = Table.grid(padding=(0, 1))
        footer.add_row(
            ProgressBar(total=max(total, 1), completed=done,
                        width=max(min(30, width // 4), 5)),
            Text(" · ".join(parts), style="bold", no_wrap=True, overflow="ellipsis"),
        )
        return footer

    def _row(self, step: str, room: int) -> tuple[RenderableType, ...]:
        state = self.state[step]
        if state == "running":
            icon: RenderableType = self._spinners.setdefault(
                step, Spinner("dots", style="yellow")
            )
        else:
            if state == "skipped" and self.note.get(step) == CONDITION_FALSE:
                state = CONDITION_FALSE  # its own icon and colour; the note says it too
            char, style = _ICONS[state]
            icon = Text(char, style=style)
        seconds = f"{self.elapsed(step, self.ended):.2f}s" if step in self.began else ""
        shown = "skipped" if state == CONDITION_FALSE else state
        return (icon, Text(step), Text(shown, style=_STATE_STYLES[state]),
                Text(seconds, style="cyan"), Text(self._detail(step, room), style="dim"))

    def _detail(self, step: str, room: int) -> str:
        state, attempt = self.state[step], self.attempt.get(step, 1)
        parts = []
        if state == "running" and attempt > 1:
            parts.append(f"attempt {attempt}, after {self.note.get(step, 'a failure')}")
        elif state == "retrying":
            parts.append(f"retrying after {self.note.get(step, 'a failure')}")
        elif state == "waiting":
            parts.append(self.note.get(step, "waiting"))
        elif state == "succeeded" and self.note.get(step) in FROM_STORE:
            parts.append(self.note[step])  # "cached" or "resumed": not called this time
        elif state == "succeeded" and attempt > 1:
            parts.append(f"{attempt} attempts")
        elif state != "succeeded" and step in self.note:
            parts.append(self.note[step])
        count = self.emitted.get(step, 0)
        if count > 1 or (count and self.streams(step)):
            parts.insert(0, f"{count} value{'s' * (count != 1)}")
        text = " · ".join(parts)
        values = self.values.get(step)
        if state == "running" and values:  # the newest part of the stream, as it comes
            shown = stream_text(values)
            tail = shown if shown is not None else repr(values[-1])
            text += " · " + one_line(tail, room - len(text) - 3, keep_end=True)
        return text

    def rows(self, room: int) -> tuple[list[str], str]:
        """The steps to show, in order, and the ``+N more`` line (``""`` if none).

        Everything, in graph order, when it fits in ``room`` lines. Else first the
        running and retrying steps, the failed ones and those cancelled while running;
        then, as room allows and in graph order, the three most recently finished, the
        next pending and the other finished; then a line counting the rest.

        Args:
            room: The most lines the rows may take, the ``+N more`` line included.

        Returns:
            ``(steps, more)``.

        Example:
            >>> import io
            >>> from rxsteps import Step, StepGraph
            >>> graph = StepGraph([Step(f"s{i}", lambda: 1) for i in range(5)])
            >>> reporter = LiveReporter(graph, io.StringIO(), start=0)
            >>> reporter.state["s3"] = "running"
            >>> reporter.rows(3)
            (['s3', 's0'], '+3 more: 3 pending')
        """
        steps = list(self.state)
        if len(steps) <= room:
            return steps, ""
        state = self.state
        running = [s for s in steps if state[s] in ("running", "retrying", "waiting")]
        failed = [s for s in steps if state[s] == "failed"]
        recent = sorted(self.finished, key=self.finished.__getitem__, reverse=True)
        pending = [s for s in steps if state[s] == "pending"]
        first = list(dict.fromkeys([*running, *failed, *self.interrupted]))
        chosen = list(dict.fromkeys([*first, *recent[:3], *pending, *recent[3:]]))
        chosen = chosen[: max(room - 1, 1)]
        rest = set(chosen) - set(first)
        chosen = [s for s in first if s in chosen] + [s for s in steps if s in rest]
        counts: dict[str, int] = {}
        for step in steps:
            if step not in chosen:
                counts[state[step]] = counts.get(state[step], 0) + 1
        hidden = sum(counts.values())
        order = ["running", "retrying", "waiting", "failed", "cancelled", "succeeded",
                 "skipped", "pending"]
        detail = ", ".join(f"{counts[k]} {k}" for k in order if k in counts)
        return chosen, f"+{hidden} more: {detail}"
