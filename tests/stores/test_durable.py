"""Durable runs: store=, run_id=, resume after a stop, refusals, serializers, leases.

The tests taking ``db`` (or ``backend``) are the store contract: each runs on SQLite and
on PostgreSQL (the ``backend`` fixture, :mod:`tests.support.stores`); the others are
about SQLite files or the options themselves.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import reactivex
from reactivex import operators as ops

from rxsteps import (
    EventKind,
    OptionError,
    Retry,
    RunChangedError,
    RunLockedError,
    RxStepsWarning,
    Step,
    StepEvent,
    StepFailedError,
    StepGraph,
    StepStatus,
    StoreError,
    StoreValueError,
    arun,
    pipeline,
    run,
    start,
)
from rxsteps.stores import SQLiteStore, Store, open_store
from rxsteps.stores.base import RunRecord, StepRecord, new_owner, owner_alive, process_start
from tests.support.isolated import run_isolated, tree_env
from tests.support.stores import Backend


class Calls:
    """Counts calls per step, thread-safely."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + 1


def chain(calls: Calls, *, fail_c: list[bool] | None = None) -> StepGraph:
    """a -> b (streams a, a+1) -> c (fails while fail_c[0]), with input q."""
    def a(q: int) -> int:
        calls("a")
        return q

    def b(x: int) -> Any:
        calls("b")
        yield x
        yield x + 1

    def c(y: int) -> int:
        calls("c")
        if fail_c and fail_c[0]:
            raise ConnectionError("flaky")
        return y * 10

    return StepGraph([Step("a", a, ["q"]), Step("b", b, ["a"]), Step("c", c, ["b"])],
                     inputs=["q"])


@pytest.fixture
def db(backend: Backend) -> str:
    """The ``store=`` argument of the store under test (a path or a URL)."""
    return backend.store


# -- resume ---------------------------------------------------------------------------


def test_a_failed_run_resumes_without_calling_its_succeeded_steps_again(db: str) -> None:
    calls, broken = Calls(), [True]
    graph = chain(calls, fail_c=broken)
    # fail_fast=False: with fail-fast, c's first failure may cancel b before its last
    # value (b then rightly runs again), so what b succeeded in depended on timing.
    failed = run(graph, {"q": 1}, store=db, run_id="r1", fail_fast=False)
    assert failed.status["c"] is StepStatus.FAILED
    assert calls.counts == {"a": 1, "b": 1, "c": 1}  # c failed on b's first value
    broken[0] = False
    result = run(graph, {"q": 1}, store=db, run_id="r1")
    assert calls.counts == {"a": 1, "b": 1, "c": 3}  # c again, once per value of b
    assert result["c"] == 20 and result.emitted("c") == [10, 20]
    assert result.emitted("b") == [1, 2]  # every streamed value, in order
    assert result.reasons["a"] == result.reasons["b"] == "resumed"


def test_a_finished_run_run_again_calls_nothing(db: str) -> None:
    calls = Calls()
    graph = chain(calls)
    first = run(graph, {"q": 3}, store=db, run_id="r1")
    again = run(graph, {"q": 3}, store=db, run_id="r1")
    assert dict(again) == dict(first) == {"a": 3, "b": 4, "c": 40}
    assert calls.counts == {"a": 1, "b": 1, "c": 2}
    assert all(s is StepStatus.SUCCEEDED for s in again.status.values())


def test_other_run_ids_are_other_runs(db: str) -> None:
    calls = Calls()
    run(chain(calls), {"q": 1}, store=db, run_id="r1")
    run(chain(calls), {"q": 1}, store=db, run_id="r2")
    assert calls.counts["a"] == 2


def test_fresh_starts_over(db: str) -> None:
    calls = Calls()
    run(chain(calls), {"q": 1}, store=db, run_id="r1")
    run(chain(calls), {"q": 2}, store=db, run_id="r1", fresh=True)
    assert calls.counts["a"] == 2
    assert run(chain(calls), {"q": 2}, store=db, run_id="r1")["a"] == 2
    assert calls.counts["a"] == 2


