"""Progress reporters for the CLI: what a run is doing, as plain lines or JSON lines.

Each reporter takes the run's :class:`~rxsteps.StepEvent` objects one at a time (the
engine delivers them serially, from worker threads) and says what happened:

- :class:`Reporter` — keeps every step's state, the values streamed so far, and one
  clock: seconds since the command started the run, stopped when the run ends;
- :class:`PlainReporter` — one line per event of interest, for logs and pipes,
  streamed values included;
- :class:`JsonReporter` — one JSON object per event (every kind), for ``jq``;
- :class:`rxsteps.cli.live.LiveReporter` — a ``rich`` live table for terminals.

:func:`rxsteps.cli.reporters.make_reporter` picks one.

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
import shutil
import threading
import time
from typing import IO, TYPE_CHECKING, Any

from ..events import EventKind, StepEvent
from ..graph import StepGraph
from .failures import describe_error, location
from .values import json_value, one_line

if TYPE_CHECKING:
    from ..result import RunResult

__all__ = [
    "FROM_STORE",
    "JsonReporter",
    "PlainReporter",
    "Reporter",
    "summary_line",
]

#: The reasons of a SUCCEEDED event whose value came from a store, not a call.
FROM_STORE = frozenset({"cached", "resumed"})
_FINAL = frozenset({"succeeded", "failed", "skipped", "cancelled"})
_RUNNING = frozenset({"running", "retrying"})
_ORDER = ("succeeded", "failed", "skipped", "cancelled")


class Reporter:
    """Base reporter: keeps per-step state and the run's clock; subclasses show it.

    Args:
        graph: The graph being run.
        stream: Where to write.
        start: ``time.monotonic()`` when the run was started: the origin of every time
            a reporter shows, the summary's duration included.

    Attributes:
        state: Step id to its state name (``"pending"``, ``"waiting"`` — for a
            resource or a rate limit —, ``"running"``, ``"retrying"``, or a final
            status).
        began, finished: Step id to the monotonic time it started / ended.
        attempt: Step id to its current attempt number.
        emitted: Step id to how many values it emitted.
        values: Step id to the values it emitted so far, for steps that stream (a
            generator, or any step once it emitted a second value).
        note: Step id to the last error or reason, if any (for a succeeded step only
            ``"cached"`` or ``"resumed"``: its value came from a store).
        ended: The monotonic time the run ended (or was interrupted), once it has.
        interrupted: The steps that were running when the run was interrupted.
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
        self.values: dict[str, list[Any]] = {}
        self.note: dict[str, str] = {}
        self.ended: float | None = None
        self.interrupted: list[str] = []
        self.closed = False  # the output is gone: stop writing, keep recording
        self._first: dict[str, Any] = {}  # a step's first value, until it streams
        self._cut: set[str] = set()  # the steps an interruption ended

    @property
    def done(self) -> int:
        """How many steps have finished, not counting those an interruption cut short
        (see the class example)."""
        return len(self.finished) - len(self._cut)

    def clock(self, now: float | None = None) -> float:
        """Seconds since the run started, stopped at its end once it has ended.

        Args:
            now: The monotonic time to measure to while the run goes on (default: now).

        Returns:
            The seconds on the clock every output of this reporter uses.

        Example:
            >>> import io
            >>> from rxsteps import Step, StepGraph
            >>> reporter = Reporter(StepGraph([Step("a", lambda: 1)]), io.StringIO(), start=10)
            >>> reporter.clock(now=11.5)
            1.5
            >>> reporter.ended = 12.0
            >>> reporter.clock(now=99.0)
            2.0
        """
        end = self.ended if self.ended is not None else (time.monotonic() if now is None
                                                         else now)
        return max(0.0, end - self.start)

    def streams(self, step: str) -> bool:
        """Whether ``step``'s values are shown one by one (see :attr:`values`).

        Args:
            step: The step id.

        Returns:
            ``True`` for a generator step, or a step that has emitted twice.

        Example:
            >>> import io
            >>> from rxsteps import Step, StepGraph
            >>> def tokens():
            ...     yield "a"
            >>> graph = StepGraph([Step("a", lambda: 1), Step("t", tokens)])
            >>> reporter = Reporter(graph, io.StringIO(), start=0)
            >>> reporter.streams("a"), reporter.streams("t")
            (False, True)
        """
        return step in self.values or (step in self.graph and self.graph[step].streaming)

    def on_event(self, event: StepEvent) -> None:
        """Record ``event``, then :meth:`show` it; pass this as ``run(on_event=...)``.

        Events that arrive after :meth:`finish` are ignored.

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
            if self.ended is not None:
                return
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
            self._record_value(step, event.value)
        elif kind is EventKind.RETRYING:
            self.state[step] = "retrying"
            self.note[step] = describe_error(event.error)
        elif kind is EventKind.WAITING:
            self.state[step] = "waiting"
            self.note[step] = f"waiting for {event.reason}"
        elif kind.terminal:
            self.state[step] = kind.value
            self.finished[step] = event.time
            if event.error is not None:
                self.note[step] = describe_error(event.error)
            elif event.reason and (kind is not EventKind.SUCCEEDED
                                   or event.reason in FROM_STORE):
                self.note[step] = event.reason

    def _record_value(self, step: str, value: Any) -> None:
        count = self.emitted[step] = self.emitted.get(step, 0) + 1
        if self.streams(step):
            self.values.setdefault(step, []).append(value)
        elif count == 1:
            self._first[step] = value
        else:  # a second value: from now on the step streams, its first value included
            self.values[step] = [self._first.pop(step), value]

    def show(self, event: StepEvent) -> None:
        """Say something about ``event``, already recorded (nothing, in the base class).

        Args:
            event: The event just recorded.
        """

    def open(self) -> None:
        """Start showing, before the run starts (a live display starts here)."""

    def finish(self, result: RunResult | None) -> None:
        """Stop the clock at the run's end and ignore later events.

        With ``result`` ``None`` (the run was interrupted) every unfinished step is
        marked ``cancelled``, with a note saying whether it was running.

        Args:
            result: The finished run, or ``None`` if it was interrupted.

        Example:
            >>> import io
            >>> from rxsteps import Step, StepGraph, StepEvent, EventKind
            >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda: 2)])
            >>> reporter = Reporter(graph, io.StringIO(), start=0)
            >>> reporter.on_event(StepEvent(EventKind.STARTED, "a", time=0.5))
            >>> reporter.finish(None)
            >>> reporter.state, reporter.note["a"], reporter.interrupted
            ({'a': 'cancelled', 'b': 'cancelled'}, 'interrupted while running', ['a'])
        """
        with self.lock:
            if self.ended is not None:
                return
            if result is not None:
                self.ended = result.end
                return
            now = self.ended = time.monotonic()
            for step, state in self.state.items():
                if state in _FINAL:
                    continue
                if state in _RUNNING:
                    self.interrupted.append(step)
                self.note[step] = ("interrupted while running" if state in _RUNNING
                                   else "interrupted before it started")
                self.state[step] = "cancelled"
                self.finished[step] = now
                self._cut.add(step)

    def close(self, result: RunResult | None) -> None:
        """Stop showing (after :meth:`finish`), then write the summary.

        Args:
            result: The finished run, or ``None`` if it was interrupted.
        """
        self.finish(result)

    def summary(self, result: RunResult | None) -> str:
        """The summary line of the run (see :func:`summary_line`), on this clock.

        Args:
            result: The finished run, or ``None`` if it was interrupted.

        Returns:
            One line; for an interrupted run, what was cut short.

        Example:
            >>> import io
            >>> from rxsteps import Step, StepGraph, StepEvent, EventKind
            >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda: 2)])
            >>> reporter = Reporter(graph, io.StringIO(), start=0)
            >>> reporter.on_event(StepEvent(EventKind.STARTED, "a", time=0.5))
            >>> reporter.finish(None)
            >>> reporter.summary(None).split(" s: ")[1]
            '1 cancelled while running (a), 1 never started'
        """
        if result is not None:
            return summary_line(result, start=self.start)
        counts = self._counts()
        parts = [f"{counts[k]} {k}" for k in _ORDER[:3] if counts.get(k)]
        if self.interrupted:
            names = ", ".join(self.interrupted[:5]) + ", ..." * (len(self.interrupted) > 5)
            parts.append(f"{len(self.interrupted)} cancelled while running ({names})")
        never = sum(note == "interrupted before it started" for note in self.note.values())
        if never:
            parts.append(f"{never} never started")
        return f"rxsteps: interrupted after {self.clock():.3f} s: {', '.join(parts)}"

    def _counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state in self.state.values():
            counts[state] = counts.get(state, 0) + 1
        return counts

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
    """One line per STARTED, WAITING, SUCCEEDED, FAILED, RETRYING, SKIPPED and CANCELLED
    event,
    and one per value a streaming step emits (its ``repr``, cut to the line width)::

        [  0.151s] succeeded  plan  (0.151 s)
        [  0.812s] emitted    draft  #3 'graphs'

    Args:
        graph: The graph being run.
        stream: Where to write.
        start: ``time.monotonic()`` when the run was started.
        width: The line width streamed values are cut to (default: the terminal's,
            else 100).

    Example:
        >>> import io
        >>> from rxsteps import Step, StepGraph, StepEvent, EventKind
        >>> out = io.StringIO()
        >>> reporter = PlainReporter(StepGraph([Step("a", lambda: 1)]), out, start=10.0)
        >>> reporter.on_event(StepEvent(EventKind.SKIPPED, "a", time=10.25, reason="why"))
        >>> out.getvalue()
        '[  0.250s] skipped    a  why\\n'
    """

    def __init__(self, graph: StepGraph, stream: IO[str], *, start: float,
                 width: int | None = None) -> None:
        super().__init__(graph, stream, start=start)
        self.width = width if width is not None else shutil.get_terminal_size((100, 24)).columns
        self._shown: dict[str, int] = {}  # values written, per streaming step

    def show(self, event: StepEvent) -> None:
        """Write the line for ``event``, if it is of interest (see the class example).

        Args:
            event: The event just recorded.
        """
        if event.kind is EventKind.EMITTED:
            self._show_values(event)
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
            elif event.reason:  # "cached" or "resumed": the value came from a store
                detail += f" {event.reason}"
        elif event.reason:
            detail = event.reason
        self._write(event.time, kind.value, step, detail)

    def _show_values(self, event: StepEvent) -> None:
        values = self.values.get(event.step, [])  # empty until the step streams
        shown = self._shown.get(event.step, 0)
        for number in range(shown + 1, len(values) + 1):  # its first value may be due too
            head = f"[{event.time - self.start:7.3f}s] {'emitted':<10} {event.step}  #{number} "
            self._line(head + one_line(repr(values[number - 1]), self.width - len(head)))
        self._shown[event.step] = len(values)

    def _write(self, at: float, kind: str, step: str, detail: str) -> None:
        line = f"[{at - self.start:7.3f}s] {kind:<10} {step}"
        self._line(f"{line}  {detail}" if detail else line)

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self, result: RunResult | None) -> None:
        """Write what an interrupted run cut short, then the summary line.

        Args:
            result: The finished run, or ``None`` if it was interrupted.
        """
        super().close(result)
        if self.closed:
            return
        try:
            assert self.ended is not None
            for step in self.interrupted:
                self._write(self.ended, "cancelled", step, self.note[step])
            self._line(self.summary(result))
        except (BrokenPipeError, ValueError):
            self.closed = True


class JsonReporter(Reporter):
    """One JSON object per event, then one ``{"kind": "summary", ...}`` object.

    Fields: ``kind``, ``step``, ``attempt``, ``index``, ``time`` (seconds since the run
    started, the origin of the summary's ``duration`` too), ``value`` (see
    :func:`rxsteps.cli.values.json_value`: what JSON cannot hold is marked
    ``{"$repr": ..., "$type": ...}``), ``error``, ``location`` (where the step's code
    raised it, or ``null``), ``reason``, and ``delay`` for RETRYING.

    Example:
        >>> import io, json
        >>> from rxsteps import Step, StepGraph, StepEvent, EventKind
        >>> out = io.StringIO()
        >>> reporter = JsonReporter(StepGraph([Step("a", lambda: 1)]), out, start=0.0)
        >>> reporter.on_event(StepEvent(EventKind.EMITTED, "a", value={1, 2}, time=0.5))
        >>> json.loads(out.getvalue())["value"]
        {'$repr': '{1, 2}', '$type': 'set'}
    """

    def show(self, event: StepEvent) -> None:
        """Write ``event`` as one JSON line (see the class example).

        Args:
            event: The event just recorded.
        """
        error = event.error
        record: dict[str, Any] = {
            "kind": event.kind.value, "step": event.step, "attempt": event.attempt,
            "index": event.index, "time": round(event.time - self.start, 6),
            "value": json_value(event.value),
            "error": describe_error(error) if error is not None else None,
            "location": location(error) if error is not None else None,
            "reason": event.reason,
        }
        if event.delay is not None:
            record["delay"] = event.delay
        self._dump(record)

    def close(self, result: RunResult | None) -> None:
        """Write the summary object: status counts, duration, critical path, ``ok``,
        and ``interrupted`` (Ctrl-C: every unfinished step counts as cancelled).

        Args:
            result: The finished run, or ``None`` if it was interrupted.
        """
        super().close(result)
        if self.closed:
            return
        path: list[str] = []
        seconds = 0.0
        if result is None:
            counts = self._counts()
        else:
            counts = {}
            for status in result.status.values():
                counts[status.value] = counts.get(status.value, 0) + 1
            path, seconds = result.critical_path()
        self._dump({
            "kind": "summary", "status": counts, "duration": round(self.clock(), 6),
            "critical_path": path, "critical_seconds": round(seconds, 6),
            "ok": result is not None and not result.errors,
            "interrupted": result is None,
        })

    def _dump(self, record: dict[str, Any]) -> None:
        try:
            self.stream.write(json.dumps(record, allow_nan=False) + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            self.closed = True


def summary_line(result: RunResult, *, start: float | None = None) -> str:
    """One line about a finished run: counts, duration and critical path.

    Args:
        result: The finished run.
        start: The monotonic time the duration is measured from (default: the run's
            own start, ``result.duration``).

    Returns:
        ``"rxsteps: 9 succeeded, 1 failed in 1.234 s; critical path a -> b (1.100 s)"``.

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> summary_line(run(StepGraph([Step("a", lambda: 1)]))).split(" in ")[0]
        'rxsteps: 1 succeeded'
        >>> summary_line(run(StepGraph([Step("a", lambda: 1, when=lambda: False)]))
        ...              ).split(" in ")[0]
        'rxsteps: 1 skipped (1 by a condition)'
        >>> import os, tempfile
        >>> store = os.path.join(tempfile.mkdtemp(), "runs.db")
        >>> cached = StepGraph([Step("a", lambda: 1, cache=True)])
        >>> _ = run(cached, store=store, run_id="first")
        >>> summary_line(run(cached, store=store, run_id="second")).split(" in ")[0]
        'rxsteps: 1 succeeded (1 cached)'
    """
    counts: dict[str, int] = {}
    for status in result.status.values():
        counts[status.value] = counts.get(status.value, 0) + 1
    text = ", ".join(f"{counts[k]} {k}" for k in _ORDER if k in counts)
    by_condition = sum(map(result.skipped_by_condition, result.status))
    if by_condition:  # a branch not taken, told apart from a skip after a failure
        text = text.replace(f"{counts['skipped']} skipped",
                            f"{counts['skipped']} skipped ({by_condition} by a condition)")
    if result.cached:  # answered from the store's cache: not called this time
        text = text.replace(f"{counts['succeeded']} succeeded",
                            f"{counts['succeeded']} succeeded ({len(result.cached)} cached)")
    path, seconds = result.critical_path()
    duration = result.duration if start is None else result.end - start
    line = f"rxsteps: {text} in {duration:.3f} s"
    if path:
        line += f"; critical path {' -> '.join(path)} ({seconds:.3f} s)"
    return line
