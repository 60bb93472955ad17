"""The model's one door to the pictures: :func:`pictures` imports
:mod:`rxsteps.pictures` on first use.

The pictures draw the model (graphs, results), so they sit above it, and they need
matplotlib, which is optional. ``StepGraph.draw``, ``RunResult.timeline`` and the
Jupyter ``_repr_*_`` methods are conveniences that reach up through this door and
nowhere else; the import test in ``tests/test_imports.py`` allows exactly this one
upward import.

Example:
    >>> pictures().to_text.__module__
    'rxsteps.pictures.renderings'
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["pictures"]


def pictures() -> ModuleType:
    """The :mod:`rxsteps.pictures` package, imported now if it was not yet."""
    from . import pictures as wing

    return wing
