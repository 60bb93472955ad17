"""The CLI's plain and live output tell a step skipped by its condition from one
skipped after a failure: the reason, the live icon and colour, the summary counts."""

from __future__ import annotations

import io
import time
from typing import Any

from rxsteps import Step, StepGraph, run
from rxsteps.cli.live import LiveReporter
from rxsteps.cli.progress import PlainReporter, summary_line
from tests.support.terminal import console, screen


def _fail() -> Any:
    raise ValueError("boom")


GRAPH = StepGraph([
    Step("plan", lambda: "short"),
    Step("long", lambda plan: "long answer", ["plan"], when=lambda plan: plan == "long"),
    Step("bad", _fail),
    Step("after_bad", lambda bad: bad, ["bad"]),
])


def test_the_plain_output_gives_the_reason_and_the_summary_counts_condition_skips() -> None:
    out = io.StringIO()
    reporter = PlainReporter(GRAPH, out, start=time.monotonic())
    result = run(GRAPH, on_event=reporter.on_event, fail_fast=False)
    reporter.close(result)
    lines = out.getvalue().splitlines()
    assert any(line.split("] ", 1)[1].split() == ["skipped", "long", "condition", "false"]
               for line in lines if "] " in line)
    assert any(line.endswith("skipped    after_bad  dependency 'bad' failed") for line in lines)
    assert summary_line(result).startswith(
        "rxsteps: 1 succeeded, 1 failed, 2 skipped (1 by a condition) in ")


def test_the_live_display_draws_a_condition_skip_unlike_a_failure_skip() -> None:
    out = io.StringIO()
    shown = console(out, columns=100, lines=20)
    reporter = LiveReporter(GRAPH, out, start=time.monotonic(), console=shown)
    run(GRAPH, on_event=reporter.on_event, fail_fast=False)
    icon_long, _, state_long, _, detail_long = reporter._row("long", 40)
    icon_bad, _, state_bad, _, detail_bad = reporter._row("after_bad", 40)
    assert (str(state_long), str(state_bad)) == ("skipped", "skipped")
    assert (str(icon_long), str(icon_bad)) == ("○", "−")
    assert state_long.style == "blue" and state_bad.style == "dim"
    assert (str(detail_long), str(detail_bad)) == ("condition false", "dependency 'bad' failed")
    frame = io.StringIO()
    console(frame, columns=100, lines=20).print(reporter)
    rows = {row.split()[1]: row for row in screen(frame.getvalue(), columns=100, lines=20)
            if row.strip() and len(row.split()) > 1}
    assert rows["long"].split()[0] == "○"
    assert rows["after_bad"].split()[0] == "−"