def test_arun_and_start_resume_too(db: str) -> None:
    calls = Calls()
    graph = chain(calls)
    assert asyncio.run(arun(graph, {"q": 1}, store=db, run_id="r1"))["c"] == 20
    assert start(graph, {"q": 1}, store=db, run_id="r1").result()["c"] == 20
    assert calls.counts == {"a": 1, "b": 1, "c": 2}


def test_a_pipeline_keeps_one_run_per_event(db: str) -> None:
    calls = Calls()

    def double(x: int) -> int:
        calls("a")
        return x * 2

    graph = StepGraph([Step("a", double, ["x"])], inputs=["x"])
    for _ in range(2):
        out = pipeline(graph, {"x": reactivex.of(1, 2, 3)}, store=db, run_id="batch")
        assert [r["a"] for r in out.pipe(ops.to_list()).run()] == [2, 4, 6]
    assert calls.counts == {"a": 3}
    by_value = pipeline(graph, {"x": reactivex.of(3, 1)}, store=db,
                        run_id=lambda inputs: f"x={inputs['x']}")
    assert [r["a"] for r in by_value.pipe(ops.to_list()).run()] == [6, 2]
    ids = sorted(r.run_id for r in open_store(db).runs())
    assert ids == ["batch/0", "batch/1", "batch/2", "x=1", "x=3"]


def test_a_pipeline_event_whose_run_is_locked_fails_alone(db: str, backend: Backend) -> None:
    release = threading.Event()

    def slow(x: int) -> int:
        assert release.wait(30), "the second event's refusal never arrived"
        return x * 2

    def seen(result: Any) -> None:
        if result.failure is not None:
            release.set()  # the refusal came while the first event held its run

    graph = StepGraph([Step("a", slow, ["x"])], inputs=["x"])
    stream = pipeline(graph, {"x": reactivex.of(1, 1, 2)}, store=db, ordered=False,
                      max_in_flight=3, run_id=lambda inputs: f"k{inputs['x']}")
    out = sorted(stream.pipe(ops.do_action(seen), ops.to_list()).run(),
                 key=lambda r: r.sequence)
    assert [r.sequence for r in out] == [0, 1, 2]
    assert [out[0]["a"], out[2]["a"]] == [2, 4]
    refused = out[1]
    assert isinstance(refused.failure, RunLockedError) and refused.failure.run_id == "k1"
    assert str(refused.failure).startswith(f"run 'k1' in store {backend.name!r} is being "
                                           "run by ")
    assert not refused.ok and refused.status == {"a": StepStatus.CANCELLED}
    assert refused.reasons == {"a": "the store refused the run: RunLockedError"}


def test_a_pipeline_event_whose_stored_run_changed_fails_alone(db: str,
                                                               backend: Backend) -> None:
    graph = StepGraph([Step("a", lambda x: x * 2, ["x"])], inputs=["x"])
    run(graph, {"x": 1}, store=db, run_id="same")
    stream = pipeline(graph, {"x": reactivex.of(1, 2, 3)}, store=db, max_in_flight=1,
                      run_id=lambda inputs: "same" if inputs["x"] < 3 else "other")
    out = stream.pipe(ops.to_list()).run()
    assert [r.sequence for r in out] == [0, 1, 2]
    assert out[0].reasons == {"a": "resumed"} and out[2]["a"] == 6
    assert isinstance(out[1].failure, RunChangedError)
    assert str(out[1].failure) == (
        f"cannot resume run 'same' from store {backend.name!r}: changed since it was "
        "stored: input 'x'; pass fresh=True to start over, or another run_id")
    assert out[1].reasons == {"a": "the store refused the run: RunChangedError"}
    stored = open_store(db).load("same")
    assert stored is not None and stored.status == "succeeded" and stored.owner is None


# -- what is recorded, and when ---------------------------------------------------------


def test_each_step_is_committed_before_anyone_hears_it_succeeded(backend: Backend) -> None:
    seen: list[tuple[str, str | None]] = []

    def watch(event: StepEvent) -> None:
        if event.kind is EventKind.SUCCEEDED:
            # another connection: only committed rows are visible
            rows = backend.sql("SELECT status FROM steps WHERE step = ?", (event.step,))
            seen.append((event.step, rows[0][0] if rows else None))

    run(chain(Calls()), {"q": 1}, store=backend.store, run_id="r1", on_event=watch)
    assert sorted(seen) == [("a", "succeeded"), ("b", "succeeded"), ("c", "succeeded")]


