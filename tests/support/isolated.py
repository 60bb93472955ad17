"""Subprocesses that import the rxsteps of this checkout, and snippets run in one.

:func:`tree_env` is the environment every test's subprocess gets (the CLI, examples,
notebooks' kernels): ``PYTHONPATH`` starts with this tree, so a child imports the
rxsteps under test rather than an installed one (an editable install of another clone
would otherwise be tested instead). :func:`run_isolated` runs a snippet in one with a
hard time limit: hang-prone tests use it so that a regression fails the test — with
the snippet's output and every thread's stack — instead of wedging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_PRELUDE = """\
import faulthandler, sys
faulthandler.dump_traceback_later({limit} - 1, exit=True)
"""


def tree_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment for a subprocess that must import this tree's rxsteps.

    ``base`` (``os.environ`` by default) with ``PYTHONPATH`` led by the repository
    root, then ``extra`` on top.
    """
    environment = dict(os.environ if base is None else base)
    paths = [str(ROOT), *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
    environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    environment.update(extra)
    return environment


def run_isolated(code: str, *, limit: float = 60.0, env: dict[str, str] | None = None,
                 input: str | None = None) -> str:
    """Run ``code`` (dedented) in a fresh interpreter of this checkout; return its
    stdout. Fails the test if it exits non-zero or runs longer than ``limit`` s (the
    child prints its threads' stacks a second before)."""
    source = _PRELUDE.format(limit=limit) + textwrap.dedent(code)
    environment = tree_env(**(env or {}))
    try:
        done = subprocess.run(
            [sys.executable, "-c", source], capture_output=True, text=True,
            timeout=limit + 5, env=environment, cwd=ROOT, input=input,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"hung for {limit} s:\n{expired.stdout}\n{expired.stderr}")
    if done.returncode != 0:
        pytest.fail(f"exit {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout
