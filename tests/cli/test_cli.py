"""The ``rxsteps`` command line, run as a subprocess: exit codes, output, one-line errors."""

from __future__ import annotations

import html
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
from rxsteps.cli.progress import JsonReporter, PlainReporter
from rxsteps.cli.reporters import make_reporter
from tests.support.isolated import tree_env
from tests.support.terminal import Terminal

FLOWS = '''
import time
from decimal import Decimal
from rxsteps import Step, StepGraph, current

graph = StepGraph([
    Step("load", lambda q: q, ["query"]),
    Step("double", lambda x: x * 2, ["load"]),
    Step("echo", lambda q: {"type": type(q).__name__, "value": q}, ["query"]),
], inputs=["query"])

echo = StepGraph([Step("echo", lambda q: {"type": type(q).__name__, "value": q}, ["query"])],
                 inputs=["query"])

def boom(x):
    raise ValueError("boom")

failing = StepGraph([
    Step("ok", lambda: 1),
    Step("boom", boom, ["ok"]),
    Step("after", lambda b: b, ["boom"]),
    Step("side", lambda: time.sleep(0.2) or "side done"),
])

def parse(text):
    return int(text)

def convert(x):
    try:
        return parse("seven")
    except ValueError as error:
        raise RuntimeError("could not convert") from error

chained = StepGraph([Step("ok", lambda: 1), Step("convert", convert, ["ok"])])

slow = StepGraph([Step("slow", lambda: current().wait(30), timeout=0.05)])

def words():
    yield from ("hello", "big", "world")

streams = StepGraph([Step("words", words)])

odd = StepGraph([
    Step("price", lambda: Decimal("1.10")),
    Step("nan", lambda: float("nan")),
    Step("text", lambda: "nan"),
])

def check_pictures():
    import sys
    return "matplotlib" in sys.modules

pictures = StepGraph([Step("imported", check_pictures)])

many = StepGraph([Step(f"s{i:02d}", lambda: 1) for i in range(12)])

def make():
    return StepGraph([Step("a", lambda: 1)])

not_a_graph = 42
'''

CYCLE = '''
from rxsteps import Step, StepGraph
graph = StepGraph([Step("a", lambda b: b, ["b"]), Step("b", lambda a: a, ["a"])])
'''

BROKEN = "import rxsteps\nimport no_such_module_for_rxsteps_tests\n"

BIG = '''
from rxsteps import Step, StepGraph
graph = StepGraph([Step("s0", lambda: 1)] +
                  [Step(f"s{i}", lambda x: x, [f"s{i - 1}"]) for i in range(1, 100)])
'''


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("targets")
    (path / "flows.py").write_text(textwrap.dedent(FLOWS))
    (path / "cycle.py").write_text(textwrap.dedent(CYCLE))
    (path / "broken.py").write_text(BROKEN)
    (path / "big.py").write_text(textwrap.dedent(BIG))
    return path


def rxsteps(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rxsteps.cli", *args], capture_output=True,
                          text=True, cwd=folder, timeout=60, stdin=subprocess.DEVNULL,
                          env=tree_env())


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


