"""Old home of the Dask backend, kept so that ``from rxsteps.execution.dask import
DaskBackend`` keeps working; it now lives in :mod:`rxsteps.backends.dask`."""

from ..backends.dask import GATHER_MODES, DaskBackend, GatherMode

__all__ = ["GATHER_MODES", "DaskBackend", "GatherMode"]