class Pickled:
    """A value that counts how often it is pickled (module level: pickle finds it)."""

    times = 0

    def __init__(self, n: int) -> None:
        self.n = n

    def __reduce__(self) -> tuple[Any, ...]:
        type(self).times += 1
        return (Pickled, (self.n,))


def _two_pickled() -> Iterator[Pickled]:
    yield Pickled(2)
    yield Pickled(3)


def test_each_value_is_serialised_once(tmp_path: Path) -> None:
    # check() serialises a value as it is produced (to fail its step if it cannot be
    # written); the recorder reuses those bytes rather than serialising it again.
    Pickled.times = 0
    graph = StepGraph([Step("a", lambda: Pickled(1)),
                       Step("b", _two_pickled)])
    result = run(graph, store=str(tmp_path / "runs.db"), run_id="r1")
    assert (result["a"].n, [v.n for v in result.emitted("b")]) == (1, [2, 3])
    assert Pickled.times == 3
    again = run(graph, store=str(tmp_path / "runs.db"), run_id="r1")
    assert (again["a"].n, [v.n for v in again.emitted("b")]) == (1, [2, 3])


@pytest.mark.parametrize("steps", [1, 3, 1024, 1100])
def test_a_batch_of_step_ends_of_any_size_is_stored_whole(db: str, steps: int) -> None:
    # SQLite writes a batch as multi-row INSERTs padded to a power of two (1,100: 1,024
    # rows, then 76 padded to 128); a lost, doubled or padded-in row shows here.
    store = open_store(db)
    store.claim(RunRecord("big", {}, b"", "pickle", "running", 0.0, 0.0, owner="me"),
                fresh=True)
    records = [StepRecord(f"s{i}", "succeeded", [str(i).encode()] * (i % 3), 1, 0.5, 1.5,
                          None) for i in range(steps)]
    store.record_steps("big", "me", records)
    stored = store.load("big")
    assert stored is not None
    assert {n: (r.values, r.status) for n, r in stored.steps.items()} == {
        r.step: (r.values, "succeeded") for r in records}
    store.release("big", "me", "succeeded")


def test_the_store_keeps_statuses_attempts_values_and_errors(db: str) -> None:
    calls, broken = Calls(), [True]
    with pytest.raises(StepFailedError):
        run(chain(calls, fail_c=broken), {"q": 1}, store=db, run_id="r1")
    stored = open_store(db).load("r1")
    assert stored is not None and stored.status == "failed" and stored.owner is None
    assert stored.shape == {"a": ["q"], "b": ["a"], "c": ["b"]}
    assert {s: r.status for s, r in stored.steps.items()} == {
        "a": "succeeded", "b": "succeeded", "c": "failed"}
    assert len(stored.steps["b"].values) == 2 and stored.steps["b"].attempts == 1
    assert stored.steps["c"].error == "ConnectionError('flaky')"
    assert stored.steps["a"].duration >= 0


def test_the_store_keeps_each_steps_most_attempts_and_its_times(db: str) -> None:
    # Attempts are the most any one call took (b's second call fails twice); times are
    # the wall clock, from the first attempt's start to the end; a step that never
    # ran is kept skipped, with its reason, and without times of its own.
    tries: dict[int, int] = {}

    def b(x: int) -> int:
        tries[x] = tries.get(x, 0) + 1
        if x == 2 and tries[x] < 3:
            raise ConnectionError("flaky")
        return x

    def a() -> Iterator[int]:
        yield 1
        yield 2

    graph = StepGraph([
        Step("a", a),
        Step("b", b, ["a"], retry=Retry(attempts=3, backoff=0.0)),
        Step("bad", lambda: 1 / 0),
        Step("after", lambda x: x, ["bad"]),
    ])
    before = time.time()
    result = run(graph, store=db, run_id="r1", fail_fast=False)
    after = time.time()
    assert result.emitted("b") == [1, 2]
    stored = open_store(db).load("r1")
    assert stored is not None
    steps = stored.steps
    assert {s: (r.status, r.attempts) for s, r in steps.items()} == {
        "a": ("succeeded", 1), "b": ("succeeded", 3), "bad": ("failed", 1),
        "after": ("skipped", 0)}
    for step in ("a", "b", "bad"):
        started, ended = steps[step].started, steps[step].ended
        assert started is not None and ended is not None
        assert before <= started <= ended <= after
    assert steps["after"].started is None and steps["after"].error == result.reasons["after"]


