"""Old home of the demo graph, kept so that ``rxsteps.demo:build_graph`` keeps working.

The demo now lives in :mod:`rxsteps.cli.demo`.
"""

from .cli.demo import build_graph, demo_inputs

__all__ = ["build_graph", "demo_inputs"]
