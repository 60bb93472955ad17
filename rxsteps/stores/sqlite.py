"""The default store: one SQLite file, from the standard library (:class:`SQLiteStore`).

State: the file (tables ``meta``, ``runs``, ``steps``) and, per
thread, one connection (``threading.local``; a forked child opens its own). The file
is in WAL mode with ``synchronous=NORMAL`` — a committed step survives the death of
the process (not necessarily a power cut) — and every write is one transaction (a
``BEGIN IMMEDIATE``, or a single statement), so several threads and processes can
share a file; a writer that finds
it locked waits up to ``busy_timeout`` seconds. Opening waits as long: processes
creating one new file at once race on the switch to WAL, which SQLite reports as
"locked" at once rather than after its timeout, so :meth:`SQLiteStore._setup` retries.

A step is one row of ``steps`` (``WITHOUT ROWID``), its values packed into one blob
(:func:`pack`): a step end is one row written, whatever it emitted.

The lease: a run's ``owner`` column holds ``host:pid:start:token``
(:func:`~rxsteps.stores.base.new_owner`) while a process runs it.
:meth:`SQLiteStore.claim` takes it in the same transaction that reads the run, so of
two processes claiming one run exactly one wins. An owner on this host whose process
is gone (killed, or its pid reused by a process started later) no longer counts, with
``fresh=True`` or without (:func:`~rxsteps.stores.base.owner_alive`); an owner on
another host counts until it releases.

Example:
    >>> import os, tempfile
    >>> from rxsteps.stores.base import RunRecord
    >>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "runs.db"))
    >>> new = RunRecord("r1", {"a": []}, b"", "pickle", "running", 0.0, 0.0, owner="me")
    >>> store.claim(new, fresh=False) is None, [r.run_id for r in store.runs()]
    (True, ['r1'])
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import RunLockedError, StoreError
from .base import SCHEMA_VERSION, RunRecord, StepRecord, owner_alive

__all__ = ["SQLiteStore", "owner_alive", "pack", "unpack"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, shape TEXT NOT NULL, inputs BLOB NOT NULL,
    serializer TEXT NOT NULL, status TEXT NOT NULL, created REAL NOT NULL,
    updated REAL NOT NULL, owner TEXT);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL, step TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL, started REAL, ended REAL, error TEXT,
    count INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (run_id, step)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY, step TEXT NOT NULL, created REAL NOT NULL,
    count INTEGER NOT NULL, data BLOB NOT NULL) WITHOUT ROWID;
"""


def pack(values: list[bytes]) -> bytes:
    """A step's values as one blob: each value's length (4 bytes, big-endian), then it.

    Example:
        >>> unpack(pack([b"a", b"", b"bc"]))
        [b'a', b'', b'bc']
    """
    if len(values) == 1:  # most steps: one value
        return len(values[0]).to_bytes(4, "big") + values[0]
    return b"".join([len(v).to_bytes(4, "big") + v for v in values])


def unpack(blob: bytes) -> list[bytes]:
    """The values :func:`pack` packed, in order."""
    values, at = [], 0
    while at < len(blob):
        size = int.from_bytes(blob[at:at + 4], "big")
        values.append(blob[at + 4:at + 4 + size])
        at += 4 + size
    return values