class _CountedEvent(StepEvent):
    """A StepEvent that counts how many are made (the run module builds events)."""

    made = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).made += 1
        super().__init__(*args, **kwargs)


def test_a_run_with_a_store_and_no_observer_makes_no_events(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The store takes each step's end as one item, not three events it would piece
    # together; with an observer too, the observer still gets every event.
    import rxsteps.execution.run as run_module
    monkeypatch.setattr(run_module, "StepEvent", _CountedEvent)
    store = str(tmp_path / "runs.db")
    assert run(chain(Calls()), {"q": 1}, store=store, run_id="r1")["c"] == 20
    assert _CountedEvent.made == 0
    seen: list[StepEvent] = []
    run(chain(Calls()), {"q": 1}, store=store, run_id="r2", on_event=seen.append)
    assert [(e.kind.name, e.step) for e in seen if e.kind.terminal] == [
        ("SUCCEEDED", "a"), ("SUCCEEDED", "b"), ("SUCCEEDED", "c")]
    assert _CountedEvent.made == len(seen) == 12  # a: 3, b: 4 (2 values), c: 5 (2 calls)
    first, second = open_store(store).load("r1"), open_store(store).load("r2")
    assert first is not None and second is not None
    assert {s: r.values for s, r in first.steps.items()} == {
        s: r.values for s, r in second.steps.items()}


def test_json_serializer_stores_readable_values(db: str) -> None:
    run(chain(Calls()), {"q": 1}, store=db, run_id="r1", serializer="json")
    stored = open_store(db).load("r1")
    assert stored is not None and stored.serializer == "json"
    assert [json.loads(v) for v in stored.steps["b"].values] == [1, 2]
    assert run(chain(Calls()), {"q": 1}, store=db, run_id="r1")["c"] == 20


def test_an_unserialisable_value_fails_only_its_step(db: str) -> None:
    graph = StepGraph([Step("ok", lambda: 1), Step("bad", lambda: threading.Lock()),
                       Step("after", lambda b: b, ["bad"])])
    result = run(graph, store=db, run_id="r1", fail_fast=False)
    error = result.errors["bad"]
    assert isinstance(error, StoreValueError) and error.step == "bad"
    assert str(error).startswith("step 'bad': its value <unlocked _thread.lock object at ")
    assert "cannot be serialised with pickle for store" in str(error)
    assert str(error).endswith("(TypeError: cannot pickle '_thread.lock' object); return a "
                               "picklable value (plain data, no lambdas, locks or sockets)")
    assert isinstance(error.__cause__, TypeError)
    assert result["ok"] == 1 and result.status["after"] is StepStatus.SKIPPED
    stored = open_store(db).load("r1")
    assert stored is not None and stored.steps["ok"].status == "succeeded"


def test_an_unserialisable_streamed_value_fails_its_step(db: str) -> None:
    def tokens() -> Any:
        yield "fine"
        yield {1, 2}  # not JSON

    result = run(StepGraph([Step("t", tokens)]), store=db, run_id="r1", serializer="json",
                 fail_fast=False)
    assert isinstance(result.errors["t"], StoreValueError)
    assert str(result.errors["t"]).endswith(
        "(TypeError: Object of type set is not JSON serializable); return JSON data "
        "(dicts, lists, str, numbers), or pass serializer='pickle'")


# -- refusals -----------------------------------------------------------------------------


def test_changed_steps_are_refused_naming_them(db: str, backend: Backend) -> None:
    run(chain(Calls()), {"q": 1}, store=db, run_id="r1")
    other = StepGraph([Step("a", lambda q: q, ["q"]), Step("b", lambda a: a, ["q"]),
                       Step("d", lambda b: b, ["b"])], inputs=["q"])
    with pytest.raises(RunChangedError) as caught:
        run(other, {"q": 1}, store=db, run_id="r1")
    assert caught.value.changed == ["step 'd' added", "step 'c' removed",
                                    "step 'b' depends on ['q'] (was ['a'])"]
    assert str(caught.value) == (
        f"cannot resume run 'r1' from store {backend.name!r}: changed since it was "
        "stored: step 'd' added, step 'c' removed, step 'b' depends on ['q'] (was ['a']); "
        "pass fresh=True to start over, or another run_id")
    # refused, the run is not held: the right graph still resumes it
    assert run(chain(Calls()), {"q": 1}, store=db, run_id="r1")["c"] == 20


@pytest.mark.parametrize("status", ["running", "failed", "succeeded"])
def test_a_refused_resume_leaves_the_stored_run_as_it_was(db: str, backend: Backend,
                                                          status: str) -> None:
    graph = StepGraph([Step("a", lambda q: q, ["q"])], inputs=["q"])
    run(graph, {"q": 1}, store=db, run_id="r1")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    owner = f"{socket.gethostname()}:{dead}:1:x" if status == "running" else None
    backend.sql("UPDATE runs SET status = ?, owner = ?", (status, owner))  # "running": killed
    with pytest.raises(RunChangedError):
        run(graph, {"q": 2}, store=db, run_id="r1")
    stored = open_store(db).load("r1")
    assert stored is not None and stored.status == status and stored.owner is None


def test_changed_inputs_are_refused_naming_them(db: str) -> None:
    run(chain(Calls()), {"q": 1}, store=db, run_id="r1")
    with pytest.raises(RunChangedError, match=r"changed since it was stored: input 'q'; "):
        run(chain(Calls()), {"q": 2}, store=db, run_id="r1")


@pytest.mark.parametrize(("options", "message"), [
    ({"store": "x.db"}, "store= needs a run_id= (a non-empty str naming the run, such as "
                        "'order-1234'), got None"),
    ({"run_id": "r"}, "run_id= needs store= too (a path such as 'runs.db' or a Store): "
                      "without a store nothing is kept"),
    ({"store": "x.db", "run_id": "r", "serializer": "yaml"},
     "serializer must be one of pickle, json, got 'yaml'"),
    ({"store": 42, "run_id": "r"}, "store must be a path to an SQLite file, a "
                                   "postgresql:// URL or a Store object "
                                   "(rxsteps.stores.Store), got int"),
])
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError) as caught:
        run(StepGraph([Step("a", lambda: 1)]), **options)
    assert str(caught.value) == message


