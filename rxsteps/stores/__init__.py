"""Durable stores: where ``store=`` keeps runs, and how values are written.

- :class:`~rxsteps.stores.base.Store` — the protocol; :class:`~.sqlite.SQLiteStore` the
  default (a path given as ``store=`` opens one, shared by every run of the process);
  :class:`~.postgres.PostgresStore` a shared one (a ``postgresql://`` or
  ``postgres://`` URL, or libpq's ``host=... dbname=...`` form, given as ``store=``
  opens one; needs the ``postgres`` extra, psycopg 3).
- :data:`SERIALIZERS` — ``"pickle"`` (default: any picklable value; loading a pickle runs
  code, so a store is trusted input) and ``"json"`` (plain data only; tuples come back
  as lists).

This wing imports only the model: the engine and the CLI build on it.

Example:
    >>> SERIALIZERS["json"].loads(SERIALIZERS["json"].dumps({"a": [1, 2]}))
    {'a': [1, 2]}
    >>> open_store(42)
    Traceback (most recent call last):
    ...
    rxsteps.errors.OptionError: store must be a path to an SQLite file, a postgresql:// \
URL or a Store object (rxsteps.stores.Store), got int
"""

from __future__ import annotations

import json
import os
import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import OptionError
from .base import RunRecord, StepRecord, Store
from .postgres import PostgresStore, is_dsn
from .sqlite import SQLiteStore

__all__ = ["SERIALIZERS", "PostgresStore", "RunRecord", "SQLiteStore", "Serializer",
           "StepRecord", "Store", "open_store"]


@dataclass(frozen=True, slots=True)
class Serializer:
    """A way to turn values into bytes and back."""

    name: str
    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


#: The ``serializer=`` choices, by name.
SERIALIZERS = {
    "pickle": Serializer("pickle", lambda v: pickle.dumps(v, protocol=5), pickle.loads),
    "json": Serializer("json", _json_dumps, json.loads),
}

_opened: dict[str, SQLiteStore | PostgresStore] = {}
_opened_lock = threading.Lock()


def open_store(store: Any) -> Store:
    """The :class:`Store` for a ``store=`` argument: a path opens (once per process and
    file) an :class:`SQLiteStore`, a ``postgresql://`` (or ``postgres://``) URL (once per
    process and URL) a :class:`PostgresStore`; a store object is used as it is.

    Args:
        store: A path (``str`` or ``os.PathLike``), a PostgreSQL URL, or an object
            implementing :class:`Store`.

    Returns:
        The store.

    Raises:
        OptionError: Neither a path, a URL nor a store.
        StoreError: The SQLite file or the PostgreSQL server cannot be opened (see
            :class:`SQLiteStore`, :class:`PostgresStore`).
        ImportError: A PostgreSQL URL without psycopg installed.
    """
    if isinstance(store, str) and is_dsn(store):
        return _once(store, lambda: PostgresStore(store))
    if isinstance(store, (str, os.PathLike)):
        path = os.fspath(store)
        return _once(os.path.abspath(path), lambda: SQLiteStore(path))
    if isinstance(store, Store):
        return store
    raise OptionError(f"store must be a path to an SQLite file, a postgresql:// URL or a "
                      f"Store object (rxsteps.stores.Store), got {type(store).__name__}",
                      "store")


def _once(key: str, make: Callable[[], SQLiteStore | PostgresStore]) -> Store:
    """The store opened under ``key`` in this process, opening it the first time."""
    with _opened_lock:
        opened = _opened.get(key)
        if opened is None:
            opened = _opened[key] = make()
    return opened
