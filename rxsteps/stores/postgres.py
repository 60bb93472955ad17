"""A shared store on a PostgreSQL server, for many processes and machines (:class:`PostgresStore`).

``PostgresStore("postgresql://user:secret@db.example/agents")`` keeps runs in four
tables — ``meta``, ``runs``, ``steps``, ``cache`` — of their own schema (``rxsteps`` by
default), created on first use, so a user's database is not littered. Values are
``bytea``: a step's values packed into one (:func:`~rxsteps.stores.sqlite.pack`), as
in :class:`~rxsteps.stores.sqlite.SQLiteStore`.

State: the DSN, a small pool of idle connections (autocommit; taken and given back
under a lock, so any thread may call any method; a forked child drops its parent's and
opens its own), the *lease connections* of the runs this process is running now, and
the count of all of them, capped by ``max_connections`` (a caller at the cap waits on
a condition for one to come back, then fails with a :class:`~rxsteps.StoreError`
naming the cap — a server's ``max_connections`` is shared by every client, so a store
must not take it all). psycopg_pool is not used: the leases stay out of any pool for
a run's whole life, and a forked child must drop, not close, its parent's sessions.

The lease: :meth:`PostgresStore.claim` runs in one transaction that locks the run's
row (``INSERT ... ON CONFLICT DO NOTHING`` then ``SELECT ... FOR UPDATE``, so two
claimers of one ``run_id`` are serialised) and takes a session-level advisory lock
keyed by the run on a connection that then stays out of the pool until
:meth:`~PostgresStore.release`. The advisory lock *is* the lease: when the owning
process dies (SIGKILL, a lost machine) its session ends and the server drops the lock,
so an owner on another host goes stale by itself — unlike SQLite, where only owners on
this host can be seen to be gone (a machine that vanishes without closing its sessions
is noticed by TCP keepalives, which the store sets on every session: within about
90 s). A stored owner on this host whose process is alive still counts (say the server
restarted under a running run); one whose process is gone is waited for (up to 10 s)
until the server has ended its session. Of two claimers exactly
one wins; the other gets :class:`~rxsteps.RunLockedError` naming the owner.

One :meth:`~PostgresStore.record_steps` call is one SQL statement (its own
transaction): it writes the steps only while the run's row still names the caller as
owner, so a process that lost its lease cannot overwrite its successor's records.

psycopg 3 is optional (the ``postgres`` extra: ``pip install -e '.[postgres]'`` in a
clone; rxsteps is not on a package index) and imported on first use.

Example:
    >>> redact("postgresql://agent:s3cret@db.example:5432/runs")
    'postgresql://agent@db.example:5432/runs'
    >>> redact("postgres://db.example/runs?password=s3cret&sslmode=require")
    'postgres://db.example/runs?sslmode=require'
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import OptionError, OptionTypeError, RunLockedError, StoreError
from .base import SCHEMA_VERSION, RunRecord, StepRecord, on_this_host, owner_alive
from .sqlite import pack, unpack

if TYPE_CHECKING:
    import psycopg

__all__ = ["DSN_PREFIXES", "PostgresStore", "is_dsn", "redact", "require_psycopg"]

#: How a ``store=`` string names a PostgreSQL server rather than an SQLite file: a
#: URL with one of these schemes, or libpq's ``key=value`` form (:func:`is_dsn`).
DSN_PREFIXES = ("postgresql://", "postgres://")
_KEYWORDS = re.compile(r"\s*(host|hostaddr|port|dbname|user|password|passfile|service|"
                       r"sslmode|options|application_name|connect_timeout)\s*=")
_PASSWORD = re.compile(r"\s*\bpassword\s*=\s*(?:'(?:[^'\\]|\\.)*'|\S+)")

_MISSING = ("PostgresStore needs psycopg 3: install the postgres extra from your "
            "clone: pip install -e '.[postgres]'")
_IDLE = 4  # connections kept open between uses
_DEAD_WAIT = 10.0  # seconds a claim waits for the session of a process that died here
# Server-side TCP keepalives on every session: the session (and so the lease) of a
# process on a machine that vanished without closing it ends within about 90 s.
_KEEPALIVES = ("SET tcp_keepalives_idle = 60; SET tcp_keepalives_interval = 10; "
               "SET tcp_keepalives_count = 3")
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

_TABLES = """
CREATE TABLE IF NOT EXISTS {s}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.runs (
    run_id text PRIMARY KEY, shape text NOT NULL, inputs bytea NOT NULL,
    serializer text NOT NULL, status text NOT NULL, created double precision NOT NULL,
    updated double precision NOT NULL, owner text);