def test_a_run_held_by_a_live_owner_is_refused(db: str, backend: Backend) -> None:
    release, entered = threading.Event(), threading.Event()

    def hold() -> int:
        entered.set()
        release.wait(10)
        return 1

    graph = StepGraph([Step("a", hold)])
    handle = start(graph, store=db, run_id="r1")
    assert entered.wait(10)
    with pytest.raises(RunLockedError) as caught:
        run(graph, store=db, run_id="r1")
    assert str(caught.value).startswith(f"run 'r1' in store {backend.name!r} is being run by ")
    assert str(caught.value).endswith("(host:pid:start:token); wait for it to end, or pick "
                                      "another run_id")
    release.set()
    assert handle.result()["a"] == 1
    assert run(graph, store=db, run_id="r1").reasons["a"] == "resumed"


def test_a_lease_of_a_dead_process_is_taken_over(db: str, backend: Backend) -> None:
    run(StepGraph([Step("a", lambda: 1)]), store=db, run_id="r1")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    backend.sql("UPDATE runs SET owner = ?", (f"{os.uname().nodename}:{dead}:x",))
    assert run(StepGraph([Step("a", lambda: 1)]), store=db, run_id="r1")["a"] == 1
    stored = open_store(db).load("r1")
    assert stored is not None and stored.owner is None and stored.status == "succeeded"



@pytest.mark.parametrize("fresh", [False, True])
def test_a_lease_whose_pid_was_reused_is_taken_over(db: str, backend: Backend,
                                                      fresh: bool) -> None:
    # A container restarted after an OOM kill keeps its hostname and its pid (often 1):
    # the stored owner names this very process's pid, but another start time.
    graph = StepGraph([Step("a", lambda: 1)])
    run(graph, store=db, run_id="r1")
    backend.sql("UPDATE runs SET owner = ?, status = 'running'",
                (f"{socket.gethostname()}:{os.getpid()}:0:x",))
    result = run(graph, store=db, run_id="r1", fresh=fresh)
    assert result["a"] == 1
    assert result.reasons.get("a") == (None if fresh else "resumed")
    stored = open_store(db).load("r1")
    assert stored is not None and stored.owner is None and stored.status == "succeeded"


