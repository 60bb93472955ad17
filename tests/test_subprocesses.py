"""Subprocesses started by the tests import the rxsteps of the tree under test.

Every test that starts Python in a subprocess (the CLI, the examples, a notebook's
kernel) passes ``env=tree_env()``; without it, a child imports whatever rxsteps is
installed — from another clone, an editable install tests that clone instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.isolated import ROOT, tree_env

WHERE = "import rxsteps; print(rxsteps.__file__)"


@pytest.mark.parametrize("inherited", [True, False], ids=["inherited", "no-PYTHONPATH"])
def test_a_subprocess_with_tree_env_imports_rxsteps_from_this_tree(
        tmp_path: Path, inherited: bool) -> None:
    # from elsewhere (no checkout in the working directory), with or without a
    # PYTHONPATH in the parent's environment
    base = dict(os.environ) if inherited else {
        key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", WHERE], capture_output=True, text=True,
                          cwd=tmp_path, env=tree_env(base), timeout=60, check=True)
    assert Path(done.stdout.strip()).resolve().is_relative_to(ROOT)


def test_tree_env_keeps_the_parents_paths_after_the_tree() -> None:
    env = tree_env({"PYTHONPATH": os.pathsep.join(["/elsewhere", str(ROOT)])}, EXTRA="1")
    assert env == {"PYTHONPATH": os.pathsep.join([str(ROOT), "/elsewhere"]), "EXTRA": "1"}
