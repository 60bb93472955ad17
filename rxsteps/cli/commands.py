"""The ``rxsteps`` command: run, check and draw step graphs, or watch the demo.

::

    rxsteps [--traceback] run TARGET [-i name=text ...] [-j name=JSON ...]
                       [--scheduler threads|asyncio] [--max-concurrency N]
                       [--limit NAME=N ...] [--rate NAME=SPEC ...]
                       [--keep-going] [--draw dag.png] [--timeline run.png] [--full]
                       [--json] [--plain]
    rxsteps check TARGET
    rxsteps draw TARGET [-o dag.svg] [--full]
    rxsteps demo [--out DIR]

TARGET is ``path/to/file.py:graph`` or ``package.module:graph`` (see
:mod:`rxsteps.cli.target`). ``-i``/``--input name=text`` gives an input as a string,
always; ``-j``/``--input-json name=JSON`` parses JSON (``-j n=3``,
``-j 'tags=["a","b"]'``). ``--limit llm=4`` and ``--rate llm=60/min`` are the run's
``limits=`` and ``rates=`` (see :mod:`rxsteps.cli.resources`).

Progress goes to standard output: a live table on a terminal (with ``rich``), plain
lines otherwise, JSON lines with ``--json``. A failed step is named on standard error
with the line it failed on; ``--traceback`` adds its traceback (its own frames, not
rxsteps'). Exit status: 0 when every step succeeded, 1 when a step failed, 2 for a
usage or graph error — reported as one ``rxsteps: error: ...`` line on standard
error, without a traceback — and 130 when interrupted.

Example:
    >>> main(["check", "rxsteps.cli.demo:build_graph"])  # doctest: +ELLIPSIS
    ╙── question (input)
    ...
    ok: 10 steps, 1 input
    0
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from .._version import __version__
from ..api import run
from ..errors import (
    GraphError,
    InputError,
    ResourceError,
    SchedulerError,
    StepFailedError,
    StoreError,
    UsageError,
)
from ..events import StepEvent
from ..execution.checks import check_run
from ..execution.options import RunOptions
from ..graph import StepGraph
from ..result import RunResult, StepStatus
from .failures import describe_error, format_traceback, location
from .progress import Reporter
from .reporters import make_reporter
from .resources import ResourceUsageError, cli_resource_error, parse_limits, parse_rates
from .runs import Toolkit, add_runs_command
from .target import TargetError, load_graph
from .values import one_line, stream_text

__all__ = ["main", "parse_inputs"]

_PICTURES = (".png", ".svg", ".pdf")
_FULL_HELP = ("draw every step, however big the graph or run (without it, big ones are "
              "drawn as groups of steps)")
_TEXTS = {".mmd": "mermaid", ".mermaid": "mermaid", ".txt": "text"}
_FINAL_VALUES = 10  # final steps whose values are printed after a run; --json has all


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rxsteps`` command line.

    Args:
        argv: The arguments, without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 success, 1 a step failed, 2 usage or graph error,
        130 interrupted, 141 the output was closed by its reader (``| head``).

    Example:
        >>> main(["check", "no_such_module:graph"])
        2
    """
    parser = _parser()
    debug = "--traceback" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        status: int = args.command(args)
        return status
    except BrokenPipeError:  # the reader closed our output (``| head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (UsageError, ResourceUsageError, TargetError, GraphError, InputError,
            SchedulerError, StoreError, ImportError, OSError, ValueError) as error:
        if debug:
            traceback.print_exc()
        print(f"rxsteps: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rxsteps: interrupted", file=sys.stderr)
        return 130