def test_an_old_format_lease_of_a_live_process_still_counts(db: str, backend: Backend) -> None:
    graph = StepGraph([Step("a", lambda: 1)])
    run(graph, store=db, run_id="r1")
    old = f"{socket.gethostname()}:{os.getpid()}:abcdef012345"  # host:pid:token
    backend.sql("UPDATE runs SET owner = ?", (old,))
    with pytest.raises(RunLockedError) as caught:
        run(graph, store=db, run_id="r1")
    assert caught.value.owner == old


def test_an_owner_is_alive_only_with_its_own_start_time() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    host = socket.gethostname()
    try:
        started = process_start(child.pid)
        assert started.isdigit()
        assert owner_alive(f"{host}:{child.pid}:{started}:x")
        assert not owner_alive(f"{host}:{child.pid}:{int(started) + 1}:x")
        assert owner_alive(f"{host}:{child.pid}::x")  # start unknown: the pid decides
        assert owner_alive(f"elsewhere:{child.pid}:0:x")  # another host's: it counts
    finally:
        child.communicate(b"")
    assert not owner_alive(f"{host}:{child.pid}:{started}:x")
    assert new_owner().split(":")[:3] == [host, str(os.getpid()), process_start(os.getpid())]

OPENERS = r"""
import multiprocessing, os, sys, tempfile
from rxsteps.stores import SQLiteStore

def open_it(path, go):
    go.wait()
    SQLiteStore(path)  # raises in the child, which then exits non-zero

if __name__ == "__main__":
    forks = multiprocessing.get_context("fork")
    for _ in range(25):
        path = os.path.join(tempfile.mkdtemp(), "runs.db")
        go = forks.Event()
        children = [forks.Process(target=open_it, args=(path, go)) for _ in range(4)]
        for child in children:
            child.start()
        go.set()
        for child in children:
            child.join()
        if any(child.exitcode for child in children):
            sys.exit("a process could not open a new store another was creating")
    print("opened")
"""


def test_processes_creating_one_new_store_at_once_all_open_it(tmp_path: Path) -> None:
    # Four processes opening one new file raced on the switch to WAL: SQLite said
    # "database is locked" at once, without waiting busy_timeout (a fresh resume of
    # one run from two processes failed so in CI). Before the fix most of 25 rounds
    # had a failure.
    script = tmp_path / "openers.py"
    script.write_text(OPENERS)
    out = run_isolated(f"exec(open({str(script)!r}).read())", limit=120)
    assert out.strip() == "opened"


# -- bad stores ----------------------------------------------------------------------------


@pytest.mark.parametrize(("parent", "is_file", "why"), [
    ("nowhere", False, "does not exist"),
    ("file", True, "is not a directory"),
], ids=["missing-directory", "under-a-file"])
def test_a_store_whose_directory_cannot_hold_it_is_refused(
        tmp_path: Path, parent: str, is_file: bool, why: str) -> None:
    if is_file:
        (tmp_path / parent).write_text("")
    path = str(tmp_path / parent / "runs.db")
    with pytest.raises(StoreError) as caught:
        run(StepGraph([Step("a", lambda: 1)]), store=path, run_id="r1")
    assert str(caught.value) == (
        f"store {path!r} cannot be created: {str(tmp_path / parent)!r} {why}; "
        "create the directory or pass another store= path")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only directories")
