"""rxsteps.cli.live on a fake terminal (a pyte screen): clock, overflow, Ctrl-C, streams."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rxsteps import EventKind, Step, StepEvent, StepGraph, current, run
from rxsteps.cli.live import LiveReporter, estimate
from tests.support.isolated import tree_env
from tests.support.terminal import console, frame, screen

ROOT = Path(__file__).resolve().parents[2]
FOOTER = re.compile(r"(\d+)% · (\d+)/(\d+) steps · (\d+\.\d+) s")


def live(graph: StepGraph, out: io.StringIO, **size: int) -> LiveReporter:
    return LiveReporter(graph, out, start=time.monotonic(), console=console(out, **size))


def test_the_last_frame_and_the_summary_say_the_same_duration() -> None:
    graph = StepGraph([Step("a", lambda: current().wait(0.05)),
                       Step("b", lambda a: current().wait(0.05), ["a"])])
    out = io.StringIO()
    reporter = live(graph, out)
    reporter.open()
    reporter.close(run(graph, on_event=reporter.on_event))
    shown = screen(out.getvalue())
    footer = next(line for line in shown if FOOTER.search(line))
    summary = next(line for line in shown if line.startswith("rxsteps: "))
    match = FOOTER.search(footer)
    assert match is not None
    assert match.group(1, 2, 3) == ("100", "2", "2")
    assert f" in {match.group(4)} s;" in summary


def test_sixty_steps_on_forty_rows_show_the_busy_ones_and_keep_the_footer() -> None:
    gate, busy = threading.Event(), threading.Event()
    blocked = ["s05", "s20", "s40"]

    def action(name: str) -> object:
        def act() -> int:
            if name == "s10":
                raise ValueError("bad row")
            if name in blocked:
                gate.wait(30)
            return 1
        return act

    graph = StepGraph([Step(f"s{i:02d}", action(f"s{i:02d}")) for i in range(60)])
    out = io.StringIO()
    reporter = live(graph, out, columns=100, lines=40)

    def on_event(event: StepEvent) -> None:
        reporter.on_event(event)
        running = {s for s, state in reporter.state.items() if state == "running"}
        if reporter.done == 57 and running == set(blocked):
            busy.set()

    runner = threading.Thread(target=lambda: run(graph, fail_fast=False, on_event=on_event))
    runner.start()
    try:
        assert busy.wait(30)
        shown = [line for line in frame(reporter) if line]
    finally:
        gate.set()
        runner.join(30)
    assert len(shown) < 40  # a line to spare: the terminal never scrolls
    rows = [line.split()[1:3] for line in shown[1:-2]]
    assert rows[:4] == [["s05", "running"], ["s20", "running"], ["s40", "running"],
                        ["s10", "failed"]]
    assert len(rows) == 36 and shown[-2].strip() == "+24 more: 24 succeeded"
    assert FOOTER.search(shown[-1]) and "57/60 steps" in shown[-1]


def test_the_footer_has_the_rate_and_the_time_left() -> None:
    graph = StepGraph([Step(f"s{i}", lambda: 1) for i in range(10)])
    reporter = LiveReporter(graph, io.StringIO(), start=time.monotonic())
    footer = frame(reporter)[11]
    assert re.search(r"  0% · 0/10 steps · \d\.\d s · \? left$", footer), footer
    reporter.start = time.monotonic() - 2.0
    for step in ("s0", "s1", "s2", "s3"):
        reporter.on_event(StepEvent(EventKind.SUCCEEDED, step, time=time.monotonic()))
    footer = frame(reporter)[11]
    assert re.search(r" 40% · 4/10 steps · 2\.\d s · ~[23]\.\d s left · [12]\.\d steps/s$",
                     footer), footer


def test_estimate() -> None:
    assert estimate(4, 10, 2.0) == (2.0, 3.0)
    assert estimate(10, 10, 5.0) == (2.0, 0.0)
    assert estimate(0, 10, 1.0) == (None, None)


def test_a_running_stream_shows_its_newest_text() -> None:
    def tokens() -> Iterator[str]:
        yield "x"

    graph = StepGraph([Step("draft", tokens)])
    reporter = LiveReporter(graph, io.StringIO(), start=time.monotonic())
    reporter.on_event(StepEvent(EventKind.STARTED, "draft", time=time.monotonic()))
    for word in ("hello", "big", "world"):
        reporter.on_event(StepEvent(EventKind.EMITTED, "draft", value=word))
    assert re.search(r"draft +running +0\.\d\ds  3 values · hello big world$", frame(reporter)[1])
    for n in range(40):
        reporter.on_event(StepEvent(EventKind.EMITTED, "draft", value=f"w{n}"))
    row = frame(reporter, columns=60)[1]
    assert len(row) < 60 and row.endswith("  43 values · …w36 w37 w38 w39"), row


HANG = '''
from rxsteps import Step, StepGraph, current

graph = StepGraph([
    Step("quick", lambda: 1),
    Step("hang", lambda: current().wait(60)),
    Step("after", lambda h: h, ["hang"]),
])
'''


def test_ctrl_c_leaves_a_last_frame_that_shows_what_was_cancelled(tmp_path: Path) -> None:
    """A real terminal (a pty) and a real SIGINT, in a subprocess with a time limit."""
    (tmp_path / "hang.py").write_text(textwrap.dedent(HANG))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = tree_env(TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "rxsteps.cli", "run", "hang.py"],
                               stdin=slave, stdout=slave, stderr=slave, cwd=tmp_path, env=env)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 60
    try:
        interrupted = False
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if not interrupted and b"running" in output:  # only "hang" can be running
                process.send_signal(signal.SIGINT)
                interrupted = True
        status = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    shown = screen(output.decode(), columns=100, lines=30)
    text = "\n".join(shown)
    assert status == 130, text
    rows = {line.split()[1]: line for line in shown if re.match(r" \S  (quick|hang|after) ", line)}
    assert rows["hang"].startswith(" ⊘  hang") and "interrupted while running" in rows["hang"]
    assert "cancelled" in rows["after"] and "interrupted before it started" in rows["after"]
    assert "succeeded" in rows["quick"]
    assert [row.split()[2] for row in rows.values()] == ["succeeded", "cancelled", "cancelled"]
    assert re.search(r"rxsteps: interrupted after \d+\.\d{3} s: 1 succeeded, 1 cancelled "
                     r"while running \(hang\), 1 never started", text), text
    assert "rxsteps: interrupted\n" in text + "\n"


@pytest.mark.parametrize("lines", [12, 20])
def test_the_whole_run_on_a_short_terminal_ends_with_footer_and_summary(lines: int) -> None:
    graph = StepGraph([Step(f"step_{i:02d}", lambda: 1) for i in range(30)])
    out = io.StringIO()
    reporter = live(graph, out, columns=80, lines=lines)
    reporter.open()
    reporter.close(run(graph, on_event=reporter.on_event))
    shown = [line for line in screen(out.getvalue(), columns=80, lines=lines) if line]
    assert shown[-1].startswith("rxsteps: 30 succeeded in ")
    assert FOOTER.search(shown[-2]) and "30/30 steps" in shown[-2]
    assert shown[-3].strip().startswith("+") and shown[-3].endswith(" succeeded")
