"""Progress reporters for the CLI: live table, plain lines, or JSON lines.

Each reporter takes the run's :class:`~rxsteps.StepEvent` objects one at a time (the
engine delivers them serially, from worker threads) and says what happened:

- :class:`rxsteps.cli.live.LiveReporter` — a ``rich`` live table for terminals: every
  step's state and elapsed time, updating ten times a second, with a progress bar;
- :class:`PlainReporter` — one line per event of interest, for logs and pipes;
- :class:`JsonReporter` — one JSON object per event (every kind), for ``jq``.

:func:`make_reporter` picks one. ``rich`` is optional (``pip install 'rxsteps[cli]'``);
without it terminals get plain lines.

Example:
    >>> import io
    >>> from rxsteps import Step, StepGraph, run
    >>> out = io.StringIO()
    >>> reporter = PlainReporter(StepGraph([Step("a", lambda: 1)]), out, start=0.0)
    >>> result = run(reporter.graph, on_event=reporter.on_event)
    >>> [line.split()[1:3] for line in out.getvalue().splitlines()]
    [['started', 'a'], ['succeeded', 'a']]
"""

from __future__ import annotations

import json
import threading
import time
from typing import IO, TYPE_CHECKING, Any

from ..events import EventKind, StepEvent
from ..graph import StepGraph

if TYPE_CHECKING:
    from ..result import RunResult

__all__ = [
    "JsonReporter",
    "PlainReporter",
    "Reporter",
    "describe_error",
    "json_value",
    "make_reporter",
    "summary_line",
]

_SHOWN = frozenset(EventKind) - {EventKind.EMITTED}


class Reporter:
    """Base reporter: keeps per-step state; subclasses say how it is shown.

    Args:
        graph: The graph being run.
        stream: Where to write.
        start: ``time.monotonic()`` when the run started (event times are relative
            to it).

    Attributes:
        state: Step id to its state name (``"pending"``, ``"running"``,
            ``"retrying"``, or a final status).
        began, finished: Step id to the monotonic time it started / ended.
        attempt: Step id to its current attempt number.
        emitted: Step id to how many values it emitted.
        note: Step id to the last error or reason, if any.
        closed: Whether the output stream was closed by its reader; events are
            still recorded but no longer shown.

    Example:
        >>> import io
        >>> from rxsteps import Step, StepGraph, StepEvent, EventKind
        >>> reporter = Reporter(StepGraph([Step("a", lambda: 1)]), io.StringIO(), start=0.0)
        >>> reporter.on_event(StepEvent(EventKind.STARTED, "a", time=0.5))
        >>> reporter.state["a"], reporter.done
        ('running', 0)
    """

    def __init__(self, graph: StepGraph, stream: IO[str], *, start: float) -> None:
        self.graph = graph
        self.stream = stream
        self.start = start
        self.lock = threading.Lock()
        self.state: dict[str, str] = dict.fromkeys(graph.order(), "pending")
        self.began: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.attempt: dict[str, int] = {}
        self.emitted: dict[str, int] = {}
        self.note: dict[str, str] = {}
        self.closed = False  # the output is gone: stop writing, keep recording

    @property
    def done(self) -> int:
        """How many steps have finished (see the class example)."""
        return len(self.finished)

    def on_event(self, event: StepEvent) -> None:
        """Record ``event``, then :meth:`show` it; pass this as ``run(on_event=...)``.

        Args:
            event: The next event of the run.

        Example:
            >>> import io
            >>> from rxsteps import Step, StepGraph, StepEvent, EventKind
            >>> reporter = Reporter(StepGraph([Step("a", lambda: 1)]), io.StringIO(), start=0)
            >>> reporter.on_event(StepEvent(EventKind.FAILED, "a", error=KeyError("k")))
            >>> reporter.state["a"], reporter.note["a"]
            ('failed', "KeyError: 'k'")
        """
        with self.lock:
            self._record(event)
        if self.closed:
            return
        try:
            self.show(event)
        except (BrokenPipeError, ValueError):  # the reader went away (``| head``)
            self.closed = True

    def _record(self, event: StepEvent) -> None:
        step, kind = event.step, event.kind
        if kind is EventKind.STARTED:
            self.began.setdefault(step, event.time)
            self.attempt[step] = event.attempt
            self.state[step] = "running"
        elif kind is EventKind.EMITTED:
            self.emitted[step] = self.emitted.get(step, 0) + 1
        elif kind is EventKind.RETRYING:
            self.state[step] = "retrying"
            self.note[step] = describe_error(event.error)
        elif kind.terminal:
            self.state[step] = kind.value
            self.finished[step] = event.time
            if event.error is not None:
                self.note[step] = describe_error(event.error)
            elif event.reason and kind is not EventKind.SUCCEEDED:
                self.note[step] = event.reason

    def show(self, event: StepEvent) -> None:
        """Say something about ``event``, already recorded (nothing, in the base class).

        Args:
            event: The event just recorded.
        """

    def open(self) -> None:
        """Start showing, before the run starts (a live display starts here)."""

    def close(self, result: RunResult | None) -> None:
        """Stop showing, then write the summary of ``result`` (if any).

        Args:
            result: The finished run, or ``None`` if it was interrupted.
        """

    def elapsed(self, step: str, now: float | None = None) -> float:
        """Seconds a step has run, from its first start until it ended or ``now``.

        Args:
            step: The step id.
            now: The monotonic time to measure a running step to (default: now).

        Returns:
            The seconds, 0 for a step that has not started.

        Example:
            >>> import io
            >>> from rxsteps import Step, StepGraph, StepEvent, EventKind
            >>> reporter = Reporter(StepGraph([Step("a", lambda: 1)]), io.StringIO(), start=0)
            >>> reporter.on_event(StepEvent(EventKind.STARTED, "a", time=1.0))
            >>> reporter.elapsed("a", now=3.5)
            2.5
        """
        began = self.began.get(step)
        if began is None:
            return 0.0
        end = self.finished.get(step, time.monotonic() if now is None else now)
        return max(0.0, end - began)


