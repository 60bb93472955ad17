"""``rxsteps run --limit NAME=N --rate NAME=SPEC``, and cache hits in the run's output."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rxsteps import EventKind, OptionError, Step, StepEvent, StepGraph, run
from rxsteps.cli.live import LiveReporter
from rxsteps.cli.progress import PlainReporter, summary_line
from rxsteps.cli.resources import ResourceUsageError, parse_limits, parse_rates
from tests.support.isolated import tree_env
from tests.support.terminal import frame

FLOW = '''
from rxsteps import Step, StepGraph

graph = StepGraph([Step("ask", lambda: "a", uses="llm"), Step("check", lambda: "c", uses="llm"),
                   Step("search", lambda: "s", uses={"web": 2})])

def count():
    with open("calls.txt", "a") as f:
        f.write("x")
    return 42

cached = StepGraph([Step("answer", count, cache=True), Step("fresh", lambda: "new")])
'''


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("resources")
    (path / "flow.py").write_text(FLOW)
    return path


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rxsteps.cli", *args], cwd=folder,
                          capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, env=tree_env())


def json_events(done: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_limit_of_one_runs_the_steps_that_use_it_one_at_a_time(folder: Path) -> None:
    events = json_events(cli(folder, "run", "flow:graph", "--json", "--limit", "llm=1",
                             "--limit", "web=2"))
    llm = [(e["kind"], e["step"]) for e in events if e.get("step") in ("ask", "check")]
    waiting = [e for e in events if e["kind"] == "waiting"]
    assert len(waiting) == 1 and waiting[0]["reason"] == "resource 'llm'"
    second = waiting[0]["step"]
    first = "check" if second == "ask" else "ask"
    assert llm.index(("started", second)) > llm.index(("succeeded", first))
    assert events[-1]["ok"] is True


def test_plain_output_says_what_a_step_waits_for(folder: Path) -> None:
    done = cli(folder, "run", "flow:graph", "--plain", "--limit", "llm=1", "--limit", "web=2")
    assert done.returncode == 0, done.stderr
    assert re.search(r"\] waiting    (ask|check)  resource 'llm'$", done.stdout, re.M), \
        done.stdout


def test_a_rate_holds_back_the_second_start(folder: Path) -> None:
    events = json_events(cli(folder, "run", "flow:graph", "--json", "--rate", "llm=1/s",
                             "--limit", "web=2"))
    waiting = [e for e in events if e["kind"] == "waiting"]
    assert [e["reason"] for e in waiting] == ["rate 'llm'"]
    started = {e["step"]: e["time"] for e in events if e["kind"] == "started"}
    assert isinstance(started["ask"], float) and isinstance(started["check"], float)
    assert abs(started["ask"] - started["check"]) > 0.5  # one token a second


def test_without_limits_the_steps_are_not_held_back(folder: Path) -> None:
    events = json_events(cli(folder, "run", "flow:graph", "--json"))
    assert not [e for e in events if e["kind"] == "waiting"]


@pytest.mark.parametrize(("args", "expected"), [
    (["--limit", "llm"], "--limit expects NAME=N, got 'llm'"),
    (["--limit", "=4"], "--limit expects NAME=N, got '=4'"),
    (["--limit", "llm=0"], "--limit llm=0: the capacity must be a positive whole number, "
                           "such as --limit llm=4"),
    (["--limit", "llm=2.5"], "--limit llm=2.5: the capacity must be a positive whole "
                             "number, such as --limit llm=4"),
    (["--limit", "llm=1", "--limit", "llm=2"], "--limit 'llm' is given twice; give each "
                                               "resource once"),
    (["--rate", "llm"], "--rate expects NAME=SPEC, got 'llm'"),
    (["--rate", "llm=60/fortnight"], "--rate llm=60/fortnight: a rate looks like 60/min, "
                                     "5/s or 1000/h, such as --rate llm=60/min"),
    (["--rate", "llm=0/s"], "--rate llm=0/s: a rate looks like 60/min, 5/s or 1000/h, such "
                            "as --rate llm=60/min"),
    (["--limit", "llm=1"], "step 'search' uses resource 'web', which no --limit or --rate "
                           "names (known: 'llm'); add --limit web=N or --rate web=SPEC"),
    (["--limit", "llm=1", "--rate", "wbe=5/s"],
     "step 'search' uses resource 'web', which no --limit or --rate names (did you mean "
     "'wbe'? known: 'llm', 'wbe'); add --limit web=N or --rate web=SPEC"),
    (["--limit", "llm=1", "--limit", "web=1"],
     "step 'search' needs 2 units of 'web' but --limit web=1, so it could never start; "
     "raise it to --limit web=2 or lower the step's uses"),
])
def test_bad_limits_are_one_error_line_and_exit_2(folder: Path, args: list[str],
                                                   expected: str) -> None:
    done = cli(folder, "run", "flow:graph", *args)
    assert done.returncode == 2, done
    assert done.stderr == f"rxsteps: error: {expected}\n"
    assert done.stdout == ""  # refused before anything ran


def test_parsing_keeps_the_cause_and_names_the_resource() -> None:
    assert parse_limits(["llm=4", " web = 20"]) == {"llm": 4, "web": 20}
    assert parse_rates(["llm= 60/min ", "web=5/s"]) == {"llm": "60/min", "web": "5/s"}
    with pytest.raises(ResourceUsageError) as refused:
        parse_rates(["llm=fast"])
    assert (refused.value.option, refused.value.resource) == ("--rate", "llm")
    assert isinstance(refused.value.__cause__, OptionError)
    assert isinstance(refused.value, ValueError)


def test_runs_resume_takes_limits_too(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    first = cli(tmp_path, "run", "flow:graph", "--plain", "--limit", "llm=1", "--limit",
                "web=2", "--store", "runs.db", "--run-id", "one")
    assert first.returncode == 0, first.stderr
    again = cli(tmp_path, "runs", "resume", "--store", "runs.db", "one", "flow:graph",
                "--plain", "--limit", "llm=0")
    assert again.stderr == ("rxsteps: error: --limit llm=0: the capacity must be a positive "
                            "whole number, such as --limit llm=4\n")


# -- cache hits -----------------------------------------------------------------------------


def test_a_cache_hit_is_shown_in_the_lines_and_the_summary(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    store = ["--store", "runs.db"]
    first = cli(tmp_path, "run", "flow:cached", "--plain", *store, "--run-id", "one")
    assert first.returncode == 0, first.stderr
    assert re.search(r"^rxsteps: 2 succeeded in ", first.stdout, re.M), first.stdout
    second = cli(tmp_path, "run", "flow:cached", "--plain", *store, "--run-id", "two")
    assert second.returncode == 0, second.stderr
    assert re.search(r"\] succeeded  answer  \(\d+\.\d{3} s\) cached$", second.stdout, re.M)
    assert re.search(r"^rxsteps: 2 succeeded \(1 cached\) in ", second.stdout, re.M)
    assert (tmp_path / "calls.txt").read_text() == "x"


def test_the_live_table_marks_a_cached_step() -> None:
    graph = StepGraph([Step("answer", lambda: 1), Step("fresh", lambda: 2)])
    reporter = LiveReporter(graph, io.StringIO(), start=10.0)
    for step, reason in (("answer", "cached"), ("fresh", None)):
        reporter.on_event(StepEvent(EventKind.STARTED, step, time=10.1))
        reporter.on_event(StepEvent(EventKind.SUCCEEDED, step, time=10.2, reason=reason))
    rows = frame(reporter)
    assert any(re.search(r"answer +succeeded +\d\.\d\ds +cached$", row) for row in rows), rows
    assert any(re.search(r"fresh +succeeded +\d\.\d\ds$", row) for row in rows), rows


def test_a_resumed_step_keeps_its_note_in_the_plain_lines() -> None:
    out = io.StringIO()
    reporter = PlainReporter(StepGraph([Step("a", lambda: 1)]), out, start=0.0)
    reporter.on_event(StepEvent(EventKind.SUCCEEDED, "a", time=0.5, reason="resumed"))
    assert reporter.note["a"] == "resumed"
    assert out.getvalue().endswith("succeeded  a  (0.000 s) resumed\n")


def test_the_summary_counts_cache_hits(tmp_path: Path) -> None:
    graph = StepGraph([Step("a", lambda: 1, cache=True), Step("b", lambda: 2)])
    store = str(tmp_path / "runs.db")
    run(graph, store=store, run_id="one")
    line = summary_line(run(graph, store=store, run_id="two"))
    assert line.startswith("rxsteps: 2 succeeded (1 cached) in ")
