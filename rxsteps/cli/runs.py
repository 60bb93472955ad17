"""``rxsteps runs``: the runs a store keeps — list, show, draw, resume, delete.

Every subcommand takes ``--store FILE`` (an SQLite file, a ``postgresql://`` URL or a
``key=value`` DSN, as written by ``store=`` or ``rxsteps run --store``; messages name
it without its password). ``draw`` rebuilds the run's graph from the stored shape and
its timeline from the stored times (one bar per step, first start to end); ``resume``
runs a target graph again under the stored run id with the stored inputs.

Example:
    >>> import os, tempfile
    >>> from rxsteps import Step, StepGraph, run
    >>> path = os.path.join(tempfile.mkdtemp(), "runs.db")
    >>> _ = run(StepGraph([Step("a", lambda: 1)]), store=path, run_id="r1")
    >>> list_runs(argparse.Namespace(store=path))  # doctest: +ELLIPSIS
    run  status     steps  updated
    r1   succeeded  1      ...
    0
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import RunsUsageError
from ..graph import StepGraph
from ..result import Attempt, RunResult, StepStatus
from ..step import Step
from ..stores import SERIALIZERS, RunRecord, Store, open_store
from ..stores.base import owner_alive
from .target import load_graph

__all__ = ["RunsUsageError", "Toolkit", "add_runs_command", "list_runs", "stored_result"]


@dataclass(frozen=True)
class Toolkit:
    """What ``runs`` borrows from :mod:`.commands` (which imports this module)."""

    run_options: Callable[..., None]
    execute: Callable[[StepGraph, dict[str, Any], argparse.Namespace], RunResult | None]
    exit_status: Callable[[RunResult | None], int]
    check_picture: Callable[[str | None, str], None]


def add_runs_command(commands: Any, toolkit: Toolkit) -> None:
    """Register ``rxsteps runs`` and its subcommands on the CLI's subparsers."""
    runs = commands.add_parser("runs", help="list, show, draw, resume or delete stored runs")
    sub = runs.add_subparsers(title="subcommands", required=True, metavar="SUBCOMMAND")
    listing = sub.add_parser("list", help="every run in the store, newest first")
    show = sub.add_parser("show", help="one run: statuses, durations, errors")
    show.add_argument("run_id", metavar="RUN_ID")
    draw = sub.add_parser("draw", help="draw a stored run: its DAG and its timeline")
    draw.add_argument("run_id", metavar="RUN_ID")
    draw.add_argument("-o", "--output", default="dag.png", metavar="FILE",
                      help="the DAG, coloured by status (default: dag.png)")
    draw.add_argument("--timeline", metavar="FILE", help="also write its timeline here")
    delete = sub.add_parser("delete", help="forget runs: by id, or older than some days")
    delete.add_argument("run_ids", nargs="*", metavar="RUN_ID")
    delete.add_argument("--older-than", type=float, metavar="DAYS",
                        help="every run last written more than DAYS days ago, but those "
                             "a live process runs")
    resume = sub.add_parser("resume", help="run TARGET again as RUN_ID, with its inputs")
    resume.add_argument("run_id", metavar="RUN_ID")
    resume.add_argument("target", metavar="TARGET", help="module:graph, as for 'run'")
    toolkit.run_options(resume, store=False)
    for command, handler in ((listing, list_runs), (show, _show), (draw, _draw),
                             (delete, _delete), (resume, _resume)):
        command.add_argument("--store", required=True, metavar="FILE",
                             help="the store: an SQLite file or a postgresql:// URL (as "
                                  "given to store= or run --store)")
        command.set_defaults(command=handler, toolkit=toolkit)


def _store(args: argparse.Namespace) -> Store:
    return open_store(args.store)


def list_runs(args: argparse.Namespace) -> int:
    """``rxsteps runs list``: a table of every run in ``args.store``."""
    store = _store(args)
    rows = [("run", "status", "steps", "updated")]
    for record in store.runs():
        full = store.load(record.run_id) or record
        rows.append((record.run_id, _status(record), str(len(full.steps)),
                     _when(record.updated)))
    _table(rows)
    return 0