CREATE TABLE IF NOT EXISTS {s}.steps (
    run_id text NOT NULL REFERENCES {s}.runs ON DELETE CASCADE, step text NOT NULL,
    status text NOT NULL, attempts integer NOT NULL, started double precision,
    ended double precision, error text, count integer NOT NULL, data bytea NOT NULL,
    PRIMARY KEY (run_id, step));
CREATE TABLE IF NOT EXISTS {s}.cache (
    key text PRIMARY KEY, step text NOT NULL, created double precision NOT NULL,
    count integer NOT NULL, data bytea NOT NULL);
"""

# One statement, so one transaction: the steps are written only while ``owner`` holds
# the run, and the run's ``updated`` moves with them.
_RECORD = """
WITH lease AS (
    UPDATE {s}.runs SET updated = %s WHERE run_id = %s AND owner = %s RETURNING run_id)
INSERT INTO {s}.steps (run_id, step, status, attempts, started, ended, error, count, data)
SELECT lease.run_id, r.* FROM lease, unnest(
    %s::text[], %s::text[], %s::integer[], %s::double precision[],
    %s::double precision[], %s::text[], %s::integer[], %s::bytea[]) AS r
ON CONFLICT (run_id, step) DO UPDATE SET status = EXCLUDED.status,
    attempts = EXCLUDED.attempts, started = EXCLUDED.started, ended = EXCLUDED.ended,
    error = EXCLUDED.error, count = EXCLUDED.count, data = EXCLUDED.data