class PlainReporter(Reporter):
    """One line per STARTED, SUCCEEDED, FAILED, RETRYING, SKIPPED and CANCELLED event::

        [  0.151s] succeeded  plan  (0.151 s)

    Example:
        >>> import io
        >>> from rxsteps import Step, StepGraph, StepEvent, EventKind
        >>> out = io.StringIO()
        >>> reporter = PlainReporter(StepGraph([Step("a", lambda: 1)]), out, start=10.0)
        >>> reporter.on_event(StepEvent(EventKind.SKIPPED, "a", time=10.25, reason="why"))
        >>> out.getvalue()
        '[  0.250s] skipped    a  why\\n'
    """

    def show(self, event: StepEvent) -> None:
        """Write the line for ``event``, if it is of interest (see the class example).

        Args:
            event: The event just recorded.
        """
        if event.kind not in _SHOWN:
            return
        step, kind = event.step, event.kind
        detail = ""
        if kind is EventKind.STARTED and event.attempt > 1:
            detail = f"attempt {event.attempt}"
        elif kind is EventKind.RETRYING:
            detail = f"attempt {event.attempt} failed: {describe_error(event.error)}"
            if event.delay is not None:
                detail += f"; retrying in {event.delay:.2f} s"
        elif kind is EventKind.SUCCEEDED or kind is EventKind.FAILED:
            detail = f"({self.elapsed(step, event.time):.3f} s)"
            if event.error is not None:
                detail += f" {describe_error(event.error)}"
        elif event.reason:
            detail = event.reason
        line = f"[{event.time - self.start:7.3f}s] {kind.value:<10} {step}"
        self.stream.write(f"{line}  {detail}\n" if detail else line + "\n")
        self.stream.flush()

    def close(self, result: RunResult | None) -> None:
        """Write the summary line (see :func:`summary_line`).

        Args:
            result: The finished run, or ``None`` if it was interrupted.
        """
        if result is not None and not self.closed:
            self.stream.write(summary_line(result) + "\n")
            self.stream.flush()


