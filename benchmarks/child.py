"""Every measurement runs in a fresh interpreter: the protocol, both sides.

The parent (:func:`spawn`, through a :class:`Context`) starts
``python -m benchmarks.child SPEC``, where ``SPEC`` is JSON naming a module of this
package, one of its ``TASKS`` and the task's keyword arguments. The child imports only
that module (so each system's imports and peak RSS are its own), runs the task, and
prints one line: :data:`MARKER` and the task's JSON record, to which it adds
``status`` (``ok``, ``skipped``, ``error``) and ``peak_rss_bytes`` (``getrusage``).

A task that has not answered after ``deadline_s`` is stopped by
:func:`faulthandler.dump_traceback_later`, which first writes every thread's stack to
stderr; the parent then reports ``status: timeout`` (and keeps the stack). The parent
kills the child a few seconds later if even that fails.

Example:
    >>> ctx = Context(quick=True, seed=1)
    >>> record = ctx.spawn("benchmarks.bench_engine", "e2e", deadline_s=60,
    ...                    workload="chain-5k", system="sequential", reps=1, warmup=0)
    >>> record["status"], len(record["samples_s"])
    ('ok', 1)
"""

from __future__ import annotations

import faulthandler
import gc
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.errors import BenchmarkError, Unavailable
from benchmarks.timing import peak_rss_bytes

__all__ = ["MARKER", "ROOT", "Context", "Task", "spawn"]

MARKER = "@@benchmarks-record "
ROOT = Path(__file__).resolve().parent.parent
GRACE_S = 5.0  # after the deadline: the child dumps its stacks and exits, or is killed
_TIMEOUT_BANNER = "Timeout ("  # how faulthandler's dump_traceback_later starts

Task = Callable[..., dict[str, Any]]


def process_state() -> dict[str, Any]:
    """What a system could leave changed in the process (checked around every task)."""
    return {"recursionlimit": sys.getrecursionlimit(), "gc_enabled": gc.isenabled(),
            "gc_threshold": gc.get_threshold(), "switchinterval": sys.getswitchinterval()}


def _run_task(spec: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    module = importlib.import_module(spec["module"])
    task: Task = module.TASKS[spec["task"]]
    before = process_state()
    try:
        record = task(**spec["args"])
        record["status"] = "ok"
    except Unavailable as why:
        record = {"status": "skipped", "why": str(why)}
    except BenchmarkError as failure:
        record = {"status": "error", "error": str(failure)}
    after = process_state()
    if after != before and record["status"] == "ok":
        record.update(status="error", error=f"changed the process state: {before} -> {after}")
    record["peak_rss_bytes"] = peak_rss_bytes()
    return record, record["status"] != "error"


def main(argv: list[str]) -> int:
    """The child: run the task ``argv[0]`` describes; print its record."""
    spec = json.loads(argv[0])
    faulthandler.dump_traceback_later(spec["deadline_s"], exit=True)
    record, ok = _run_task(spec)
    faulthandler.cancel_dump_traceback_later()
    print(MARKER + json.dumps(record), flush=True)
    return 0 if ok else 1


def spawn(module: str, task: str, *, deadline_s: float, **args: Any) -> dict[str, Any]:
    """Run ``module.TASKS[task](**args)`` in a fresh interpreter; return its record.

    Args:
        module: A module of this package, e.g. ``"benchmarks.bench_engine"``.
        task: A key of its ``TASKS``.
        deadline_s: Seconds after which the child is stopped (``status: timeout``).
        **args: The task's keyword arguments (JSON-serialisable).

    Returns:
        The task's record, with ``status`` and, unless it timed out, ``peak_rss_bytes``;
        ``timeout_s`` and ``stderr`` (see :func:`stacks`) on a timeout, ``error`` on a
        failure.
    """
    spec = {"module": module, "task": task, "deadline_s": deadline_s, "args": args}
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-m", "benchmarks.child", json.dumps(spec)]
    try:
        done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": path},
                              capture_output=True, text=True, timeout=deadline_s + GRACE_S)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "timeout_s": deadline_s, "stderr": "killed"}
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            record: dict[str, Any] = json.loads(line[len(MARKER):])
            return record
    if _TIMEOUT_BANNER in done.stderr:
        return {"status": "timeout", "timeout_s": deadline_s, "stderr": stacks(done.stderr)}
    return {"status": "error", "error": f"exit status {done.returncode}: {done.stderr[-2000:]}"}


def stacks(stderr: str, limit: int = 4000) -> str:
    """The first ``limit`` characters of faulthandler's dump, from its banner on.

    faulthandler writes the innermost frames first, so a deep stack keeps the banner
    and the frames that were running; the outermost (``runpy``) are the ones cut.

    Example:
        >>> stacks("noise\\nTimeout (0:00:01)!\\n" + "  File x\\n" * 1000, limit=18)
        'Timeout (0:00:01)!'
    """
    return stderr[max(stderr.find(_TIMEOUT_BANNER), 0):][:limit]  # no banner: from the top


@dataclass(frozen=True)
class Context:
    """What every section is measured with: quick or full, the seed, how to spawn."""

    quick: bool
    seed: int

    def spawn(self, module: str, task: str, *, deadline_s: float, **args: Any) -> dict[str, Any]:
        """:func:`spawn`, with ``quick`` and ``seed`` passed to the task too."""
        record = spawn(module, task, deadline_s=deadline_s, quick=self.quick, seed=self.seed,
                       **args)
        what = " ".join(str(v) for v in args.values() if isinstance(v, str))
        print(f"  {task} {what}: {record['status']}", file=sys.stderr, flush=True)
        return record


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
