"""The live progress display of ``rxsteps run`` on a terminal, drawn with ``rich``.

A table with a row per step — state icon (a spinner while it runs), id, state,
elapsed time, and what is worth knowing (attempt number, values streamed so far, the
error or the reason it was skipped) — above an overall progress bar. It redraws ten
times a second from the reporter's state, which the run's events update; when there
are more steps than the terminal has lines, running and failed steps are kept, then
the most recently finished, then the next pending ones.

``rich`` is optional (``pip install 'rxsteps[cli]'``): importing this module without
it raises ``ImportError``, and :func:`rxsteps.cli.progress.make_reporter` falls back to
plain lines.

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

import time
from typing import IO, TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from ..graph import StepGraph
from .progress import Reporter, summary_line

if TYPE_CHECKING:
    from ..result import RunResult

__all__ = ["LiveReporter"]

_ICONS = {
    "pending": ("·", "dim"),
    "retrying": ("↻", "dark_orange"),
    "succeeded": ("✓", "green"),
    "failed": ("✗", "bold red"),
    "skipped": ("−", "dim"),
    "cancelled": ("⊘", "yellow"),
}
_STATE_STYLES = {"running": "yellow", "retrying": "dark_orange", "failed": "red",
                 "succeeded": "green", "skipped": "dim", "cancelled": "yellow", "pending": "dim"}


class LiveReporter(Reporter):
    """A live table of every step's state and time, with a progress bar.

    Args:
        graph: The graph being run.
        stream: The terminal to draw on.
        start: ``time.monotonic()`` when the run started.

    Example:
        >>> import io
        >>> from rxsteps import Step, StepGraph
        >>> reporter = LiveReporter(StepGraph([Step("a", lambda: 1)]), io.StringIO(), start=0.0)
        >>> reporter.state
        {'a': 'pending'}
    """

    def __init__(self, graph: StepGraph, stream: IO[str], *, start: float) -> None:
        super().__init__(graph, stream, start=start)
        self.console = Console(file=stream, highlight=False)
        self._spinners: dict[str, Spinner] = {}
        self._live = Live(console=self.console, refresh_per_second=10, transient=False,
                          get_renderable=self.render, redirect_stdout=False,
                          redirect_stderr=False)

    def open(self) -> None:
        """Start redrawing, ten times a second, until :meth:`close` (see the module
        example)."""
        self._live.start(refresh=True)

    def close(self, result: RunResult | None) -> None:
        """Draw the final state, stop redrawing, and print the summary line.

        Args:
            result: The finished run, or ``None`` if it was interrupted.
        """
        self._live.refresh()
        self._live.stop()
        if result is not None:
            style = "bold red" if result.errors else "bold green"
            self.console.print(Text(summary_line(result), style=style), soft_wrap=True)

    def render(self) -> RenderableType:
        """The table and the progress bar, as they are now.

        Returns:
            A ``rich`` renderable.

        Example:
            >>> import io
            >>> from rich.console import Console
            >>> from rxsteps import Step, StepGraph
            >>> reporter = LiveReporter(StepGraph([Step("a", lambda: 1)]), io.StringIO(), start=0)
            >>> console = Console(file=io.StringIO(), width=60, color_system=None)
            >>> console.print(reporter.render())
            >>> "0/1 steps" in console.file.getvalue()
            True
        """
        with self.lock:
            now = time.monotonic()
            table = Table(box=None, padding=(0, 1), header_style="bold dim", expand=False)
            table.add_column("", width=1, no_wrap=True)
            longest = max((len(step) for step in self.state), default=4)
            table.add_column("step", no_wrap=True, overflow="ellipsis",
                             min_width=min(longest, 40), max_width=40)
            table.add_column("state", no_wrap=True, min_width=9)
            table.add_column("time", justify="right", no_wrap=True, min_width=7)
            room = self.console.width - min(longest, 40) - 32
            table.add_column("", no_wrap=True, overflow="ellipsis", max_width=max(room, 10))
            shown, hidden = self._rows(max(3, self.console.height - 5))
            for step in shown:
                table.add_row(*self._row(step, now))
            if hidden:
                table.add_row("", Text(f"… {hidden}", style="dim"), "", "", "")
            total = len(self.state)
            done = self.done
            footer = Table.grid(padding=(0, 1))
            footer.add_row(
                ProgressBar(total=max(total, 1), completed=done, width=30),
                Text(f"{done}/{total} steps · {now - self.start:.1f} s", style="bold"),
            )
        return Group(table, footer)

    def _row(self, step: str, now: float) -> tuple[RenderableType, ...]:
        state = self.state[step]
        if state == "running":
            icon: RenderableType = self._spinners.setdefault(
                step, Spinner("dots", style="yellow")
            )
        else:
            char, style = _ICONS[state]
            icon = Text(char, style=style)
        seconds = f"{self.elapsed(step, now):.2f}s" if step in self.began else ""
        return (icon, Text(step), Text(state, style=_STATE_STYLES[state]),
                Text(seconds, style="cyan"), Text(self._detail(step), style="dim"))

    def _detail(self, step: str) -> str:
        state, attempt = self.state[step], self.attempt.get(step, 1)
        parts = []
        if state == "running" and attempt > 1:
            parts.append(f"attempt {attempt}, after {self.note.get(step, 'a failure')}")
        elif state == "retrying":
            parts.append(f"retrying after {self.note.get(step, 'a failure')}")
        elif state == "succeeded" and attempt > 1:
            parts.append(f"{attempt} attempts")
        elif state != "succeeded" and step in self.note:
            parts.append(self.note[step])
        count = self.emitted.get(step, 0)
        if count > 1:
            parts.insert(0, f"{count} values")
        return " · ".join(parts)

    def _rows(self, room: int) -> tuple[list[str], str]:
        """The steps to show (in graph order) and a note about the others."""
        steps = list(self.state)
        if len(steps) <= room:
            return steps, ""
        busy = [s for s in steps if self.state[s] in ("running", "retrying", "failed")]
        recent = sorted(self.finished, key=self.finished.__getitem__, reverse=True)
        pending = [s for s in steps if self.state[s] == "pending"]
        chosen: dict[str, None] = {}
        for step in [*busy, *recent[:3], *pending, *recent[3:]]:
            if len(chosen) >= room - 1:
                break
            chosen.setdefault(step)
        hidden = [s for s in steps if s not in chosen]
        counts: dict[str, int] = {}
        for step in hidden:
            counts[self.state[step]] = counts.get(self.state[step], 0) + 1
        note = f"{len(hidden)} more: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        return [s for s in steps if s in chosen], note