"""


def require_psycopg() -> Any:
    """Import psycopg 3, or raise an ``ImportError`` that says how to install it.

    Returns:
        The ``psycopg`` module.

    Raises:
        ImportError: psycopg is not installed.

    Example:
        >>> require_psycopg().__name__  # installed here
        'psycopg'
    """
    try:
        import psycopg
    except ImportError as error:
        raise ImportError(_MISSING) from error
    return psycopg


def is_dsn(text: str) -> bool:
    """Whether a ``store=`` string names a PostgreSQL server: a ``postgresql://`` or
    ``postgres://`` URL, or a libpq ``key=value`` string starting with a connection
    keyword (``host=``, ``dbname=``, ``user=``, ``service=``, ...).

    Example:
        >>> is_dsn("host=db.example dbname=runs"), is_dsn("postgres://db/runs")
        (True, True)
        >>> is_dsn("runs.db"), is_dsn("data/host.db")
        (False, False)
    """
    return text.startswith(DSN_PREFIXES) or _KEYWORDS.match(text) is not None


def redact(dsn: str) -> str:
    """A PostgreSQL DSN without its password, fit for messages and logs.

    Args:
        dsn: A ``postgresql://`` or ``postgres://`` URL, or a ``key=value`` string.

    Returns:
        The DSN with the password left out (of a URL's user part and its query).

    Example:
        >>> redact("host=db.example password='s3 cret' dbname=runs")
        'host=db.example dbname=runs'
    """
    if not dsn.startswith(DSN_PREFIXES):
        return _PASSWORD.sub("", dsn).strip()
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _check_options(max_connections: Any, schema: Any) -> None:
    """Refuse a ``max_connections`` or a ``schema`` that cannot work.

    Raises:
        OptionTypeError: Either is of the wrong type.
        OptionError: ``max_connections`` is below 2, or ``schema`` is not a plain
            lower-case SQL name.
    """
    cap = ("max_connections must be an int of at least 2 (a running run holds one for "
           f"its lease and writes on another), got {max_connections!r}")
    if isinstance(max_connections, bool) or not isinstance(max_connections, int):
        raise OptionTypeError(cap, "max_connections")
    if max_connections < 2:
        raise OptionError(cap, "max_connections")
    name = ("schema must be a lower-case SQL name such as 'rxsteps' (letters, digits, _), "
            f"got {schema!r}")
    if not isinstance(schema, str):
        raise OptionTypeError(name, "schema")
    if not _SCHEMA_NAME.fullmatch(schema):
        raise OptionError(name, "schema")


def _lock_key(schema: str, run_id: str) -> int:
    """The advisory-lock key of a run: 64 bits of a hash of the schema and the id."""
    digest = hashlib.blake2b(f"rxsteps\0{schema}\0{run_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class PostgresStore:
    """Runs kept in a PostgreSQL database; see the module docstring for how.

    Args:
        dsn: A ``postgresql://user:password@host:port/database`` URL (any libpq
            parameter may be added as a query, such as ``?sslmode=require``), or
            libpq's ``key=value`` form (``"host=db dbname=runs user=agent"``).
        schema: The schema of the store's tables (created if missing: the first run
            needs the ``CREATE`` privilege on the database, later ones do not).
        connect_timeout: Seconds to wait for the server when connecting, unless the
            DSN says, and for a free connection when all are in use.
        max_connections: The most connections this store opens at once: the idle
            ones it keeps (up to 4), those in use, and one per run it is running
            (the run's lease). A call that finds them all in use waits for one to be
            given back.

    Raises:
        ImportError: psycopg is not installed (``pip install -e '.[postgres]'`` in a
            clone).
        StoreError: The server cannot be reached, refuses the login or a privilege, or
            the schema was written by a newer rxsteps (nothing is changed then); later,
            all ``max_connections`` stayed in use for ``connect_timeout``. The
            message names the DSN without its password; the psycopg error is the cause.
        OptionError: ``schema`` is not a plain lower-case SQL name, or
            ``max_connections`` is below 2 (:class:`~rxsteps.OptionTypeError`, also a
            ``TypeError``, when either is of the wrong type).

    Example:
        >>> PostgresStore("postgresql://u:pw@127.0.0.1:1/db", connect_timeout=2)
        ... # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        rxsteps.errors.StoreError: store 'postgresql://u@127.0.0.1:1/db' cannot be reached; \
check that the server runs and the DSN is right (could not connect: ...)
    """

    def __init__(self, dsn: str, *, schema: str = "rxsteps",
                 connect_timeout: float = 10.0, max_connections: int = 32) -> None:
        _check_options(max_connections, schema)
        self._psycopg = require_psycopg()
        self.dsn = dsn
        self.name = redact(dsn)
        self.schema = schema
        self._password = self._password_of(dsn)
        self._timeout = connect_timeout
        self._lock = threading.Lock()
        self._free = threading.Condition(self._lock)  # notified when one comes back
        self._idle: list[psycopg.Connection[Any]] = []
        self._cap = max_connections
        self._opened = 0  # connections open now: idle, in use and leases
        self._pid = os.getpid()
        self._leases: dict[tuple[str, str], psycopg.Connection[Any]] = {}
        self._setup()

    # -- connections ------------------------------------------------------------------

    def _open(self) -> psycopg.Connection[Any]:
        extra: dict[str, Any] = {}
        if "connect_timeout" not in self.dsn:
            extra["connect_timeout"] = max(1, round(self._timeout))
        try:
            conn: psycopg.Connection[Any] = self._psycopg.connect(self.dsn, autocommit=True,
                                                                  **extra)
            conn.execute(_KEEPALIVES)
        except self._psycopg.Error as error:
            raise self._error(error, "connect") from error
        return conn

    def _take(self) -> psycopg.Connection[Any]:
        """An idle connection, or a new one while fewer than ``max_connections`` are
        open; else wait for one to be given back (up to ``connect_timeout``)."""
        deadline = time.monotonic() + self._timeout
        with self._free:
            if self._pid != os.getpid():  # a forked child: the parent's are not ours
                self._idle, self._leases, self._pid = [], {}, os.getpid()
                self._opened = 0
            while True:
                while self._idle:
                    conn = self._idle.pop()
                    if not conn.closed:
                        return conn
                    self._opened -= 1
                if self._opened < self._cap:
                    self._opened += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._full()
                self._free.wait(left)
        try:
            return self._open()
        except BaseException:
            self._closed()
            raise

    def _give(self, conn: psycopg.Connection[Any]) -> None:
        healthy = not conn.closed and conn.info.transaction_status == \
            self._psycopg.pq.TransactionStatus.IDLE
        with self._free:
            if healthy and self._pid == os.getpid() and len(self._idle) < _IDLE:
                self._idle.append(conn)
                self._free.notify()
                return
        conn.close()
        self._closed()

    def _closed(self) -> None:
        """One of this store's connections is gone: room for another."""
        with self._free:
            if self._opened:
                self._opened -= 1
            self._free.notify()

    def _full(self) -> StoreError:
        return StoreError(
            f"store {self.name!r} has all {self._cap} of its connections in use "
            f"({len(self._leases)} held by running runs, one each) after waiting "
            f"{self._timeout:g} s; pass PostgresStore(..., max_connections=) a higher cap "
            "or run fewer runs at once", self.name)

    @contextmanager
    def _using(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection for one use; psycopg errors become StoreErrors."""
        conn = self._take()
        try:
            yield conn
        except self._psycopg.Error as error:
            raise self._error(error, what) from error
        finally:
            self._give(conn)

    def _error(self, error: Exception, what: str) -> StoreError:
        text = " ".join(str(error).split())
        if self._password:
            text = text.replace(self._password, "***")
        login = "password authentication failed" in text or (
            "role" in text and "does not exist" in text)
        if login:
            hint = "refused the login; check the user and password of the DSN"
        elif what == "connect":
            hint = "cannot be reached; check that the server runs and the DSN is right"
        elif isinstance(error, self._psycopg.errors.InsufficientPrivilege):
            hint = (f"refused a privilege; the first run needs CREATE on the database to "
                    f"make schema {self.schema!r}, later runs need to read and write it")
        else:
            hint = "failed"
        return StoreError(f"store {self.name!r} {hint} (could not {what}: {text})",
                          self.name)

    def _password_of(self, dsn: str) -> str:
        if not dsn.startswith(DSN_PREFIXES):
            try:
                return str(self._psycopg.conninfo.conninfo_to_dict(dsn).get("password", ""))
            except self._psycopg.ProgrammingError as error:
                raise StoreError(f"store {self.name!r} is not a valid PostgreSQL DSN "
                                 f"({error}); pass a postgresql:// URL or libpq's "
                                 "key=value form", self.name) from error
        parts = urlsplit(dsn)
        query = dict(parse_qsl(parts.query))
        return query.get("password") or parts.password or ""

    def _setup(self) -> None:
        s = self.schema
        with self._using("open") as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(s, "\0setup"),))
            found = conn.execute("SELECT to_regclass(%s)", (f"{s}.meta",)).fetchone()
            version = None
            if found is not None and found[0] is not None:
                row = conn.execute(f"SELECT value FROM {s}.meta WHERE key = "
                                   "'schema_version'").fetchone()
                version = None if row is None else int(row[0])
            if version is not None and version > SCHEMA_VERSION:
                raise StoreError(
                    f"store {self.name!r} has schema version {version}, written by a newer "
                    f"rxsteps (this one reads up to {SCHEMA_VERSION}); upgrade rxsteps or "
                    "pass another store= database or schema; nothing was changed", self.name)
            if version == SCHEMA_VERSION:
                return  # set up already: no DDL, so no CREATE privilege needed
            schema = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                  (s,)).fetchone()
            if schema is None:
                conn.execute(f"CREATE SCHEMA {s}")
            conn.execute(_TABLES.format(s=s))
            conn.execute(f"INSERT INTO {s}.meta VALUES ('schema_version', %s) "
                         "ON CONFLICT (key) DO NOTHING", (str(SCHEMA_VERSION),))

    # -- the Store protocol -----------------------------------------------------------

    def claim(self, run: RunRecord, *, fresh: bool) -> RunRecord | None:
        """Take the lease of ``run.run_id`` (see :meth:`rxsteps.stores.base.Store.claim`)."""
        assert run.owner is not None
        conn, key, locked = self._take(), _lock_key(self.schema, run.run_id), False
        try:
            with conn.transaction():
                new, owner, now = self._lock_row(conn, run)
                if not self._lock_run(conn, key, owner):
                    raise self._locked(run.run_id, owner or "another process")
                locked = True
                before = self._take_over(conn, run, owner, new=new, fresh=fresh, now=now)
        except BaseException as error:
            if locked:  # rolled back, but a session lock outlives its transaction
                self._unlock(conn, key)
            self._give(conn)
            if isinstance(error, self._psycopg.Error):
                raise self._error(error, "claim the run") from error
            raise
        with self._lock:
            self._leases[(run.run_id, run.owner)] = conn
        return before

    def _lock_row(self, conn: psycopg.Connection[Any],
                  run: RunRecord) -> tuple[bool, str | None, float]:
        """Insert the run if it is new and lock its row: whether it was new, its stored
        owner, and the time of the claim."""
        s, now = self.schema, time.time()
        new = conn.execute(
            f"INSERT INTO {s}.runs VALUES (%s, %s, %s, %s, 'running', %s, %s, NULL) "
            "ON CONFLICT (run_id) DO NOTHING RETURNING run_id",
            (run.run_id, json.dumps(run.shape), run.inputs, run.serializer, now, now),
        ).fetchone() is not None
        row = conn.execute(f"SELECT owner FROM {s}.runs WHERE run_id = %s FOR UPDATE",
                           (run.run_id,)).fetchone()
        return new, (row[0] if row is not None else None), now

    def _take_over(self, conn: psycopg.Connection[Any], run: RunRecord, owner: str | None,
                   *, new: bool, fresh: bool, now: float) -> RunRecord | None:
        """With the run's lock held: make ``run.owner`` its owner; what was stored."""
        s = self.schema
        if owner and owner != run.owner and owner_alive(owner) and on_this_host(owner):
            raise self._locked(run.run_id, owner)  # alive here: its session was lost
        before = None if new or fresh else self._load(conn, run.run_id)
        if fresh and not new:
            conn.execute(f"DELETE FROM {s}.steps WHERE run_id = %s", (run.run_id,))
            conn.execute(f"UPDATE {s}.runs SET shape = %s, inputs = %s, serializer = %s, "
                         "created = %s WHERE run_id = %s",
                         (json.dumps(run.shape), run.inputs, run.serializer, now,
                          run.run_id))
        conn.execute(f"UPDATE {s}.runs SET status = 'running', updated = %s, owner = %s "
                     "WHERE run_id = %s", (now, run.owner, run.run_id))
        return before

    def _lock_run(self, conn: psycopg.Connection[Any], key: int, owner: str | None) -> bool:
        """Take the run's advisory lock; wait for it only if its owner's process, on
        this host, is gone (the server is about to end its session)."""
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if got and got[0]:
            return True
        if not owner or not on_this_host(owner) or owner_alive(owner):
            return False
        conn.execute(f"SET LOCAL lock_timeout = '{_DEAD_WAIT:g}s'")
        try:
            with conn.transaction():  # a savepoint: a timeout leaves the claim usable
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        except self._psycopg.errors.LockNotAvailable:
            return False
        return True

    def _locked(self, run_id: str, owner: str) -> RunLockedError:
        return RunLockedError(
            f"run {run_id!r} in store {self.name!r} is being run by {owner} "
            "(host:pid:start:token); wait for it to end, or pick another run_id",
            self.name, run_id, owner)

    def _unlock(self, conn: psycopg.Connection[Any], key: int) -> None:
        try:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        except self._psycopg.Error:
            conn.close()  # a lost session holds no lock anyway

    def record_steps(self, run_id: str, owner: str, records: list[StepRecord]) -> None:
        """Store finished steps in one statement, while ``owner`` holds the run.

        Raises:
            StoreError: The server failed, or the run's lease was lost (another process
                took the run over): nothing was written.
        """
        columns: list[list[Any]] = [[] for _ in range(8)]
        for r in records:
            for column, value in zip(columns, (r.step, r.status, r.attempts, r.started,
                                               r.ended, r.error, len(r.values),
                                               pack(r.values)), strict=True):
                column.append(value)
        with self._using(f"record step {records[0].step!r}") as conn:
            cursor = conn.execute(_RECORD.format(s=self.schema),
                                  (time.time(), run_id, owner, *columns))
            if cursor.rowcount == 0:
                raise StoreError(
                    f"store {self.name!r}: run {run_id!r} is no longer held by {owner}; "
                    f"step {records[0].step!r} was not recorded and runs again on resume",
                    self.name)

    def release(self, run_id: str, owner: str, status: str) -> None:
        """End the run with ``status``, clear its owner and drop its advisory lock."""
        with self._lock:
            lease = self._leases.pop((run_id, owner), None)
        sql = (f"UPDATE {self.schema}.runs SET status = %s, updated = %s, owner = NULL "
               "WHERE run_id = %s AND owner = %s")
        args = (status, time.time(), run_id, owner)
        if lease is None:
            with self._using("end the run") as conn:
                conn.execute(sql, args)
            return
        try:  # on the lease's own session: at the cap there may be no other
            lease.execute(sql, args)
        except self._psycopg.Error as error:
            raise self._error(error, "end the run") from error
        finally:
            self._unlock(lease, _lock_key(self.schema, run_id))
            self._give(lease)

    def load(self, run_id: str) -> RunRecord | None:
        """The stored run with its steps, or ``None``."""
        with self._using("read") as conn:
            return self._load(conn, run_id)

    def runs(self) -> list[RunRecord]:
        """Every stored run, newest first (steps not loaded)."""
        with self._using("read") as conn:
            rows = conn.execute(f"SELECT * FROM {self.schema}.runs "
                                "ORDER BY created DESC, run_id").fetchall()
        return [_run(row) for row in rows]

    def delete(self, run_id: str) -> bool:
        """Forget a run and its steps."""
        with self._using(f"delete run {run_id!r}") as conn:
            cursor = conn.execute(f"DELETE FROM {self.schema}.runs WHERE run_id = %s",
                                  (run_id,))
            return cursor.rowcount > 0

    def cache_get(self, key: str, ttl: float | None) -> list[bytes] | None:
        """The values cached under ``key``, unless older than ``ttl`` seconds."""
        with self._using("read") as conn:
            row = conn.execute(f"SELECT created, data FROM {self.schema}.cache "
                               "WHERE key = %s", (key,)).fetchone()
        if row is None or (ttl is not None and time.time() - row[0] > ttl):
            return None
        return unpack(bytes(row[1]))

    def cache_put(self, key: str, step: str, values: list[bytes]) -> None:
        """Cache ``values`` (a step's, serialised) under ``key``."""
        with self._using(f"cache step {step!r}") as conn:
            conn.execute(
                f"INSERT INTO {self.schema}.cache VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (key) DO UPDATE SET step = EXCLUDED.step, "
                "created = EXCLUDED.created, count = EXCLUDED.count, data = EXCLUDED.data",
                (key, step, time.time(), len(values), pack(values)))

    def close(self) -> None:
        """Close the idle connections (the leases of running runs stay open)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
            self._closed()

    # -- helpers ----------------------------------------------------------------------

    def _load(self, conn: psycopg.Connection[Any], run_id: str) -> RunRecord | None:
        s = self.schema
        row = conn.execute(f"SELECT * FROM {s}.runs WHERE run_id = %s", (run_id,)).fetchone()
        if row is None:
            return None
        record = _run(row)
        for step, status, attempts, started, ended, error, data in conn.execute(
            f"SELECT step, status, attempts, started, ended, error, data FROM {s}.steps "
            "WHERE run_id = %s", (run_id,)
        ):
            record.steps[step] = StepRecord(step, status, unpack(bytes(data)), attempts,
                                            started, ended, error)
        return record


def _run(row: Any) -> RunRecord:
    run_id, shape, inputs, serializer, status, created, updated, owner = row
    return RunRecord(run_id, json.loads(shape), bytes(inputs), serializer, status, created,
                     updated, owner)
