"""The ``rxsteps`` command line (the ``cli`` extra)."""

from .commands import main

__all__ = ["main"]