def line_of(text: str, source: str) -> int:
    """The line number of ``text`` in ``source`` (as written to the target file)."""
    lines = textwrap.dedent(source).splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def without_carets(text: str) -> str:
    """``text`` without the ``^^^`` lines Python adds under a frame (versions differ)."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if line.strip(" ^~\n") or not line.strip())


def test_run_prints_plain_progress_when_not_on_a_terminal(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:graph", "--input-json", "query=21")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    events = plain_events(done.stdout)
    assert ("started", "load") in events and ("succeeded", "double") in events
    assert events.index(("succeeded", "load")) < events.index(("started", "double"))
    assert any(line.startswith("rxsteps: 3 succeeded in ") for line in lines)
    assert "double = 42" in lines
    assert "\x1b[" not in done.stdout  # no terminal codes in a pipe


def test_run_json_lines_parse(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:graph", "-j", "query=3", "--json")
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


def echoed(done: subprocess.CompletedProcess[str]) -> object:
    assert done.returncode == 0, done.stderr
    return next(json.loads(line)["value"] for line in done.stdout.splitlines()
                if '"echo"' in line and '"succeeded"' in line)


@pytest.mark.parametrize(("args", "expected"), [
    (["--input", "query=hello world"], {"type": "str", "value": "hello world"}),
    (["-i", "query=null"], {"type": "str", "value": "null"}),
    (["-i", "query=42"], {"type": "str", "value": "42"}),
    (["-j", "query=42"], {"type": "int", "value": 42}),
    (["-j", "query=null"], {"type": "NoneType", "value": None}),
    (["--input-json", 'query={"k": [1, "a"]}'], {"type": "dict", "value": {"k": [1, "a"]}}),
])
def test_dash_i_is_always_text_and_dash_j_is_json(
    folder: Path, args: list[str], expected: dict[str, object],
) -> None:
    assert echoed(rxsteps(folder, "run", "flows.py:echo", *args, "--json")) == expected


def test_a_failed_step_exits_1_naming_the_line_it_failed_on(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:failing")
    assert done.returncode == 1
    line = line_of('raise ValueError("boom")', FLOWS)
    assert done.stderr == (f"rxsteps: step 'boom' failed: ValueError: boom "
                           f"(at flows.py:{line} in boom)\n")
    assert ("failed", "boom") in plain_events(done.stdout)


@pytest.mark.parametrize("where", ["before", "after"])
def test_traceback_shows_the_steps_own_frames(folder: Path, where: str) -> None:
    args = ["run", "flows.py:chained"]
    done = rxsteps(folder, *(["--traceback", *args] if where == "before"
                             else [*args, "--traceback"]))
    assert done.returncode == 1
    path = str(folder / "flows.py")
    raised = line_of("raise RuntimeError", FLOWS)
    at = f"(at flows.py:{raised} in convert)"
    assert without_carets(done.stderr) == textwrap.dedent(f"""\
        rxsteps: step 'convert' failed: RuntimeError: could not convert {at}
        Traceback of step 'convert' (rxsteps and reactivex frames left out):
        Traceback (most recent call last):
          File "{path}", line {line_of('return parse("seven")', FLOWS)}, in convert
            return parse("seven")
          File "{path}", line {line_of('return int(text)', FLOWS)}, in parse
            return int(text)
        ValueError: invalid literal for int() with base 10: 'seven'

        The above exception was the direct cause of the following exception:

        Traceback (most recent call last):
          File "{path}", line {raised}, in convert
            raise RuntimeError("could not convert") from error
        RuntimeError: could not convert
        """)


def test_a_timeout_has_no_line_of_its_own(folder: Path) -> None:
    done = rxsteps(folder, "--traceback", "run", "flows.py:slow")
    assert done.returncode == 1
    message = "StepTimeoutError: step 'slow' timed out after 0.05 s (attempt 1)"
    assert done.stderr == (f"rxsteps: step 'slow' failed: {message}\n"
                           "Traceback of step 'slow' (rxsteps and reactivex frames left out):\n"
                           f"rxsteps.errors.{message}\n")


def test_a_stream_shows_each_value_and_its_whole_text(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:streams")
    assert done.returncode == 0, done.stderr
    assert re.findall(r"emitted +words +(#\d '\w+')", done.stdout) == [
        "#1 'hello'", "#2 'big'", "#3 'world'"]
    assert done.stdout.endswith("words: (3 values)\n  hello big world\n")


def test_json_marks_what_json_cannot_hold(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:odd", "--json")
    assert done.returncode == 0, done.stderr
    values = {r["step"]: r["value"] for r in map(json.loads, done.stdout.splitlines())
              if r["kind"] == "succeeded"}
    assert values == {"price": {"$repr": "Decimal('1.10')", "$type": "decimal.Decimal"},
                      "nan": {"$repr": "nan", "$type": "float"}, "text": "nan"}


def test_json_times_and_duration_share_one_clock(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:failing", "--keep-going", "--json")
    records = [json.loads(line) for line in done.stdout.splitlines()]
    summary = records.pop()
    assert summary["kind"] == "summary" and summary["interrupted"] is False
    times = [r["time"] for r in records]
    assert times == sorted(times) and times[0] >= 0
    assert summary["duration"] >= times[-1] >= 0.2  # "side" sleeps 0.2 s: the last to end
    failed = next(r for r in records if r["kind"] == "failed")
    assert failed["location"] == f"flows.py:{line_of('raise ValueError', FLOWS)} in boom"


def test_the_run_starts_before_matplotlib_is_imported(folder: Path, tmp_path: Path) -> None:
    """Drawing waits until after the run: its import does not delay the first frame."""
    dag = tmp_path / "dag.png"
    done = rxsteps(folder, "run", "flows.py:pictures", "--draw", str(dag), "--json")
    assert done.returncode == 0, done.stderr
    imported = next(r["value"] for r in map(json.loads, done.stdout.splitlines())
                    if r["kind"] == "succeeded")
    assert imported is False
    assert dag.stat().st_size > 0


def test_many_final_values_are_cut_short(folder: Path) -> None:
    done = rxsteps(folder, "run", "flows.py:many")
    assert done.returncode == 0, done.stderr
    finals = done.stdout.split("critical path", 1)[1].splitlines()[1:]
    assert finals == [*(f"s{i:02d} = 1" for i in range(10)),
                      "... and 2 more final steps (--json shows every value)"]


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


def _svg_ids(path: Path, kind: str) -> int:
    return path.read_text(encoding="utf-8").count(f'<g id="{kind}:')


def test_full_draws_every_step_of_a_big_graph(folder: Path, tmp_path: Path) -> None:
    groups, every = tmp_path / "groups.svg", tmp_path / "every.svg"
    assert rxsteps(folder, "draw", "big.py", "-o", str(groups)).returncode == 0
    done = rxsteps(folder, "draw", "big.py", "-o", str(every), "--full")
    assert done.returncode == 0, done.stderr
    assert _svg_ids(groups, "node") == 0 and _svg_ids(groups, "group") > 0
    assert (_svg_ids(every, "node"), _svg_ids(every, "group")) == (100, 0)
    assert done.stdout == f"wrote {every}\n"  # every step: nothing to add


def test_writing_an_overview_names_the_full_switch(folder: Path, tmp_path: Path) -> None:
    groups, dag, timeline = (tmp_path / name for name in ("big.png", "dag.svg", "run.svg"))
    done = rxsteps(folder, "draw", "big.py", "-o", str(groups))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {groups} (an overview of 100 steps; --full draws every step)\n"
    done = rxsteps(folder, "run", "big.py", "--draw", str(dag), "--timeline", str(timeline),
                   "--json")
    assert done.returncode == 0, done.stderr
    wrote = [line for line in done.stderr.splitlines() if line.startswith("wrote ")]
    assert wrote == [f"wrote {dag} (an overview of 100 steps; --full draws every step)",
                     f"wrote {timeline} (an overview of 100 steps; --full draws every step)"]


def test_full_reaches_both_pictures_of_a_run(folder: Path, tmp_path: Path) -> None:
    dag, timeline = tmp_path / "dag.svg", tmp_path / "run.svg"
    done = rxsteps(folder, "run", "big.py", "--draw", str(dag), "--timeline", str(timeline),
                   "--full", "--json")
    assert done.returncode == 0, done.stderr
    assert (_svg_ids(dag, "node"), _svg_ids(timeline, "lane")) == (100, 100)
    done = rxsteps(folder, "run", "big.py", "--timeline", str(timeline), "--json")
    assert done.returncode == 0, done.stderr
    assert _svg_ids(timeline, "lane") < 100  # without --full: a summary


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
    (["-j", "query"], "--input-json expects name=JSON, got 'query'"),
    (["-j", "query=[1,"], "--input-json query=[1,: not JSON (Expecting value: line 1 column 4 "
                          "(char 3)); quote a string as JSON (-j 'query=\"[1,\"') or give it "
                          "with -i query=[1,"),
    (["-i", "query=1", "-j", "query=1"], "input 'query' is given twice; give each input once"),
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
    assert done.stdout == f"wrote {out} (the cycle highlighted)\n"
    assert one_error_line(done) in ("rxsteps: error: cycle in step graph: a -> b -> a",
                                    "rxsteps: error: cycle in step graph: b -> a -> b")
    svg = out.read_text()
    error = one_error_line(done).removeprefix("rxsteps: error: ")
    assert f">{html.escape(error, quote=False)}<" in svg  # the picture's title: the same
    assert "<title>a</title>" in svg and "<title>b</title>" in svg
    assert svg.count('id="edge:') == 2


def test_draw_refuses_an_unknown_format(folder: Path) -> None:
    assert ".png, .svg or .pdf" in one_error_line(
        rxsteps(folder, "draw", "flows.py:graph", "-o", "dag.gif"))


# -- in-process pieces ----------------------------------------------------------------------


def test_parse_inputs() -> None:
    assert parse_inputs(["a=1", "b=[1, 2]", "c=x=y", "d=", "e=null"], ["f=1", "g=null"]) == {
        "a": "1", "b": "[1, 2]", "c": "x=y", "d": "", "e": "null", "f": 1, "g": None}
    with pytest.raises(UsageError, match=r"^--input expects name=value, got '=1'$"):
        parse_inputs(["=1"])
    with pytest.raises(UsageError) as caught:
        parse_inputs(json_texts=["n=x"])
    assert isinstance(caught.value.__cause__, json.JSONDecodeError)


def test_reporter_choice() -> None:
    graph = StepGraph([Step("a", lambda: 1)])
    assert isinstance(make_reporter(graph, io.StringIO(), start=0.0), PlainReporter)
    assert isinstance(make_reporter(graph, Terminal(), start=0.0), LiveReporter)
    assert isinstance(make_reporter(graph, Terminal(), start=0.0, live=False), PlainReporter)
    assert isinstance(make_reporter(graph, Terminal(), start=0.0, json_lines=True),
                      JsonReporter)


def test_live_reporter_shows_every_step_and_the_progress() -> None:
    graph = StepGraph([Step("first", lambda: 1), Step("second", lambda a: a, ["first"]),
                       Step("tokens", lambda a: iter("abc"), ["first"])])
    out = Terminal()
    reporter = make_reporter(graph, out, start=0.0)
    reporter.open()
    result = run(graph, on_event=reporter.on_event)
    reporter.close(result)
    text = out.getvalue()
    assert "first" in text and "second" in text and "3/3 steps" in text
    assert "rxsteps: 3 succeeded" in text
    assert reporter.state == {"first": "succeeded", "second": "succeeded",
                              "tokens": "succeeded"}


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path: Path) -> None:
    """``rxsteps demo --json | head -1``: no traceback, no error line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rxsteps.cli", "demo", "--json", "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=tree_env(),
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # like head -1
    stderr = process.stderr.read()
    assert process.wait(timeout=60) in (0, 141)
    assert json.loads(first)["kind"] == "started"
    assert "Traceback" not in stderr and "Broken pipe" not in stderr


def test_a_closed_pipe_cancels_the_run_and_exits_141(tmp_path: Path) -> None:
    """``rxsteps run … | head -1`` stops the run when the pipe closes, instead of
    running every remaining step, and exits as a shell expects after SIGPIPE."""
    calls = tmp_path / "calls.txt"
    (tmp_path / "chain.py").write_text(textwrap.dedent(f"""
        import threading
        from rxsteps import Step, StepGraph

        def step(i):
            def action(*_):
                with open({str(calls)!r}, "a") as out:
                    out.write(f"{{i}}\\n")
                threading.Event().wait(0.05)
                return i
            return action

        graph = StepGraph([Step("s0", step(0))] +
                          [Step(f"s{{i}}", step(i), [f"s{{i - 1}}"]) for i in range(1, 60)])
    """))
    process = subprocess.Popen(
        [sys.executable, "-m", "rxsteps.cli", "run", "chain:graph", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env=tree_env(),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # like head -1
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141
    assert "Traceback" not in stderr
    assert len(calls.read_text().split()) < 20  # a 60-step chain of 50 ms steps: 3 s
