"""The progress displays say which steps wait, and for what (a resource or a rate)."""

from __future__ import annotations

import io
import json
import re

from rxsteps import EventKind, Step, StepEvent, StepGraph
from rxsteps.cli.live import LiveReporter
from rxsteps.cli.progress import JsonReporter, PlainReporter
from tests.support.terminal import frame

GRAPH = StepGraph([Step("first", lambda: 1, uses="llm"), Step("second", lambda: 2, uses="llm")])
WAITING = StepEvent(EventKind.WAITING, "second", time=10.5, reason="resource 'llm'")


def test_plain_lines_name_what_a_step_waits_for():
    out = io.StringIO()
    reporter = PlainReporter(GRAPH, out, start=10.0)
    reporter.on_event(WAITING)
    assert out.getvalue() == "[  0.500s] waiting    second  resource 'llm'\n"
    assert reporter.state["second"] == "waiting"


def test_json_lines_carry_the_reason():
    out = io.StringIO()
    JsonReporter(GRAPH, out, start=10.0).on_event(WAITING)
    record = json.loads(out.getvalue())
    assert (record["kind"], record["step"], record["reason"]) == ("waiting", "second",
                                                                  "resource 'llm'")


def test_the_live_table_shows_a_waiting_row_until_it_starts():
    reporter = LiveReporter(GRAPH, io.StringIO(), start=10.0)
    reporter.on_event(StepEvent(EventKind.STARTED, "first", time=10.1))
    reporter.on_event(WAITING)
    rows = frame(reporter)
    shown = r"second +waiting +waiting for resource 'llm'$"
    assert any(re.search(shown, row) for row in rows), rows
    reporter.on_event(StepEvent(EventKind.STARTED, "second", time=11.0))
    assert any(re.search(r"second +running", row) for row in frame(reporter))