class JsonReporter(Reporter):
    """One JSON object per event, then one ``{"kind": "summary", ...}`` object.

    Fields: ``kind``, ``step``, ``attempt``, ``index``, ``time`` (seconds since the run
    started), ``value`` (as JSON when it can be, else its ``repr``), ``error``,
    ``reason``, and ``delay`` for RETRYING.

    Example:
        >>> import io, json
        >>> from rxsteps import Step, StepGraph, StepEvent, EventKind
        >>> out = io.StringIO()
        >>> reporter = JsonReporter(StepGraph([Step("a", lambda: 1)]), out, start=0.0)
        >>> reporter.on_event(StepEvent(EventKind.EMITTED, "a", value={1, 2}, time=0.5))
        >>> json.loads(out.getvalue())["value"]
        '{1, 2}'
    """

    def show(self, event: StepEvent) -> None:
        """Write ``event`` as one JSON line (see the class example).

        Args:
            event: The event just recorded.
        """
        record: dict[str, Any] = {
            "kind": event.kind.value, "step": event.step, "attempt": event.attempt,
            "index": event.index, "time": round(event.time - self.start, 6),
            "value": json_value(event.value),
            "error": describe_error(event.error) if event.error is not None else None,
            "reason": event.reason,
        }
        if event.delay is not None:
            record["delay"] = event.delay
        self.stream.write(json.dumps(record, allow_nan=False) + "\n")
        self.stream.flush()

    def close(self, result: RunResult | None) -> None:
        """Write the summary object: status counts, duration, critical path, ``ok``.

        Args:
            result: The finished run, or ``None`` if it was interrupted.
        """
        if result is None or self.closed:
            return
        counts: dict[str, int] = {}
        for status in result.status.values():
            counts[status.value] = counts.get(status.value, 0) + 1
        path, seconds = result.critical_path()
        record = {"kind": "summary", "status": counts, "duration": round(result.duration, 6),
                  "critical_path": path, "critical_seconds": round(seconds, 6),
                  "ok": not result.errors}
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()


def describe_error(error: BaseException | None) -> str:
    """An exception as ``"ValueError: boom"``, on one line.

    Args:
        error: The exception, or ``None``.

    Returns:
        Its type and message with whitespace collapsed (``""`` for ``None``).

    Example:
        >>> describe_error(ValueError("bad\\ninput"))
        'ValueError: bad input'
    """
    if error is None:
        return ""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def json_value(value: Any) -> Any:
    """``value`` itself if it is JSON (strictly: no NaN), else its ``repr``.

    Args:
        value: A step's value.

    Returns:
        Something ``json.dumps`` accepts.

    Example:
        >>> json_value([1, "a"]), json_value(float("nan")), json_value(object)
        ([1, 'a'], 'nan', "<class 'object'>")
    """
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return repr(value)
    return value


def summary_line(result: RunResult) -> str:
    """One line about a finished run: counts, duration and critical path.

    Args:
        result: The finished run.

    Returns:
        ``"rxsteps: 9 succeeded, 1 failed in 1.234 s; critical path a -> b (1.100 s)"``.

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> summary_line(run(StepGraph([Step("a", lambda: 1)]))).split(" in ")[0]
        'rxsteps: 1 succeeded'
    """
    counts: dict[str, int] = {}
    for status in result.status.values():
        counts[status.value] = counts.get(status.value, 0) + 1
    order = ["succeeded", "failed", "skipped", "cancelled"]
    text = ", ".join(f"{counts[k]} {k}" for k in order if k in counts)
    path, seconds = result.critical_path()
    line = f"rxsteps: {text} in {result.duration:.3f} s"
    if path:
        line += f"; critical path {' -> '.join(path)} ({seconds:.3f} s)"
    return line


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
        A :class:`Reporter`.

    Example:
        >>> import io
        >>> from rxsteps import Step, StepGraph
        >>> type(make_reporter(StepGraph([Step("a", lambda: 1)]), io.StringIO(), start=0.0))
        <class 'rxsteps.cli.progress.PlainReporter'>
    """
    if json_lines:
        return JsonReporter(graph, stream, start=start)
    if live is None:
        live = bool(getattr(stream, "isatty", lambda: False)())
    if live:
        try:
            from .live import LiveReporter as Live
        except ImportError:
            pass
        else:
            return Live(graph, stream, start=start)
    return PlainReporter(graph, stream, start=start)