def parse_inputs(texts: Sequence[str] = (), json_texts: Sequence[str] = ()) -> dict[str, Any]:
    """The run inputs of ``-i name=text`` (strings, always) and ``-j name=JSON`` pairs.

    Args:
        texts: ``name=text`` strings; each value is the text after the first ``=``.
        json_texts: ``name=JSON`` strings; each value is parsed as JSON.

    Returns:
        The inputs by name.

    Raises:
        UsageError: A pair has no ``=`` or an empty name, a ``-j`` value is not JSON
            (the message names the input), or an input is given twice.

    Example:
        >>> parse_inputs(["q=hello world", "n=42", "x=null"], ['tags=["a"]', "k=3"])
        {'q': 'hello world', 'n': '42', 'x': 'null', 'tags': ['a'], 'k': 3}
        >>> parse_inputs(json_texts=["k=three"])
        Traceback (most recent call last):
        ...
        rxsteps.errors.UsageError: --input-json k=three: not JSON (Expecting value: \
line 1 column 1 (char 0)); quote a string as JSON (-j 'k="three"') or give it with -i k=three
    """
    inputs: dict[str, Any] = {}
    pairs = [(pair, False) for pair in texts] + [(pair, True) for pair in json_texts]
    for pair, is_json in pairs:
        option = "--input-json" if is_json else "--input"
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"{option} expects name={'JSON' if is_json else 'value'}, "
                             f"got {pair!r}")
        if name in inputs:
            raise UsageError(f"input {name!r} is given twice; give each input once")
        inputs[name] = _json_input(name, raw) if is_json else raw
    return inputs