def _show(args: argparse.Namespace) -> int:
    record = _load(args)
    print(f"run {record.run_id}: {_status(record)}; created {_when(record.created)}, "
          f"updated {_when(record.updated)}; values as {record.serializer}")
    rows = [("step", "status", "duration", "attempts", "values", "error / reason")]
    for step in record.shape:
        saved = record.steps.get(step)
        if saved is None:
            rows.append((step, "not finished", "-", "-", "-", ""))
            continue
        rows.append((step, saved.status, f"{saved.duration:.3f} s", str(saved.attempts),
                     str(len(saved.values)), saved.error or ""))
    _table(rows)
    return 0 if record.status == "succeeded" else 1


def _draw(args: argparse.Namespace) -> int:
    args.toolkit.check_picture(args.output, "-o")
    args.toolkit.check_picture(args.timeline, "--timeline")
    result = stored_result(_load(args))
    result.graph.draw(args.output, result=result)
    print(f"wrote {args.output}")
    if args.timeline:
        result.timeline(args.timeline)
        print(f"wrote {args.timeline}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    store = _store(args)
    ids = list(args.run_ids)
    if args.older_than is not None:
        cutoff = time.time() - args.older_than * 86400
        ids += [r.run_id for r in store.runs() if r.updated < cutoff and not _held(r)]
    elif not ids:
        raise RunsUsageError("runs delete needs RUN_IDs or --older-than DAYS")
    for run_id in ids:
        if store.delete(run_id):
            print(f"deleted {run_id}")
        else:
            raise RunsUsageError(f"no run {run_id!r} in store {store.name!r}")
    return 0


def _resume(args: argparse.Namespace) -> int:
    record = _load(args)
    inputs = SERIALIZERS[record.serializer].loads(record.inputs)
    graph = load_graph(args.target)
    args.fresh, args.serializer = False, record.serializer
    toolkit: Toolkit = args.toolkit
    return toolkit.exit_status(toolkit.execute(graph, inputs, args))


def _load(args: argparse.Namespace) -> RunRecord:
    store = _store(args)
    record = store.load(args.run_id)
    if record is None:
        known = ", ".join(r.run_id for r in store.runs()[:5]) or "none"
        raise RunsUsageError(f"no run {args.run_id!r} in store {store.name!r} (runs: {known})")
    return record


def stored_result(record: RunRecord) -> RunResult:
    """A :class:`~rxsteps.RunResult` for pictures of a stored run: its graph rebuilt
    from the stored shape (actions that cannot run), statuses, and one attempt per
    finished step from its first start to its end (wall-clock seconds)."""
    inputs = sorted({d for deps in record.shape.values() for d in deps} - set(record.shape))
    graph = StepGraph([Step(s, _stored_action, deps) for s, deps in record.shape.items()],
                      inputs=inputs)
    status = {s: StepStatus(record.steps[s].status) if s in record.steps
              else StepStatus.PENDING for s in record.shape}
    times = [t for r in record.steps.values() for t in (r.started, r.ended) if t is not None]
    start, end = (min(times), max(times)) if times else (record.created, record.updated)
    attempts, started, ended = [], {}, {}
    for s, saved in record.steps.items():
        if saved.ended is None:
            continue
        begin = saved.started if saved.started is not None else saved.ended
        started[s], ended[s] = begin, saved.ended
        outcome = {"succeeded": "cached" if saved.error == "cached" else "succeeded",
                   "failed": "failed"}.get(saved.status, "cancelled")
        if saved.status != "skipped":
            attempts.append(Attempt(s, 0, max(1, saved.attempts), begin, saved.ended, outcome))
    reasons = {s: r.error for s, r in record.steps.items()
               if r.error and r.status in ("skipped", "cancelled")}
    return RunResult(graph=graph, inputs={}, emitted={}, status=status, errors={},
                     reasons=reasons, started=started, ended=ended, attempts=attempts,
                     start=start, end=end)


def _stored_action(*_args: Any) -> None:
    raise RuntimeError("a stored run's step cannot run; resume it with 'rxsteps runs resume'")


def _status(record: RunRecord) -> str:
    """A stored run's status as the CLI shows it: ``running`` while a live process holds
    it, ``interrupted`` when the process that ran it is gone, else its stored status."""
    if _held(record):
        return "running"
    return "interrupted" if record.status == "running" else record.status


def _held(record: RunRecord) -> bool:
    """Whether a process that may still be alive holds the run (see :func:`owner_alive`:
    one of another host counts until it releases)."""
    return record.owner is not None and owner_alive(record.owner)


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