def test_an_unwritable_store_is_refused(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(StoreError, match=r"cannot be opened for writing; pass a store= "
                                             r"path in a directory you can write"):
            SQLiteStore(tmp_path / "runs.db")
    finally:
        tmp_path.chmod(0o700)


def test_a_store_path_that_cannot_be_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        SQLiteStore(tmp_path)  # a directory
    assert str(caught.value) == (
        f"store {str(tmp_path)!r} cannot be opened for writing; pass a store= path in a "
        "directory you can write (could not open: unable to open database file)")


def test_a_corrupted_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    junk = b"this is not a database" * 100
    path.write_bytes(junk)
    with pytest.raises(StoreError) as caught:
        run(StepGraph([Step("a", lambda: 1)]), store=str(path), run_id="r1")
    assert str(caught.value).startswith(
        f"store {str(path)!r} is not an SQLite database or is damaged; nothing was "
        "changed — move it aside and pass another store= path (could not open: ")
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    assert path.read_bytes() == junk


def test_a_newer_schema_is_refused_and_its_runs_kept(backend: Backend) -> None:
    run(StepGraph([Step("a", lambda: 1)]), store=backend.reopen(), run_id="r1")
    backend.sql("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError) as caught:
        backend.reopen()
    other = {"sqlite": "path", "postgres": "database or schema"}[backend.kind]
    assert str(caught.value) == (
        f"store {backend.name!r} has schema version 99, written by a newer rxsteps (this "
        f"one reads up to 1); upgrade rxsteps or pass another store= {other}; nothing was "
        "changed")
    assert backend.sql("SELECT count(*) FROM steps") == [(1,)]


# -- a store that fails to write ----------------------------------------------------------


class FailingStore(SQLiteStore):
    """An SQLite store whose writes of some steps, and first releases, raise."""

    def __init__(self, path: Path, *, record_fails: set[str], release_fails: int) -> None:
        super().__init__(path)
        self.record_fails, self.release_fails = record_fails, release_fails
        self.releases = 0
        self.recorded = threading.Event()  # a batch without a failing step was written

    def record_steps(self, run_id: str, owner: str, records: list[StepRecord]) -> None:
        if any(r.step in self.record_fails for r in records):
            raise StoreError("disk I/O error", self.name)
        super().record_steps(run_id, owner, records)
        self.recorded.set()

    def release(self, run_id: str, owner: str, status: str) -> None:
        self.releases += 1
        if self.releases <= self.release_fails:
            raise StoreError("server closed the connection", self.name)
        super().release(run_id, owner, status)


def two_steps(calls: Calls, store: FailingStore) -> StepGraph:
    """a -> b, b starting once a's end is written (so they are written apart)."""
    def a() -> int:
        calls("a")
        return 1

    def b(x: int) -> int:
        calls("b")
        assert store.recorded.wait(30), "a's end was never written"
        return x + 1

    return StepGraph([Step("a", a), Step("b", b, ["a"])])


def test_a_step_end_or_a_release_the_store_refuses_warns_and_the_run_resumes_here(
        tmp_path: Path) -> None:
    path, calls = tmp_path / "runs.db", Calls()
    failing = FailingStore(path, record_fails={"b"}, release_fails=100)
    with pytest.warns(RxStepsWarning) as caught:
        result = run(two_steps(calls, failing), store=failing, run_id="r1")
    assert result["b"] == 2
    assert [str(w.message) for w in caught if w.category is RxStepsWarning] == [
        f"run 'r1': step 'b' was not recorded in store {str(path)!r} (StoreError: disk I/O "
        "error); it runs again on resume",
        f"run 'r1': could not be ended as succeeded in store {str(path)!r} after 3 tries "
        "(StoreError: server closed the connection); the store shows it running until it "
        "is run again with this run_id (this process takes its lease over; another waits "
        "for this one to end)"]
    assert failing.releases == 3
    stored = failing.load("r1")
    assert stored is not None and stored.status == "running" and stored.owner is not None
    # the same process runs it again: its own ended lease is taken over, not RunLockedError
    again = run(two_steps(calls, failing), store=str(path), run_id="r1")
    assert again.reasons == {"a": "resumed"} and again["b"] == 2
    assert calls.counts == {"a": 1, "b": 2}
    stored = failing.load("r1")
    assert stored is not None and stored.status == "succeeded" and stored.owner is None


def test_a_release_the_store_refuses_once_is_tried_again(tmp_path: Path) -> None:
    failing = FailingStore(tmp_path / "runs.db", record_fails=set(), release_fails=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(StepGraph([Step("a", lambda: 1)]), store=failing, run_id="r1")
    assert [w for w in caught if issubclass(w.category, RxStepsWarning)] == []
    assert failing.releases == 2
    stored = failing.load("r1")
    assert stored is not None and stored.status == "succeeded" and stored.owner is None



def test_a_refused_release_under_an_error_filter_is_logged_and_the_run_ends() -> None:
    # The warning is given on the run's delivery thread: raised there, it would keep
    # the run from ever telling its caller it ended.
    out = run_isolated("""
        import logging, sys, tempfile, warnings
        from pathlib import Path
        from rxsteps import RxStepsWarning, Step, StepGraph, run
        from tests.stores.test_durable import FailingStore

        logging.basicConfig(stream=sys.stdout, level=logging.ERROR, format="%(message)s")
        warnings.simplefilter("error", RxStepsWarning)
        store = FailingStore(Path(tempfile.mkdtemp()) / "runs.db", record_fails=set(),
                             release_fails=100)
        print("ended", run(StepGraph([Step("a", lambda: 1)]), store=store, run_id="r1")["a"])
    """, limit=60)
    assert "rxsteps: run 'r1': could not be ended as succeeded in store " in out
    assert out.endswith("ended 1\n")


# -- other stores ----------------------------------------------------------------------------


class MemoryStore:
    """A store in a dict: the protocol is all a store needs."""

    name = "memory"

    def __init__(self) -> None:
        self.data: dict[str, RunRecord] = {}
        self.cached: dict[str, list[bytes]] = {}

    def claim(self, run: RunRecord, *, fresh: bool) -> RunRecord | None:
        before = None if fresh else self.data.get(run.run_id)
        self.data[run.run_id] = RunRecord(run.run_id, run.shape, run.inputs, run.serializer,
                                          "running", 0, 0, run.owner,
                                          dict(before.steps) if before else {})
        return before

    def record_steps(self, run_id: str, owner: str, records: list[Any]) -> None:
        for record in records:
            self.data[run_id].steps[record.step] = record

    def release(self, run_id: str, owner: str, status: str) -> None:
        self.data[run_id].status, self.data[run_id].owner = status, None

    def load(self, run_id: str) -> RunRecord | None:
        return self.data.get(run_id)

    def runs(self) -> list[RunRecord]:
        return list(self.data.values())

    def delete(self, run_id: str) -> bool:
        return self.data.pop(run_id, None) is not None

    def cache_get(self, key: str, ttl: float | None) -> list[bytes] | None:
        return self.cached.get(key)

    def cache_put(self, key: str, step: str, values: list[bytes]) -> None:
        self.cached[key] = values


def test_a_store_object_plugs_in() -> None:
    store, calls = MemoryStore(), Calls()
    assert isinstance(store, Store)
    run(chain(calls), {"q": 1}, store=store, run_id="r1")
    assert run(chain(calls), {"q": 1}, store=store, run_id="r1")["c"] == 20
    assert calls.counts == {"a": 1, "b": 1, "c": 2}
    assert store.data["r1"].status == "succeeded"
    def five() -> int:
        calls("s")
        return 5

    cached = StepGraph([Step("s", five, cache=True, version="1")])  # five closes over calls
    run(cached, store=store, run_id="c1")
    assert run(cached, store=store, run_id="c2").cached == {"s"}
    assert calls.counts["s"] == 1


# -- the command line -------------------------------------------------------------------------

FLOW = '''
import os
from rxsteps import Step, StepGraph

def count(name):
    with open(name + ".calls", "a") as f:
        f.write("x")

def a():
    count("a")
    return 1

def b(x):
    count("b")
    if os.path.exists("broken"):
        raise RuntimeError("broken")
    return x + 1

graph = StepGraph([Step("a", a), Step("b", b, ["a"])])
'''


def test_the_cli_resumes_a_stored_run(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    (tmp_path / "broken").write_text("")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "rxsteps.cli", "run", "flow:graph",
                               "--plain", "--store", "runs.db", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60, env=tree_env())

    assert cli("--run-id", "r1").returncode == 1
    (tmp_path / "broken").unlink()
    done = cli("--run-id", "r1")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.calls").read_text() == "x"
    assert (tmp_path / "b.calls").read_text() == "xx"
    missing = cli()
    assert missing.returncode == 2
    assert missing.stderr == ("rxsteps: error: --store and --run-id go together: --store "
                              "FILE --run-id ID\n")