def _json_input(name: str, raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        where = (f": line {error.lineno} column {error.colno} (char {error.pos})"
                 if isinstance(error, json.JSONDecodeError) else "")
        raise UsageError(
            f"--input-json {name}={raw}: not JSON ({reason}{where}); quote a string as "
            f"JSON (-j '{name}=\"{raw}\"') or give it with -i {name}={raw}"
        ) from error


def _parser() -> _Parser:
    parser = _Parser(prog="rxsteps", description="Run, check and draw rxsteps step graphs.")
    parser.add_argument("--version", action="version", version=f"rxsteps {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show tracebacks: a failed step's (its own frames), or an "
                        "error's (for debugging)")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    target_help = "path/to/file.py:graph or package.module:graph"

    run_cmd = commands.add_parser("run", help="run a step graph, showing progress")
    run_cmd.add_argument("target", metavar="TARGET", help=target_help)
    run_cmd.add_argument("--input", "-i", action="append", default=[], metavar="NAME=TEXT",
                         help="a run input, as a string (always); repeat for each input")
    run_cmd.add_argument("--input-json", "-j", action="append", default=[],
                         metavar="NAME=JSON", help="a run input parsed as JSON "
                         "(-j n=3, -j 'tags=[\"a\"]'); repeat for each input")
    _add_run_options(run_cmd)
    run_cmd.add_argument("--draw", metavar="FILE", help="draw the graph, coloured by the run")
    run_cmd.add_argument("--timeline", metavar="FILE", help="write the run's timeline")
    run_cmd.add_argument("--full", action="store_true", help=_FULL_HELP)
    run_cmd.set_defaults(command=_run_command)

    check = commands.add_parser("check", help="validate a step graph and print it")
    check.add_argument("target", metavar="TARGET", help=target_help)
    check.set_defaults(command=_check_command)

    draw = commands.add_parser("draw", help="draw a step graph (.png .svg .pdf .mmd .txt)")
    draw.add_argument("target", metavar="TARGET", help=target_help)
    draw.add_argument("-o", "--output", default="dag.png", metavar="FILE",
                      help="where to write (default: dag.png)")
    draw.add_argument("--full", action="store_true", help=_FULL_HELP)
    draw.set_defaults(command=_draw_command)

    demo = commands.add_parser("demo", help="run the bundled research-agent demo")
    demo.add_argument("--out", default="rxsteps-demo", metavar="DIR",
                      help="where to write dag.png and timeline.png (default: ./rxsteps-demo)")
    _add_run_options(demo)
    demo.set_defaults(command=_demo_command)

    add_runs_command(commands, Toolkit(_add_run_options, _execute, _exit_status,
                                       _check_picture))
    return parser


def _add_run_options(command: argparse.ArgumentParser, *, store: bool = True) -> None:
    command.add_argument("--scheduler", choices=("threads", "asyncio"), default="threads",
                         help="where actions run (default: threads)")
    command.add_argument("--max-concurrency", type=_positive, metavar="N",
                         help="run at most N actions at once")
    command.add_argument("--limit", action="append", default=[], metavar="NAME=N",
                         help="at most N units of resource NAME in use at once (steps "
                              "say uses=NAME); repeat for each resource")
    command.add_argument("--rate", action="append", default=[], metavar="NAME=SPEC",
                         help="at most so many starts of resource NAME's steps: 60/min, "
                              "5/s, 1000/h; repeat for each resource")
    command.add_argument("--keep-going", action="store_true",
                         help="after a failure, run every step that does not depend on it")
    command.add_argument("--json", action="store_true", help="one JSON object per event")
    command.add_argument("--plain", action="store_true",
                         help="plain lines even on a terminal")
    command.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                         help="show the traceback of a failed step (its own frames)")
    if not store:  # rxsteps runs resume: the store and the run are given already
        return
    command.add_argument("--store", metavar="FILE",
                         help="keep the run in this SQLite file; with the same --run-id "
                              "again, resume it (succeeded steps are not run again)")
    command.add_argument("--run-id", metavar="ID", help="the run's id in --store")
    command.add_argument("--fresh", action="store_true",
                         help="forget what --store keeps under --run-id and start over")
    command.add_argument("--serializer", choices=("pickle", "json"), default="pickle",
                         help="how --store writes values (default: pickle)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _run_command(args: argparse.Namespace) -> int:
    graph = load_graph(args.target)
    inputs = parse_inputs(args.input, args.input_json)
    _check_picture(args.draw, "--draw")
    _check_picture(args.timeline, "--timeline")
    result = _execute(graph, inputs, args)
    if result is not None:
        _write_pictures(graph, result, args.draw, args.timeline, args.json,
                        overview=_overview(args))
    return _exit_status(result)


def _check_command(args: argparse.Namespace) -> int:
    graph = load_graph(args.target)
    print(graph.to_text())
    inputs = len(graph.inputs)
    print(f"ok: {len(graph)} step{'s' * (len(graph) != 1)}, "
          f"{inputs} input{'s' * (inputs != 1)}")
    return 0


def _draw_command(args: argparse.Namespace) -> int:
    from ..errors import CycleError
    from ..pictures.drawing import draw_graph, draws_overview

    suffix = Path(args.output).suffix.lower()
    if suffix not in _TEXTS:
        _check_picture(args.output, "-o")
    try:
        graph = load_graph(args.target)
    except CycleError as error:
        # A cycle is when the picture helps most: draw the steps as declared, the cycle
        # highlighted, then fail with the error. load_graph validated the graph it loaded; it
        # is found where validation raised, on the traceback.
        cyclic = next((value for frame, _ in traceback.walk_tb(error.__traceback__)
                       for value in frame.f_locals.values() if isinstance(value, StepGraph)),
                      None)
        if cyclic is not None and suffix not in _TEXTS:
            draw_graph(cyclic, args.output, validate=False, overview=_overview(args))
            notes = ["the cycle highlighted"]
            if draws_overview(cyclic, _overview(args)):
                notes.append(_overview_note(len(cyclic)))
            print(f"wrote {args.output} ({'; '.join(notes)})")
        raise
    if suffix in _TEXTS:
        text = graph.to_mermaid() if _TEXTS[suffix] == "mermaid" else graph.to_text()
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        graph.draw(args.output, overview=_overview(args))
        if draws_overview(graph, _overview(args)):
            print(f"wrote {args.output} ({_overview_note(len(graph))})")
            return 0
    print(f"wrote {args.output}")
    return 0


def _demo_command(args: argparse.Namespace) -> int:
    from .demo import build_graph, demo_inputs

    graph = build_graph()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        _check_picture(str(out / "dag.png"), "--out")
        pictures = True
    except ImportError as error:
        print(f"rxsteps: {error}; running without pictures", file=sys.stderr)
        pictures = False
    print(f"rxsteps demo: a simulated research agent ({len(graph)} steps, offline); "
          "one tool fails once, one hangs until its timeout, the draft streams",
          file=sys.stderr if args.json else sys.stdout)
    result = _execute(graph, demo_inputs(), args)
    if result is not None and pictures:
        _write_pictures(graph, result, str(out / "dag.png"), str(out / "timeline.png"),
                        args.json, notes=("the graph, coloured by status, critical path "
                                          "outlined", "every attempt on a time axis"))
    return _exit_status(result)


def _execute(graph: StepGraph, inputs: dict[str, Any], args: argparse.Namespace
             ) -> RunResult | None:
    """Run with a progress reporter; the result, even of a failed fail-fast run."""
    options: dict[str, Any] = {"scheduler": args.scheduler,
                               "max_concurrency": args.max_concurrency,
                               **_resource_options(args)}
    try:
        check_run(graph, inputs, RunOptions(**options), waits=True)  # starts nothing
    except ResourceError as error:
        raise cli_resource_error(error, graph, options.get("limits", {}),
                                 options.get("rates", {})) from error
    reporter = make_reporter(graph, sys.stdout, start=time.monotonic(),
                             json_lines=args.json, live=False if args.plain else None)
    reporter.open()
    result: RunResult | None = None
    try:
        result = run(graph, inputs, fail_fast=not args.keep_going,
                     on_event=_ends_on_closed_pipe(reporter), **options,
                     **_store_options(args))
    except StepFailedError as failure:
        result = failure.result
    except _PipeClosed:  # the run was cancelled as the reader went away
        raise BrokenPipeError from None
    finally:
        reporter.close(result)
    if result is not None:
        _print_failures(result, with_traceback=getattr(args, "traceback", False))
        if not args.json:
            _print_outputs(graph, result)
    return result


def _resource_options(args: argparse.Namespace) -> dict[str, Any]:
    """``limits=`` and ``rates=`` from ``--limit`` and ``--rate`` (none if not given)."""
    limits, rates = parse_limits(args.limit), parse_rates(args.rate)
    return {**({"limits": limits} if limits else {}), **({"rates": rates} if rates else {})}


def _store_options(args: argparse.Namespace) -> dict[str, Any]:
    """``store=``, ``run_id=``, ``fresh=``, ``serializer=`` from the command line."""
    if args.store is None and args.run_id is None:
        if args.fresh:
            raise UsageError("--fresh needs --store and --run-id")
        return {}
    if args.store is None or args.run_id is None:
        raise UsageError("--store and --run-id go together: --store FILE --run-id ID")
    return {"store": args.store, "run_id": args.run_id, "fresh": args.fresh,
            "serializer": args.serializer}


class _PipeClosed(BaseException):
    """Raised from the event callback when stdout's reader is gone (``| head``): as a
    BaseException it ends the run (nothing more is started) and reaches ``run()``'s
    caller, which exits 141 as a shell expects after SIGPIPE."""


def _ends_on_closed_pipe(reporter: Reporter) -> Callable[[StepEvent], None]:
    def deliver(event: StepEvent) -> None:
        try:
            reporter.on_event(event)
        except BrokenPipeError:
            raise _PipeClosed() from None
        if reporter.closed:  # it met the closed pipe and stopped writing
            raise _PipeClosed()

    return deliver


def _print_failures(result: RunResult, *, with_traceback: bool) -> None:
    """One line per failed step on standard error, with where its code raised; with
    ``with_traceback``, the step's own traceback after it."""
    for step, error in result.errors.items():
        where = location(error)
        at = f" (at {where})" if where else ""
        print(f"rxsteps: step {step!r} failed: {describe_error(error)}{at}", file=sys.stderr)
        if with_traceback:
            print(f"Traceback of step {step!r} (rxsteps and reactivex frames left out):",
                  file=sys.stderr)
            print(format_traceback(error), end="", file=sys.stderr)


def _print_outputs(graph: StepGraph, result: RunResult) -> None:
    """The values of the final steps (those nothing depends on), at most
    :data:`_FINAL_VALUES` of them: text in full (up to 20 lines), a stream of text as
    its whole text, anything else as a one-line ``repr``."""
    finals = [s for s in graph.order() if not graph.dependents(s) and s in result]
    for step in finals[:_FINAL_VALUES]:
        values = result.emitted(step)
        streamed = len(values) > 1 or graph[step].streaming
        text = stream_text(values) if streamed else None
        value = text if text is not None else result[step]
        if isinstance(value, str) and value.strip():
            lines = value.strip().splitlines()
            count = f" ({_values(len(values))})" if streamed else ""
            print(f"{step}:{count}")
            for line in lines[:20]:
                print(f"  {line}")
            if len(lines) > 20:
                print(f"  ... ({len(lines) - 20} more lines)")
        elif streamed:
            print(f"{step} = {one_line(repr(values), 160)}  ({_values(len(values))})")
        else:
            print(f"{step} = {one_line(repr(value), 160)}")
    if len(finals) > _FINAL_VALUES:
        print(f"... and {len(finals) - _FINAL_VALUES} more final steps (--json shows "
              "every value)")


def _values(count: int) -> str:
    return f"{count} value{'s' * (count != 1)}"


def _check_picture(path: str | None, option: str) -> None:
    """Refuse a picture that cannot be written, before anything runs: a format that is
    not a picture, or no matplotlib (found without importing it: that waits until the
    picture is drawn, so a run starts without its cost)."""
    if path is None:
        return
    if Path(path).suffix.lower() not in _PICTURES:
        raise UsageError(f"{option} {path!r}: use a .png, .svg or .pdf file")
    if importlib.util.find_spec("matplotlib") is None:
        from ..pictures.figures import require_matplotlib

        require_matplotlib()  # raises the ImportError that says how to install it


def _overview(args: argparse.Namespace) -> bool | None:
    """``overview=`` for the pictures: ``False`` (every step) with ``--full``, else
    ``None`` (an overview of a big graph or run)."""
    return False if args.full else None


def _overview_note(steps: int) -> str:
    """What ``wrote PATH (…)`` adds for an overview: the pictures' own title names no
    switch, and on the command line it is ``--full``."""
    return f"an overview of {steps} step{'s' * (steps != 1)}; --full draws every step"


def _write_pictures(graph: StepGraph, result: RunResult, dag: str | None,
                    timeline: str | None, quiet: bool, notes: tuple[str, str] | None = None,
                    overview: bool | None = None) -> None:
    from ..pictures.drawing import draws_overview
    from ..pictures.timeline import draws_summary

    stream = sys.stderr if quiet else sys.stdout
    dag_note, timeline_note = (f"  ({note})" for note in notes) if notes else ("", "")
    if dag is not None:
        graph.draw(dag, result=result, overview=overview)
        big = f" ({_overview_note(len(graph))})" if draws_overview(graph, overview) else ""
        print(f"wrote {dag}{big}{dag_note}", file=stream)
    if timeline is not None:
        result.timeline(timeline, overview=overview)
        big = (f" ({_overview_note(len(result.graph))})"
               if draws_summary(result, overview) else "")
        print(f"wrote {timeline}{big}{timeline_note}", file=stream)


def _exit_status(result: RunResult | None) -> int:
    if result is None:
        return 1
    failed = any(s is StepStatus.FAILED for s in result.status.values())
    return 1 if failed or result.failure is not None else 0


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, OSError) and error.filename is not None:
        text = f"{error.strerror or text}: {error.filename}"
    return text

