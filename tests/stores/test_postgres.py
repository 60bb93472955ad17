"""What only PostgresStore does: URLs, its own schema, the advisory-lock lease, refused
connections without the password, threads, and a missing psycopg.

The protocol itself (resume, records, caching, refusals) is the contract suite that runs
on every store: test_durable.py, test_caching.py (the ``backend`` fixture).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rxsteps import (
    OptionError,
    OptionTypeError,
    RunLockedError,
    Step,
    StepGraph,
    StoreError,
    run,
)
from rxsteps.stores import PostgresStore, open_store
from rxsteps.stores import postgres as pgstore
from rxsteps.stores.base import RunRecord, StepRecord
from tests.support.isolated import run_isolated

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: "
                                                "pip install -e '.[postgres]'")

HOST = socket.gethostname()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_run(run_id: str, owner: str) -> RunRecord:
    return RunRecord(run_id, {"a": []}, b"", "pickle", "running", 0.0, 0.0, owner=owner)


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(postgres_url)
    yield opened
    opened.close()


@pytest.fixture
def session(postgres_url: str) -> Iterator[Any]:
    """A connection of its own (another process, as far as the server can tell)."""
    with psycopg.connect(postgres_url, autocommit=True,
                         options="-c search_path=rxsteps") as conn:
        yield conn


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


# -- opening ---------------------------------------------------------------------------


def test_a_url_given_as_store_opens_a_postgres_store(postgres_url: str) -> None:
    assert run(StepGraph([Step("a", lambda: 1)]), store=postgres_url, run_id="r1")["a"] == 1
    opened = open_store(postgres_url)
    assert isinstance(opened, PostgresStore) and opened is open_store(postgres_url)
    short = "postgres://" + postgres_url.partition("://")[2]  # the other spelling
    assert isinstance(open_store(short), PostgresStore)
    assert [r.run_id for r in open_store(short).runs()] == ["r1"]
    open_store(short).close()


def test_its_tables_are_in_their_own_schema(store: PostgresStore, session: Any) -> None:
    run(StepGraph([Step("a", lambda: b"\x00\xff")]), store=store, run_id="r1")
    tables = session.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 2"
    ).fetchall()
    assert tables == [("rxsteps", "cache"), ("rxsteps", "meta"), ("rxsteps", "runs"),
                      ("rxsteps", "steps")]
    kind = session.execute("SELECT pg_typeof(data)::text FROM steps").fetchone()
    assert kind == ("bytea",)
    assert run(StepGraph([Step("a", lambda: 0)]), store=store, run_id="r1")["a"] == b"\x00\xff"


def test_another_schema_keeps_other_runs(postgres_url: str) -> None:
    other = PostgresStore(postgres_url, schema="team_b")
    run(StepGraph([Step("a", lambda: 1)]), store=other, run_id="r1")
    assert [r.run_id for r in other.runs()] == ["r1"]
    assert PostgresStore(postgres_url).runs() == []
    with pytest.raises(OptionError) as caught:
        PostgresStore(postgres_url, schema="Bad-Name")
    assert str(caught.value) == ("schema must be a lower-case SQL name such as 'rxsteps' "
                                 "(letters, digits, _), got 'Bad-Name'")


def test_a_refused_connection_names_the_url_without_its_password() -> None:
    port = free_port()
    url = f"postgresql://agent:s3cret-pw@127.0.0.1:{port}/runs?sslmode=disable"
    with pytest.raises(StoreError) as caught:
        run(StepGraph([Step("a", lambda: 1)]), store=url, run_id="r1")
    text = str(caught.value)
    assert text.startswith(
        f"store 'postgresql://agent@127.0.0.1:{port}/runs?sslmode=disable' cannot be "
        "reached; check that the server runs and the DSN is right (could not connect: ")
    assert "Connection refused" in text and "s3cret-pw" not in text
    assert caught.value.store == f"postgresql://agent@127.0.0.1:{port}/runs?sslmode=disable"
    assert isinstance(caught.value.__cause__, psycopg.OperationalError)


def test_a_key_value_dsn_given_as_store_opens_a_postgres_store(postgres_url: str) -> None:
    dsn = psycopg.conninfo.make_conninfo(
        **psycopg.conninfo.conninfo_to_dict(postgres_url))  # host=... dbname=... form
    assert "://" not in dsn
    graph = StepGraph([Step("a", lambda: 1)])
    assert run(graph, store=dsn, run_id="r1")["a"] == 1
    assert isinstance(open_store(dsn), PostgresStore)
    stored = PostgresStore(postgres_url).load("r1")
    assert stored is not None and stored.status == "succeeded"


def test_a_refused_key_value_dsn_is_named_without_its_password() -> None:
    port = free_port()
    dsn = f"host=127.0.0.1 port={port} user=agent password='s3 cret' dbname=runs"
    with pytest.raises(StoreError) as caught:
        run(StepGraph([Step("a", lambda: 1)]), store=dsn, run_id="r1")
    assert str(caught.value).startswith(
        f"store 'host=127.0.0.1 port={port} user=agent dbname=runs' cannot be reached; "
        "check that the server runs and the DSN is right (could not connect: ")
    assert "s3 cret" not in str(caught.value)


def test_a_malformed_key_value_dsn_is_refused() -> None:
    with pytest.raises(StoreError) as caught:
        PostgresStore("host=db port='5432")
    assert str(caught.value).startswith(
        "store \"host=db port='5432\" is not a valid PostgreSQL DSN (")
    assert isinstance(caught.value.__cause__, psycopg.ProgrammingError)


def test_an_unknown_user_is_a_refused_login(postgres_url: str) -> None:
    rest = postgres_url.partition("://")[2].rpartition("@")[2]
    url = f"postgresql://nobody_here:pw@{rest}"
    with pytest.raises(StoreError) as caught:
        PostgresStore(url)
    assert str(caught.value).startswith(
        f"store 'postgresql://nobody_here@{rest}' refused the login; check the user and "
        "password of the DSN (could not connect: ")
    assert '"nobody_here"' in str(caught.value)  # trust: no such role; scram: bad password


def test_without_psycopg_the_error_names_the_extra() -> None:
    out = run_isolated('''
        import sys
        sys.modules["psycopg"] = None  # as if it were not installed
        from rxsteps import Step, StepGraph, run
        assert run(StepGraph([Step("a", lambda: 1)]))["a"] == 1  # rxsteps imports
        try:
            run(StepGraph([Step("a", lambda: 1)]), store="postgresql://h/db", run_id="r")
        except ImportError as error:
            print(error, type(error.__cause__).__name__)
    ''', limit=60)
    assert out == ("PostgresStore needs psycopg 3: install the postgres extra from your "
                   "clone: pip install -e '.[postgres]' ModuleNotFoundError\n")


# -- the lease ---------------------------------------------------------------------------


def test_a_live_session_holds_the_run_whatever_its_host(store: PostgresStore,
                                                        session: Any) -> None:
    run(StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")
    key = pgstore._lock_key("rxsteps", "r1")
    session.execute("SELECT pg_advisory_lock(%s)", (key,))  # a process elsewhere runs it
    session.execute("UPDATE runs SET owner = 'elsewhere:1:x'")
    with pytest.raises(RunLockedError) as caught:
        run(StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")
    assert caught.value.owner == "elsewhere:1:x"
    assert str(caught.value) == (
        f"run 'r1' in store {store.name!r} is being run by elsewhere:1:x "
        "(host:pid:start:token); wait for it to end, or pick another run_id")
    session.execute("SELECT pg_advisory_unlock(%s)", (key,))  # its session ends
    assert run(StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")["a"] == 1


def test_an_owner_on_another_host_without_a_session_is_stale(store: PostgresStore,
                                                             session: Any) -> None:
    run(StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")
    session.execute("UPDATE runs SET owner = 'elsewhere:1:x', status = 'running'")
    result = run(StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")
    assert result.reasons["a"] == "resumed"
    assert session.execute("SELECT status, owner FROM runs").fetchall() == [
        ("succeeded", None)]


def test_a_live_owner_here_counts_even_without_its_session(store: PostgresStore,
                                                           session: Any) -> None:
    run(StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")
    owner = f"{HOST}:{os.getpid()}:x"  # alive (this process); say the server restarted
    session.execute("UPDATE runs SET owner = %s", (owner,))
    with pytest.raises(RunLockedError) as caught:
        run(StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")
    assert caught.value.owner == owner


def test_a_claim_waits_for_the_session_of_a_process_that_died_here(
        store: PostgresStore, session: Any, postgres_url: str) -> None:
    run(StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")
    key = pgstore._lock_key("rxsteps", "r1")
    session.execute("SELECT pg_advisory_lock(%s)", (key,))  # its session not yet ended
    session.execute("UPDATE runs SET owner = %s", (f"{HOST}:{dead_pid()}:x",))
    outcome: list[Any] = []
    claimer = threading.Thread(target=lambda: outcome.append(run(
        StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")))
    claimer.start()
    with psycopg.connect(postgres_url, autocommit=True) as watcher:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                "NOT granted").fetchone()[0]:
            time.sleep(0.01)
    assert claimer.is_alive()  # waiting for the lock, not refused
    session.execute("SELECT pg_advisory_unlock(%s)", (key,))  # the server ends it
    claimer.join(30)
    assert outcome and outcome[0].reasons["a"] == "resumed"


def test_a_claim_gives_up_on_a_dead_owner_whose_session_stays(
        store: PostgresStore, session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgstore, "_DEAD_WAIT", 0.2)
    run(StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")
    session.execute("SELECT pg_advisory_lock(%s)", (pgstore._lock_key("rxsteps", "r1"),))
    owner = f"{HOST}:{dead_pid()}:x"
    session.execute("UPDATE runs SET owner = %s", (owner,))
    with pytest.raises(RunLockedError) as caught:
        store.claim(new_run("r1", "me:1:y"), fresh=False)
    assert caught.value.owner == owner
    assert store.load("r1").owner == owner  # type: ignore[union-attr]


def test_a_process_that_lost_its_lease_writes_nothing(store: PostgresStore,
                                                      session: Any) -> None:
    assert store.claim(new_run("r1", "me:1:a"), fresh=False) is None
    session.execute("UPDATE runs SET owner = 'successor:2:b'")  # taken over meanwhile
    with pytest.raises(StoreError) as caught:
        store.record_steps("r1", "me:1:a", [StepRecord("a", "succeeded", [b"1"], 1)])
    assert str(caught.value) == (
        f"store {store.name!r}: run 'r1' is no longer held by me:1:a; step 'a' was not "
        "recorded and runs again on resume")
    assert session.execute("SELECT count(*) FROM steps").fetchone() == (0,)
    store.release("r1", "me:1:a", "failed")  # ends nothing of the successor's
    assert session.execute("SELECT owner FROM runs").fetchone() == ("successor:2:b",)


def test_fresh_starts_over_with_the_new_shape(store: PostgresStore) -> None:
    run(StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")
    graph = StepGraph([Step("a", lambda: 2), Step("b", lambda a: a, ["a"])])
    assert dict(run(graph, store=store, run_id="r1", fresh=True)) == {"a": 2, "b": 2}
    stored = store.load("r1")
    assert stored is not None and stored.shape == {"a": [], "b": ["a"]}
    assert sorted(stored.steps) == ["a", "b"]


# -- threads -----------------------------------------------------------------------------


def test_many_threads_share_one_store(store: PostgresStore, session: Any) -> None:
    graph = StepGraph([Step("a", lambda q: q, ["q"]), Step("b", lambda a: a + 1, ["a"])],
                      inputs=["q"])
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                assert run(graph, {"q": i}, store=store, run_id=f"t{n}-{i}")["b"] == i + 1
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert session.execute("SELECT count(*), count(owner) FROM runs").fetchone() == (80, 0)
    assert session.execute("SELECT count(*) FROM steps").fetchone() == (160,)
    assert len(store._idle) <= pgstore._IDLE and store._leases == {}


# -- the connection cap ------------------------------------------------------------------


def test_a_store_opens_no_more_than_max_connections(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, max_connections=2, connect_timeout=1)
    try:
        for run_id in ("r1", "r2"):  # each running run holds one for its lease
            store.claim(new_run(run_id, f"{HOST}:{os.getpid()}:{run_id}"), fresh=False)
        with pytest.raises(StoreError) as caught:
            store.runs()
        assert str(caught.value) == (
            f"store {pgstore.redact(postgres_url)!r} has all 2 of its connections in use "
            "(2 held by running runs, one each) after waiting 1 s; pass "
            "PostgresStore(..., max_connections=) a higher cap or run fewer runs at once")
        store.release("r1", f"{HOST}:{os.getpid()}:r1", "succeeded")  # gives one back
        assert sorted(r.run_id for r in store.runs()) == ["r1", "r2"]
    finally:
        store.close()


def test_a_caller_at_the_cap_waits_for_a_connection_to_come_back(
        postgres_url: str, session: Any) -> None:
    store = PostgresStore(postgres_url, max_connections=2, connect_timeout=60)
    owners = [f"{HOST}:{os.getpid()}:w{i}" for i in range(2)]
    try:
        for i, owner in enumerate(owners):
            store.claim(new_run(f"w{i}", owner), fresh=False)
        got: list[int] = []
        waiter = threading.Thread(target=lambda: got.append(len(store.runs())))
        waiter.start()
        store.release("w0", owners[0], "succeeded")
        waiter.join(60)
        assert got == [2]
        sessions = session.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()").fetchone()[0]
        assert sessions <= 2
    finally:
        store.close()


@pytest.mark.parametrize(("cap", "error"), [(1, OptionError), (0, OptionError),
                                            (2.5, OptionTypeError), (True, OptionTypeError)])
def test_a_cap_below_two_is_refused(cap: Any, error: type[OptionError]) -> None:
    with pytest.raises(error) as caught:
        PostgresStore("postgresql://u@127.0.0.1:1/db", max_connections=cap)
    assert type(caught.value) is error and caught.value.option == "max_connections"
    assert str(caught.value) == (
        "max_connections must be an int of at least 2 (a running run holds one for its "
        f"lease and writes on another), got {cap!r}")


def test_a_schema_that_is_not_a_str_is_refused() -> None:
    schema: Any = 3
    with pytest.raises(OptionTypeError) as caught:
        PostgresStore("postgresql://u@127.0.0.1:1/db", schema=schema)
    assert isinstance(caught.value, TypeError) and caught.value.option == "schema"
    assert str(caught.value) == ("schema must be a lower-case SQL name such as 'rxsteps' "
                                 "(letters, digits, _), got 3")


def test_many_threads_share_a_capped_store(postgres_url: str, session: Any) -> None:
    store = PostgresStore(postgres_url, max_connections=3)
    peak: list[int] = []

    def work(i: int) -> None:
        for _ in range(5):
            store.cache_put(f"k{i}", "s", [b"v"])
            peak.append(session_count())

    lock = threading.Lock()

    def session_count() -> int:
        with lock:
            return int(session.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()").fetchone()[0])

    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert len(peak) == 60 and max(peak) <= 3
        assert all(store.cache_get(f"k{i}", None) == [b"v"] for i in range(12))
    finally:
        store.close()
