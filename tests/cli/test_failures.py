"""rxsteps.cli.failures: a step's own traceback and the line it failed on."""

from __future__ import annotations

import inspect
import json
import traceback
from pathlib import Path

import reactivex

import rxsteps
from rxsteps import Step, StepGraph, run
from rxsteps.cli.failures import describe_error, format_traceback, location, user_frames

ENGINE = (str(Path(rxsteps.__file__).parent), str(Path(reactivex.__file__).parent))


def parse(text: str) -> int:
    return int(text)


def convert(x: int) -> int:
    try:
        return parse("seven")
    except ValueError as error:
        raise RuntimeError("could not convert") from error


def failure(action: object) -> BaseException:
    """The exception of a step that ran ``action`` on the threads scheduler."""
    result = run(StepGraph([Step("ok", lambda: 1), Step("bad", action, ["ok"])]),
                 fail_fast=False)
    return result.errors["bad"]


def line_of(function: object, text: str) -> int:
    lines, first = inspect.getsourcelines(function)  # type: ignore[arg-type]
    return first + next(n for n, line in enumerate(lines) if text in line)


def test_the_engine_frames_are_there_to_leave_out() -> None:
    raw = traceback.extract_tb(failure(convert).__traceback__)
    assert any(frame.filename.startswith(ENGINE) for frame in raw)


def test_user_frames_keep_only_the_steps_code() -> None:
    error = failure(convert)
    frames = user_frames(traceback.extract_tb(error.__traceback__))
    assert [(frame.name, frame.lineno) for frame in frames] == [
        ("convert", line_of(convert, "raise RuntimeError"))]
    cause = error.__cause__
    assert cause is not None
    frames = user_frames(traceback.extract_tb(cause.__traceback__))
    assert [frame.name for frame in frames] == ["convert", "parse"]


def test_the_location_is_the_innermost_line_of_the_users_code() -> None:
    error = failure(lambda ok: parse("x"))
    assert location(error) == f"tests/cli/test_failures.py:{line_of(parse, 'int(text)')} in parse"


def test_a_library_frame_is_not_the_location() -> None:
    """json.loads raises deep in the json package; the location is the caller's line."""
    def load(ok: int) -> object:
        return json.loads("{bad")

    error = failure(load)
    assert location(error) == f"tests/cli/test_failures.py:{line_of(load, 'loads')} in load"
    shown = format_traceback(error)
    assert "json/decoder.py" in shown  # kept in the traceback, as Python shows it


def test_an_error_the_engine_raised_has_no_location() -> None:
    result = run(StepGraph([Step("slow", lambda: rxsteps.current().wait(30), timeout=0.05)]),
                 fail_fast=False)
    error = result.errors["slow"]
    assert location(error) is None
    assert format_traceback(error) == f"rxsteps.errors.{describe_error(error)}\n"


def test_the_traceback_keeps_the_chain_and_drops_the_engine() -> None:
    shown = format_traceback(failure(convert))
    assert "The above exception was the direct cause of the following exception:" in shown
    assert shown.count("Traceback (most recent call last):") == 2
    files = [line.split('"')[1] for line in shown.splitlines() if line.startswith("  File ")]
    assert files == [__file__] * 3
    assert shown.endswith("RuntimeError: could not convert\n")
