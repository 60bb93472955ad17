"""rxsteps.cli.progress: the reporters' state, clock, streamed values and summaries."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator

import reactivex

from rxsteps import EventKind, Step, StepEvent, StepGraph, run
from rxsteps.cli.progress import JsonReporter, PlainReporter, Reporter


class Watched(io.StringIO):
    """A stream that says when a text has been written to it."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text, self.seen = text, threading.Event()

    def write(self, data: str) -> int:
        count = super().write(data)
        if self.text in self.getvalue():
            self.seen.set()
        return count


def test_streamed_values_are_written_while_the_step_still_runs() -> None:
    out = Watched("#1 'hello'")
    seen_before_next: list[bool] = []

    def words() -> Iterator[str]:
        yield "hello"
        seen_before_next.append(out.seen.wait(10))
        yield "world"

    graph = StepGraph([Step("words", words)])
    reporter = PlainReporter(graph, out, start=time.monotonic())
    run(graph, on_event=reporter.on_event)
    assert seen_before_next == [True]
    assert "#2 'world'" in out.getvalue()


def test_a_step_that_turns_out_to_stream_shows_its_first_value_too() -> None:
    graph = StepGraph([Step("many", lambda: reactivex.of("a", "b", "c"))])
    out = io.StringIO()
    reporter = PlainReporter(graph, out, start=time.monotonic())
    run(graph, on_event=reporter.on_event)
    shown = [line.split("many  ", 1)[1] for line in out.getvalue().splitlines()
             if " emitted " in line]
    assert shown == ["#1 'a'", "#2 'b'", "#3 'c'"]


def test_a_single_value_is_not_repeated_as_a_stream() -> None:
    graph = StepGraph([Step("one", lambda: "x")])
    out = io.StringIO()
    run(graph, on_event=PlainReporter(graph, out, start=0.0).on_event)
    assert " emitted " not in out.getvalue()


def test_a_streamed_value_is_cut_to_the_line_width() -> None:
    def long() -> Iterator[str]:
        yield "x" * 500

    graph = StepGraph([Step("t", long)])
    out = io.StringIO()
    reporter = PlainReporter(graph, out, start=0.0, width=60)
    reporter.on_event(StepEvent(EventKind.EMITTED, "t", value="x" * 500, time=1.0))
    line = out.getvalue().rstrip("\n")
    assert len(line) == 60 and line.endswith("xx…")


def test_the_clock_stops_at_the_end_of_the_run() -> None:
    graph = StepGraph([Step("a", lambda: 1)])
    start = time.monotonic()
    reporter = Reporter(graph, io.StringIO(), start=start)
    result = run(graph, on_event=reporter.on_event)
    reporter.close(result)
    assert reporter.clock() == result.end - start
    assert reporter.clock(now=result.end + 100) == result.end - start


def test_json_times_and_the_duration_have_one_origin() -> None:
    """The summary's duration is measured from the reporter's start, as event times are."""
    graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"])])
    out = io.StringIO()
    start = time.monotonic() - 1.0  # the run was started a second ago, say
    reporter = JsonReporter(graph, out, start=start)
    result = run(graph, on_event=reporter.on_event)
    reporter.close(result)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    summary = records.pop()
    assert summary["duration"] == round(result.end - start, 6)
    assert all(1.0 <= r["time"] <= summary["duration"] for r in records)


def test_an_interruption_cancels_what_was_unfinished() -> None:
    graph = StepGraph([Step("done", lambda: 1), Step("busy", lambda: 2),
                       Step("later", lambda b: b, ["busy"])])
    out = io.StringIO()
    reporter = PlainReporter(graph, out, start=0.0)
    for event in (StepEvent(EventKind.STARTED, "done", time=0.1),
                  StepEvent(EventKind.SUCCEEDED, "done", value=1, time=0.2),
                  StepEvent(EventKind.STARTED, "busy", time=0.3)):
        reporter.on_event(event)
    reporter.close(None)
    reporter.on_event(StepEvent(EventKind.SUCCEEDED, "busy", time=0.9))  # too late: ignored
    assert reporter.state == {"done": "succeeded", "busy": "cancelled", "later": "cancelled"}
    assert reporter.done == 1
    lines = out.getvalue().splitlines()
    assert lines[-2].endswith("cancelled  busy  interrupted while running")
    assert lines[-1].startswith("rxsteps: interrupted after ")
    assert lines[-1].endswith(" s: 1 succeeded, 1 cancelled while running (busy), "
                              "1 never started")


def test_the_json_summary_of_an_interrupted_run() -> None:
    graph = StepGraph([Step("busy", lambda: 2)])
    out = io.StringIO()
    reporter = JsonReporter(graph, out, start=time.monotonic())
    reporter.on_event(StepEvent(EventKind.STARTED, "busy", time=time.monotonic()))
    reporter.close(None)
    summary = json.loads(out.getvalue().splitlines()[-1])
    assert summary["interrupted"] is True and summary["ok"] is False
    assert summary["status"] == {"cancelled": 1}
