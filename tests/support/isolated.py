"""Run a snippet of Python in its own interpreter with a hard time limit.

Hang-prone tests use it so that a regression fails the test — with the snippet's
output and every thread's stack — instead of wedging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_PRELUDE = """\
import faulthandler, sys
faulthandler.dump_traceback_later({limit} - 1, exit=True)
"""


def run_isolated(code: str, *, limit: float = 60.0, env: dict[str, str] | None = None,
                 input: str | None = None) -> str:
    """Run ``code`` (dedented) in a fresh interpreter of this checkout; return its
    stdout. Fails the test if it exits non-zero or runs longer than ``limit`` s (the
    child prints its threads' stacks a second before)."""
    source = _PRELUDE.format(limit=limit) + textwrap.dedent(code)
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
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
