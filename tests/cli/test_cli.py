"""The ``rxsteps`` command line, run as a subprocess: exit codes, output, one-line errors."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rxsteps import Step, StepGraph, run
from rxsteps.cli.commands import UsageError, parse_inputs
from rxsteps.cli.live import LiveReporter
from rxsteps.cli.progress import JsonReporter, PlainReporter, make_reporter

FLOWS = '''
import time
from rxsteps import Step, StepGraph

graph = StepGraph([
    Step("load", lambda q: q, ["query"]),
    Step("double", lambda x: x * 2, ["load"]),
    Step("echo", lambda q: {"type": type(q).__name__, "value": q}, ["query"]),
], inputs=["query"])

def boom(x):
    raise ValueError("boom")

failing = StepGraph([
    Step("ok", lambda: 1),
    Step("boom", boom, ["ok"]),
    Step("after", lambda b: b, ["boom"]),
    Step("side", lambda: time.sleep(0.2) or "side done"),
])

def make():
    return StepGraph([Step("a", lambda: 1)])

not_a_graph = 42
'''

CYCLE = '''
from rxsteps import Step, StepGraph
graph = StepGraph([Step("a", lambda b: b, ["b"]), Step("b", lambda a: a, ["a"])])
'''

BROKEN = "import rxsteps\nimport no_such_module_for_rxsteps_tests\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("targets")
    (path / "flows.py").write_text(textwrap.dedent(FLOWS))
    (path / "cycle.py").write_text(textwrap.dedent(CYCLE))
    (path / "broken.py").write_text(BROKEN)
    return path


def rxsteps(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rxsteps.cli", *args], capture_output=True,
                          text=True, cwd=folder, timeout=60, stdin=subprocess.DEVNULL)


def plain_events(stdout: str) -> list[tuple[str, str]]:
    """``(kind, step)`` of every ``[  0.123s] kind  step ...`` line."""
    found = (re.match(r"\[\s*\d+\.\d+s\] (\w+)\s+(\S+)", line) for line in stdout.splitlines())
    return [(m.group(1), m.group(2)) for m in found if m]


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("rxsteps: error: ")
    assert "Traceback" not in done.stderr
    return lines[0]


# -- run ------------------------------------------------------------------------------------


def test_run_prints_plain_progress_when_not_on_a_terminal(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:graph", "--input", "query=21")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    events = plain_events(done.stdout)
    assert ("started", "load") in events and ("succeeded", "double") in events
    assert events.index(("succeeded", "load")) < events.index(("started", "double"))
    assert any(line.startswith("rxsteps: 3 succeeded in ") for line in lines)
    assert "double = 42" in lines
    assert "\x1b[" not in done.stdout  # no terminal codes in a pipe


def test_run_json_lines_parse(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:graph", "-i", "query=3", "--json")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = {r["kind"] for r in records}
    assert kinds == {"started", "emitted", "succeeded", "summary"}
    assert records[-1]["kind"] == "summary" and records[-1]["ok"] is True
    for record in records[:-1]:
        assert set(record) >= {"kind", "step", "attempt", "index", "time", "value", "error",
                               "reason"}
        assert record["time"] >= 0
    echo = next(r for r in records if r["kind"] == "succeeded" and r["step"] == "echo")
    assert echo["value"] == {"type": "int", "value": 3}


def test_input_values_are_json_or_strings(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:graph", "--input", "query=hello world", "--json")
    echo = next(json.loads(line) for line in done.stdout.splitlines()
                if '"echo"' in line and '"succeeded"' in line)
    assert echo["value"] == {"type": "str", "value": "hello world"}


def test_a_failed_step_exits_1(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:failing")
    assert done.returncode == 1
    assert "rxsteps: step 'boom' failed: ValueError: boom" in done.stderr
    assert "Traceback" not in done.stderr
    assert ("failed", "boom") in plain_events(done.stdout)


def test_keep_going_runs_the_independent_branch(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:failing", "--keep-going", "--json")
    assert done.returncode == 1
    finals = {r["step"]: r["kind"] for r in map(json.loads, done.stdout.splitlines())
              if r["kind"] in ("succeeded", "failed", "skipped", "cancelled")}
    assert finals == {"ok": "succeeded", "boom": "failed", "after": "skipped",
                      "side": "succeeded"}


def test_run_writes_pictures(folder: Path, tmp_path: Path) -> None:
    dag, timeline = tmp_path / "dag.svg", tmp_path / "run.png"
    done = rxsteps(folder, "run", "flows.py:graph", "-i", "query=1", "--draw", str(dag),
                   "--timeline", str(timeline), "--scheduler", "asyncio",
                   "--max-concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert ">double<" in dag.read_text()
    assert timeline.stat().st_size > 5000
    assert f"wrote {dag}" in done.stdout


def test_a_factory_function_is_called(folder: Path) -> None:
    assert rxsteps(folder, "run", "flows.py:make").returncode == 0


def test_a_module_target(folder: Path) -> None:
    done = rxsteps(folder, "check", "flows:graph")
    assert done.returncode == 0, done.stderr


# -- one-line errors ------------------------------------------------------------------------


def test_a_cycle_is_one_line_naming_the_path(folder: Path) -> None:
    line = one_error_line(rxsteps(folder, "run", "cycle.py:graph"))
    assert line in ("rxsteps: error: cycle in step graph: a -> b -> a",
                    "rxsteps: error: cycle in step graph: b -> a -> b")
    assert one_error_line(rxsteps(folder, "check", "cycle.py:graph")) == line


@pytest.mark.parametrize(("target", "expected"), [
    ("missing.py:graph", "cannot load file 'missing.py': no such file"),
    ("flows.py:grpah", "file 'flows.py' has no attribute 'grpah'; did you mean 'graph'?"),
    ("no_such_package.flows:graph", "cannot import module 'no_such_package.flows': no module "
                                    "named 'no_such_package'"),
    ("flows.py:not_a_graph", "flows.py:not_a_graph is a int, not a StepGraph"),
    ("broken.py:graph", "cannot load file 'broken.py': ModuleNotFoundError: No module named "
                        "'no_such_module_for_rxsteps_tests' (at broken.py:2)"),
])
def test_a_target_that_cannot_be_loaded(folder: Path, target: str, expected: str) -> None:
    assert expected in one_error_line(rxsteps(folder, "run", target))


@pytest.mark.parametrize(("args", "expected"), [
    (["--input", "query"], "--input expects name=value, got 'query'"),
    (["--input", "qeury=1"], "unknown input 'qeury'; did you mean 'query'?"),
    ([], "missing input 'query'"),
    (["-i", "query=1", "--max-concurrency", "0"], "expected a positive whole number"),
    (["-i", "query=1", "--draw", "dag.gif"], "--draw 'dag.gif': use a .png, .svg or .pdf"),
    (["-i", "query=1", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_command_lines(folder: Path, args: list[str], expected: str) -> None:
    assert expected in one_error_line(rxsteps(folder, "run", "flows.py:graph", *args))


# -- check and draw -------------------------------------------------------------------------


def test_check_prints_the_graph(folder: Path) -> None:
    done = rxsteps(folder, "check", "flows.py:graph")
    assert done.returncode == 0
    assert "query (input)" in done.stdout
    assert done.stdout.strip().endswith("ok: 3 steps, 1 input")


@pytest.mark.parametrize("suffix", [".svg", ".png", ".mmd", ".txt"])
def test_draw(folder: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"dag{suffix}"
    done = rxsteps(folder, "draw", "flows.py:graph", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 0
    if suffix == ".mmd":
        assert out.read_text().startswith("flowchart LR")
    if suffix == ".svg":
        assert all(f">{name}<" in out.read_text() for name in ("load", "double", "echo"))


def test_draw_shows_a_cycle_then_fails_with_it(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "cycle.svg"
    done = rxsteps(folder, "draw", "cycle.py:graph", "-o", str(out))
    assert done.returncode == 2
    assert done.stdout == f"wrote {out} (the cycle in red)\n"
    assert one_error_line(done) in ("rxsteps: error: cycle in step graph: a -> b -> a",
                                    "rxsteps: error: cycle in step graph: b -> a -> b")
    svg = out.read_text()
    assert "<title>a</title>" in svg and "<title>b</title>" in svg
    assert svg.count('id="edge:') == 2


def test_draw_refuses_an_unknown_format(folder: Path) -> None:
    assert ".png, .svg or .pdf" in one_error_line(
        rxsteps(folder, "draw", "flows.py:graph", "-o", "dag.gif"))


# -- in-process pieces ----------------------------------------------------------------------


def test_parse_inputs() -> None:
    assert parse_inputs(["a=1", "b=[1, 2]", "c=x=y", "d=", "e=null"]) == {
        "a": 1, "b": [1, 2], "c": "x=y", "d": "", "e": None}
    with pytest.raises(UsageError):
        parse_inputs(["=1"])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_reporter_choice() -> None:
    graph = StepGraph([Step("a", lambda: 1)])
    assert isinstance(make_reporter(graph, io.StringIO(), start=0.0), PlainReporter)
    assert isinstance(make_reporter(graph, _Terminal(), start=0.0), LiveReporter)
    assert isinstance(make_reporter(graph, _Terminal(), start=0.0, live=False), PlainReporter)
    assert isinstance(make_reporter(graph, _Terminal(), start=0.0, json_lines=True),
                      JsonReporter)


def test_live_reporter_shows_every_step_and_the_progress() -> None:
    graph = StepGraph([Step("first", lambda: 1), Step("second", lambda a: a, ["first"]),
                       Step("tokens", lambda a: iter("abc"), ["first"])])
    out = _Terminal()
    reporter = make_reporter(graph, out, start=0.0)
    reporter.open()
    result = run(graph, on_event=reporter.on_event)
    reporter.close(result)
    text = out.getvalue()
    assert "first" in text and "second" in text and "3/3 steps" in text
    assert "rxsteps: 3 succeeded" in text
    assert reporter.state == {"first": "succeeded", "second": "succeeded",
                              "tokens": "succeeded"}


def test_live_reporter_keeps_busy_rows_when_the_terminal_is_short() -> None:
    graph = StepGraph([Step(f"s{i}", lambda: 1) for i in range(40)])
    reporter = LiveReporter(graph, _Terminal(), start=0.0)
    reporter.state["s30"] = "running"
    reporter.state["s35"] = "failed"
    shown, note = reporter._rows(10)
    assert len(shown) == 9 and {"s30", "s35"} <= set(shown)
    assert note.startswith("31 more: ")


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path: Path) -> None:
    """``rxsteps demo --json | head -1``: no traceback, no error line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rxsteps.cli", "demo", "--json", "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # like head -1
    stderr = process.stderr.read()
    assert process.wait(timeout=60) in (0, 141)
    assert json.loads(first)["kind"] == "started"
    assert "Traceback" not in stderr and "Broken pipe" not in stderr
