"""In a fresh Jupyter kernel, pictures display inline with nothing else imported.

A notebook is written with nbformat and executed by ``python -m nbconvert --execute``
in a subprocess (a hard time limit, since it starts a kernel), with a fresh IPython
profile and no ``MPLBACKEND``: only what a new user's first notebook has. Every cell
that ends with a picture must have an ``image/png`` output, not only the figure's
``<Figure size … with 1 Axes>`` text.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.support.isolated import tree_env

pytestmark = pytest.mark.slow

CELLS = [
    "from rxsteps import Step, StepGraph, run\n"
    "graph = StepGraph([Step('plan', lambda q: q, ['question']),\n"
    "                   Step('answer', lambda p: p, ['plan'])], inputs=['question'])\n"
    "result = run(graph, {'question': 'why?'})",
    "result.timeline()",
    "graph.draw(result=result)",
    "graph.draw()",
    "result",
]


def execute(cells: list[str], folder: Path) -> nbformat.NotebookNode:
    """Run ``cells`` in a fresh kernel with ``nbconvert --execute``; the notebook."""
    source = folder / "pictures.ipynb"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    nbformat.write(notebook, source)
    env = tree_env({key: value for key, value in os.environ.items() if key != "MPLBACKEND"},
                   IPYTHONDIR=str(folder / "ipython"),
                   JUPYTER_RUNTIME_DIR=str(folder / "runtime"),
                   MPLCONFIGDIR=os.environ.get("MPLCONFIGDIR", str(folder / "mpl")))
    done = subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
         "--ExecutePreprocessor.timeout=60", "--output", "done.ipynb", str(source)],
        capture_output=True, text=True, cwd=folder, env=env, timeout=180,
        stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    return nbformat.read(folder / "done.ipynb", as_version=4)


def test_pictures_display_inline_in_a_fresh_kernel(tmp_path: Path) -> None:
    notebook = execute(CELLS, tmp_path)
    for cell in notebook.cells[1:]:
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert len(results) == 1, (cell.source, cell.outputs)
        png = base64.b64decode(results[0].data.get("image/png", ""))
        assert png.startswith(b"\x89PNG") and len(png) > 5000, cell.source