class SQLiteStore:
    """Runs kept in one SQLite file; see the module docstring for how.

    Args:
        path: The database file (created with its tables if missing).
        busy_timeout: Seconds a write waits for another writer before failing.

    Raises:
        StoreError: The file cannot be created or opened, is not an SQLite database
            (or is damaged), or was written by a newer rxsteps. Nothing is changed.
    """

    def __init__(self, path: str | os.PathLike[str], busy_timeout: float = 30.0) -> None:
        self.path = os.fspath(path)
        self.name = self.path
        self._busy = busy_timeout
        self._local = threading.local()
        self._setup()

    # -- connections ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid():
            return conn
        try:
            conn = sqlite3.connect(self.path, timeout=self._busy, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as error:
            raise self._error(error, "open") from error
        local.conn, local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise self._error(error, what) from error
        try:
            yield conn
        except BaseException as error:
            conn.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise self._error(error, what) from error
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            conn.execute("ROLLBACK")
            raise self._error(error, what) from error

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._connect().execute(sql, args).fetchall()
        except sqlite3.Error as error:
            raise self._error(error, "read") from error

    def _error(self, error: sqlite3.Error, what: str) -> StoreError:
        text = str(error)
        if "not a database" in text or "malformed" in text:
            hint = ("is not an SQLite database or is damaged; nothing was changed — move "
                    "it aside and pass another store= path")
        elif "unable to open" in text or "readonly" in text:
            hint = ("cannot be opened for writing; pass a store= path in a directory "
                    "you can write")
        elif _locked(error):
            hint = f"stayed locked by another writer for {self._busy:g} s; try again"
        else:
            hint = "failed"
        return StoreError(f"store {self.path!r} {hint} (could not {what}: {text})", self.path)

    def _setup(self) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            what = "is not a directory" if os.path.exists(directory) else "does not exist"
            raise StoreError(f"store {self.path!r} cannot be created: {directory!r} "
                             f"{what}; create the directory or pass another store= path",
                             self.path)
        conn = self._connect()
        parameters = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self._most_rows = min(_MOST_ROWS, 1 << ((parameters // 9).bit_length() - 1))
        deadline = time.monotonic() + self._busy
        while True:
            try:
                return self._prepare(conn)
            except sqlite3.OperationalError as error:
                # Opening a new file, the switch to WAL and a first read can meet a
                # lock that SQLite reports at once, not after busy_timeout: retry.
                if not _locked(error) or time.monotonic() > deadline:
                    raise self._error(error, "open") from error
                time.sleep(0.005)
            except sqlite3.Error as error:
                raise self._error(error, "open") from error

    def _prepare(self, conn: sqlite3.Connection) -> None:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._version(conn)
            if version is not None and version > SCHEMA_VERSION:
                raise StoreError(
                    f"store {self.path!r} has schema version {version}, written by a newer "
                    f"rxsteps (this one reads up to {SCHEMA_VERSION}); upgrade rxsteps or "
                    "pass another store= path; nothing was changed", self.path)
            for statement in _SCHEMA.split(";"):  # IF NOT EXISTS: adds what a file lacks
                if statement.strip():
                    conn.execute(statement)
            if version is None:
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @staticmethod
    def _version(conn: sqlite3.Connection) -> int | None:
        if conn.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return None if row is None else int(row[0])

    # -- the Store protocol -----------------------------------------------------------

    def claim(self, run: RunRecord, *, fresh: bool) -> RunRecord | None:
        """Take the lease of ``run.run_id`` (see :meth:`rxsteps.stores.base.Store.claim`)."""
        with self._write("claim the run") as conn:
            row = conn.execute("SELECT owner FROM runs WHERE run_id = ?",
                               (run.run_id,)).fetchone()
            if row is not None and row[0] and row[0] != run.owner and owner_alive(row[0]):
                raise RunLockedError(
                    f"run {run.run_id!r} in store {self.path!r} is being run by {row[0]} "
                    "(host:pid:start:token); wait for it to end, or pick another run_id",
                    self.path, run.run_id, row[0])
            before = None if row is None or fresh else self._load(conn, run.run_id)
            if fresh:
                self._forget(conn, run.run_id)
            now = time.time()
            conn.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, 'running', ?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET status = 'running', updated = ?, "
                "owner = ?",
                (run.run_id, json.dumps(run.shape), run.inputs, run.serializer, now, now,
                 run.owner, now, run.owner),
            )
        return before

    def record_steps(self, run_id: str, owner: str, records: list[StepRecord]) -> None:
        """Store finished steps in one transaction."""
        rows = [(run_id, r.step, r.status, r.attempts, r.started, r.ended, r.error,
                 len(r.values), pack(r.values)) for r in records]
        most, step = self._most_rows, records[0].step
        if len(rows) <= most:  # one statement is one transaction
            try:
                self._connect().execute(*_insert(rows))
            except sqlite3.Error as error:
                raise self._error(error, f"record step {step!r}") from error
            return
        with self._write(f"record step {step!r}") as conn:
            for at in range(0, len(rows), most):
                conn.execute(*_insert(rows[at:at + most]))

    def release(self, run_id: str, owner: str, status: str) -> None:
        """End the run with ``status`` and clear its lease."""
        with self._write("end the run") as conn:
            conn.execute("UPDATE runs SET status = ?, updated = ?, owner = NULL "
                         "WHERE run_id = ? AND owner = ?", (status, time.time(), run_id, owner))

    def load(self, run_id: str) -> RunRecord | None:
        """The stored run with its steps, or ``None``."""
        try:
            return self._load(self._connect(), run_id)
        except sqlite3.Error as error:
            raise self._error(error, "read") from error

    def runs(self) -> list[RunRecord]:
        """Every stored run, newest first (steps not loaded)."""
        rows = self._read("SELECT * FROM runs ORDER BY created DESC, run_id")
        return [_run(row) for row in rows]

    def delete(self, run_id: str) -> bool:
        """Forget a run and its steps."""
        with self._write(f"delete run {run_id!r}") as conn:
            return self._forget(conn, run_id)

    def cache_get(self, key: str, ttl: float | None) -> list[bytes] | None:
        """The values cached under ``key``, unless older than ``ttl`` seconds."""
        rows = self._read("SELECT created, data FROM cache WHERE key = ?", (key,))
        if not rows or (ttl is not None and time.time() - rows[0][0] > ttl):
            return None
        return unpack(bytes(rows[0][1]))

    def cache_put(self, key: str, step: str, values: list[bytes]) -> None:
        """Cache ``values`` (a step's, serialised) under ``key``."""
        with self._write(f"cache step {step!r}") as conn:
            conn.execute("INSERT OR REPLACE INTO cache VALUES (?, ?, ?, ?, ?)",
                         (key, step, time.time(), len(values), pack(values)))

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    def _forget(conn: sqlite3.Connection, run_id: str) -> bool:
        conn.execute("DELETE FROM steps WHERE run_id = ?", (run_id,))
        return conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,)).rowcount > 0

    @staticmethod
    def _load(conn: sqlite3.Connection, run_id: str) -> RunRecord | None:
        row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        record = _run(row)
        for step, status, attempts, started, ended, error, data in conn.execute(
            "SELECT step, status, attempts, started, ended, error, data FROM steps "
            "WHERE run_id = ?", (run_id,)
        ):
            record.steps[step] = StepRecord(step, status, unpack(bytes(data)), attempts,
                                            started, ended, error)
        return record


# Step ends are written as multi-row INSERTs, not an executemany: alone, 1,024 rows cost
# 1.8 µs each against 2.6 (measured), and the sqlite3 module lets go of the GIL once
# per statement it steps — per row in an executemany — while the run's threads want
# it. (Inside a run, on 2 shared cores, the gain was within the run-to-run spread.) A
# batch of up to 1,024 rows (9 parameters each; fewer where the SQLite build allows
# fewer) is one statement, padded to a power of two rows by repeating its last row (a
# REPLACE of the same values), so that 11 statements, each prepared once per
# connection, serve every batch size.
_MOST_ROWS = 1024


def _insert(rows: list[tuple[Any, ...]]) -> tuple[str, list[Any]]:
    """One INSERT of ``rows`` (padded to a power of two) and its parameters.

    Example:
        >>> sql, parameters = _insert([(1,) * 9] * 5)
        >>> sql.count("(?"), len(parameters)
        (8, 72)
    """
    size = 1 << (len(rows) - 1).bit_length()
    parameters = [value for row in rows for value in row]
    parameters += rows[-1] * (size - len(rows))
    return _insert_steps(size), parameters


@functools.cache  # a power of two up to _MOST_ROWS: 11 statements
def _insert_steps(rows: int) -> str:
    return "INSERT OR REPLACE INTO steps VALUES " + ", ".join(
        ["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * rows)


def _locked(error: sqlite3.Error) -> bool:
    text = str(error)
    return "locked" in text or "busy" in text


def _run(row: Any) -> RunRecord:
    run_id, shape, inputs, serializer, status, created, updated, owner = row
    return RunRecord(run_id, json.loads(shape), bytes(inputs), serializer, status, created,
                     updated, owner)
