"""One test, every store: :class:`Backend` is an SQLite file or a PostgreSQL database.

The contract suite (``tests/stores``) takes the ``backend`` fixture
(``tests/conftest.py``), parametrised over ``sqlite`` and ``postgres``: ``backend.store``
is what a test passes as ``store=`` — a path, or a ``postgresql://`` URL of a database
made for that test — and :meth:`Backend.sql` reads or changes the store's tables behind
its back (``?`` placeholders and bare table names on both: PostgreSQL's connection puts
the ``rxsteps`` schema on its search path).

Example:
    >>> Backend("sqlite", "runs.db").name
    'runs.db'
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from rxsteps.stores import PostgresStore, SQLiteStore
from rxsteps.stores.postgres import redact

KINDS = ["sqlite", "postgres"]


@dataclass(frozen=True)
class Backend:
    """A store under test: its kind and the ``store=`` argument that opens it."""

    kind: str
    store: str

    @property
    def name(self) -> str:
        """How the store's messages name it (a URL without its password)."""
        return self.store if self.kind == "sqlite" else redact(self.store)

    def sql(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one SQL statement on the store's tables in its own committed
        transaction, from a connection of its own; the rows it returns."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.store) as conn:
                return conn.execute(query, args).fetchall()
        import psycopg

        with psycopg.connect(self.store, autocommit=True,
                             options="-c search_path=rxsteps") as conn:
            cursor = conn.execute(query.replace("?", "%s"), args)
            return cursor.fetchall() if cursor.description else []

    def reopen(self) -> SQLiteStore | PostgresStore:
        """A new store object on the same file or database (not the process's shared one)."""
        if self.kind == "sqlite":
            return SQLiteStore(self.store)
        return PostgresStore(self.store)
