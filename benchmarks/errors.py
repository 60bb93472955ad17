"""The two ways a benchmark stops short of a figure.

Example:
    >>> str(Unavailable("dask is not installed"))
    'dask is not installed'
"""

from __future__ import annotations

__all__ = ["BenchmarkError", "Unavailable"]


class Unavailable(Exception):
    """A system cannot run here (a missing package…); the message says why, in the table."""


class BenchmarkError(RuntimeError):
    """A system computed wrong values, changed the process state, or never answered."""
