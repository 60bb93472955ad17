"""The Dask backend on a real LocalCluster (two worker processes, one thread each).

Actions that must coordinate with the test (hold a worker until released) use
``distributed.Event`` objects with unique names: nothing here sleeps to wait.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import distributed
import pytest
from distributed import Client, Event, LocalCluster

from rxsteps import (
    EventKind,
    Retry,
    SchedulerError,
    Step,
    StepEvent,
    StepFailedError,
    StepGraph,
    StepStatus,
    StepTimeoutError,
    observe,
    run,
    start,
)
from rxsteps.backends.dask import DaskBackend
from rxsteps.backends.resolve import resolve_backend

WAIT = 30.0  # upper bound for anything that should take milliseconds


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    ) as cluster, Client(cluster) as dask_client:
        yield dask_client


@pytest.fixture
def submitted(client: Client, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, tuple[Any, ...]]]:
    """Every ``(future, args)`` the backend submits during the test."""
    calls: list[tuple[Any, tuple[Any, ...]]] = []
    submit = client.submit

    def recording(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        future = submit(fn, *args, **kwargs)
        calls.append((future, args))
        return future

    monkeypatch.setattr(client, "submit", recording)
    return calls


# -- actions (module level: the workers import them) --------------------------------------


def twenty() -> int:
    return 20


def add_one(a: int) -> int:
    return a + 1


def multiply(a: int, b: int) -> int:
    return a * b


def fifty_megabytes() -> bytes:
    return b"x" * 50_000_000


def boom() -> None:
    raise ValueError("boom")


def hold(release: str, started: str | None = None) -> str:
    """Run until the test sets the ``release`` event. The task secedes from the worker's
    thread pool first, so it never keeps another task from a worker."""
    distributed.secede()
    if started is not None:
        Event(started).set()
    Event(release).wait(timeout=WAIT)
    return "released"


def flaky(counter: str, failures: int) -> str:
    """Fail ``failures`` times (counted in a file the test owns), then succeed."""
    path = Path(counter)
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))
    if count < failures:
        raise ConnectionError(f"flaky call {count + 1}")
    return f"ok after {count + 1}"


class Summer:
    """A runnable (LangChain's shape): ``invoke`` takes one input."""

    def invoke(self, value: dict[str, int]) -> int:
        return sum(value.values())


def touch(path: str, _value: Any) -> str:
    """Leave a file behind: the test sees whether the task ran."""
    Path(path).write_text("ran")
    return path


def pid() -> int:
    return os.getpid()


def new_lock() -> Any:
    return threading.Lock()


def diamond() -> StepGraph:
    return StepGraph([
        Step("a", twenty),
        Step("b", add_one, ["a"]),
        Step("c", multiply, ["a", "b"]),
    ])


def _names() -> tuple[str, str]:
    return f"release-{uuid.uuid4().hex}", f"started-{uuid.uuid4().hex}"


def _until(predicate: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# -- values and gathering -------------------------------------------------------------


def test_values_are_gathered_once_and_events_carry_futures(
    client: Client, submitted: list[Any]
) -> None:
    events: list[StepEvent] = []
    result = run(diamond(), scheduler=client, on_event=events.append)
    assert dict(result) == {"a": 20, "b": 21, "c": 420}
    emitted = [e for e in events if e.kind is EventKind.EMITTED]
    assert [e.step for e in emitted] == ["a", "b", "c"]
    assert all(isinstance(e.value, distributed.Future) for e in emitted)
    keys = [future.key for future, _ in submitted]
    assert [key.rsplit("-", 1)[0] for key in keys] == ["a-1", "b-1", "c-1"]
    assert len(set(keys)) == 3
    dependent_args = submitted[2][1]  # the action's own arguments: a task as plain as can be
    assert all(isinstance(arg, distributed.Future) for arg in dependent_args)


def test_gather_none_leaves_futures_in_the_result(client: Client) -> None:
    result = run(diamond(), scheduler=DaskBackend(client, gather="none"))
    assert all(isinstance(value, distributed.Future) for value in result.values())
    assert client.gather(result["c"]) == 420


def test_gather_outputs_fetches_only_the_outputs(client: Client) -> None:
    result = run(diamond(), scheduler=DaskBackend(client, gather="outputs"))
    assert isinstance(result["a"], distributed.Future)
    assert isinstance(result["b"], distributed.Future)
    assert result["c"] == 420


def test_gather_events_puts_values_in_events(client: Client) -> None:
    events: list[StepEvent] = []
    result = run(
        diamond(), scheduler=DaskBackend(client, gather="events"), on_event=events.append
    )
    assert dict(result) == {"a": 20, "b": 21, "c": 420}
    assert [e.value for e in events if e.kind is EventKind.EMITTED] == [20, 21, 420]


def test_dependency_values_never_pass_through_the_client(
    client: Client, submitted: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    gathered: list[list[str]] = []
    fetched: list[str] = []
    gather, result_of = client.gather, distributed.Future.result

    def counting_gather(futures: list[Any], *args: Any, **kwargs: Any) -> Any:
        gathered.append([future.key for future in futures])
        return gather(futures, *args, **kwargs)

    def counting_result(self: Any, *args: Any, **kwargs: Any) -> Any:
        fetched.append(self.key)
        return result_of(self, *args, **kwargs)

    monkeypatch.setattr(client, "gather", counting_gather)
    monkeypatch.setattr(distributed.Future, "result", counting_result)
    graph = StepGraph([Step("A", fifty_megabytes), Step("B", len, ["A"])])

    result = run(graph, scheduler=DaskBackend(client, gather="outputs"))

    assert result["B"] == 50_000_000
    assert isinstance(result["A"], distributed.Future)  # the 50 MB stayed on the cluster
    (a_future, _), (_, b_args) = submitted
    assert b_args == (a_future,)  # B was sent A's future, not A's bytes
    assert [[key.split("-")[0] for key in keys] for keys in gathered] == [["B"]]
    assert fetched == []


def test_default_gather_fetches_the_result_in_one_call(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    gather = client.gather

    def counting_gather(futures: list[Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(len(futures))
        return gather(futures, *args, **kwargs)

    monkeypatch.setattr(client, "gather", counting_gather)
    assert dict(run(diamond(), scheduler=client)) == {"a": 20, "b": 21, "c": 420}
    assert calls == [3]


def test_a_value_that_cannot_be_gathered_stays_a_future(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    graph = StepGraph([Step("lock", new_lock), Step("fine", twenty)])
    with caplog.at_level(logging.WARNING, logger="rxsteps"):
        result = run(graph, scheduler=client)
    assert result["fine"] == 20
    assert isinstance(result["lock"], distributed.Future)
    (message,) = [r.getMessage() for r in caplog.records if r.name == "rxsteps"]
    assert message.startswith("rxsteps: could not gather lock-1-")
    assert message.endswith(
        " (TypeError: Could not serialize object of type lock); the result keeps its Dask future"
    )


# -- failures, retries, timeouts, cancellation ----------------------------------------


def test_fail_fast_cancels_the_running_task(client: Client, submitted: list[Any]) -> None:
    release, started = _names()
    graph = StepGraph([
        Step("slow", partial(hold, release, started)),
        Step("bad", boom),
        Step("after", add_one, ["bad"]),
    ])
    try:
        with pytest.raises(StepFailedError) as caught:
            run(graph, scheduler=client)
    finally:
        Event(release, client=client).set()
    assert str(caught.value) == "step 'bad' failed: ValueError: boom"
    assert repr(caught.value.__cause__) == "ValueError('boom')"
    result = caught.value.result
    assert result is not None
    assert result.status["slow"] is StepStatus.CANCELLED
    assert result.status["after"] is StepStatus.CANCELLED
    slow = next(future for future, _ in submitted if future.key.startswith("slow-1-"))
    assert slow.status == "cancelled"


def test_keep_going_runs_independent_branches(client: Client) -> None:
    graph = StepGraph([
        Step("bad", boom),
        Step("after", add_one, ["bad"]),
        Step("good", twenty),
    ])
    result = run(graph, scheduler=client, fail_fast=False)
    assert dict(result) == {"good": 20}
    assert repr(result.errors["bad"]) == "ValueError('boom')"
    assert result.status["after"] is StepStatus.SKIPPED
    assert result.reasons["after"] == "dependency 'bad' failed"


def test_retries_resubmit_with_new_keys(
    client: Client, submitted: list[Any], tmp_path: Path
) -> None:
    counter = str(tmp_path / "count")
    events: list[StepEvent] = []
    graph = StepGraph([
        Step("flaky", partial(flaky, counter, 2), retry=Retry(attempts=3, backoff=0.01)),
        Step("after", len, ["flaky"]),
    ])
    result = run(graph, scheduler=client, on_event=events.append)
    assert result["flaky"] == "ok after 3"
    assert result["after"] == len("ok after 3")
    retrying = [e for e in events if e.kind is EventKind.RETRYING]
    assert [(e.attempt, str(e.error)) for e in retrying] == [
        (1, "flaky call 1"), (2, "flaky call 2")
    ]
    keys = [future.key.rsplit("-", 1)[0] for future, _ in submitted]
    # after-1 went ahead with flaky's first future; once flaky was retried, its
    # arguments changed: that task was cancelled and after submitted again
    assert keys == ["flaky-1", "after-1", "flaky-2", "flaky-3", "after-1"]
    ahead, again = (future for future, _ in submitted if future.key.startswith("after-"))
    assert ahead.status in ("cancelled", "error") and again.status == "finished"


# -- submitted ahead ----------------------------------------------------------------


def _started(step: str) -> tuple[threading.Event, Callable[[StepEvent], None]]:
    """An event set when the engine emits ``step``'s STARTED (by then, every task the
    run submits ahead has been submitted), and the ``on_event`` that sets it."""
    seen = threading.Event()

    def on_event(event: StepEvent) -> None:
        if event.kind is EventKind.STARTED and event.step == step:
            seen.set()

    return seen, on_event


def _held_chain(release: str, **after: Any) -> StepGraph:
    return StepGraph([
        Step("slow", partial(hold, release)),
        Step("b", len, ["slow"], **after),
        Step("c", add_one, ["b"]),
        Step("x", twenty),
    ])


def test_dependents_are_submitted_before_their_dependencies_end(
    client: Client, submitted: list[Any]
) -> None:
    release, _ = _names()
    seen, on_event = _started("slow")
    handle = start(_held_chain(release), scheduler=client, on_event=on_event)
    try:
        assert seen.wait(WAIT)
        # slow is held on the cluster; b and c already went, with the futures of
        # slow and b as their arguments, so Dask runs them without asking the client
        futures = {future.key.split("-")[0]: (future, args) for future, args in submitted}
        assert sorted(futures) == ["b", "c", "slow", "x"]
        assert futures["b"][1] == (futures["slow"][0],)
        assert futures["c"][1] == (futures["b"][0],)
    finally:
        Event(release, client=client).set()
    assert dict(handle.result(timeout=WAIT)) == {"slow": "released", "b": 8, "c": 9,
                                                 "x": 20}
    assert len(submitted) == 4  # each task once: every launch adopted its task


def test_ahead_false_submits_a_task_only_once_its_dependencies_end(
    client: Client, submitted: list[Any]
) -> None:
    release, _ = _names()
    seen, on_event = _started("slow")
    backend = DaskBackend(client, ahead=False)
    handle = start(_held_chain(release), scheduler=backend, on_event=on_event)
    try:
        assert seen.wait(WAIT)
        assert sorted(future.key.split("-")[0] for future, _ in submitted) == ["slow", "x"]
    finally:
        Event(release, client=client).set()
    assert dict(handle.result(timeout=WAIT))["c"] == 9


@pytest.mark.parametrize("option", [{"when": bool}, {"uses": "llm"}, {"timeout": None}])
def test_what_the_engine_decides_at_run_time_is_not_submitted_ahead(
    client: Client, submitted: list[Any], option: dict[str, Any]
) -> None:
    # A condition or a resource is decided when the dependency has ended: b (and c,
    # which needs b's future) wait for it. A plain option (timeout=None) does not.
    release, _ = _names()
    seen, on_event = _started("slow")
    handle = start(_held_chain(release, **option), scheduler=client, on_event=on_event)
    try:
        assert seen.wait(WAIT)
        keys = sorted(future.key.split("-")[0] for future, _ in submitted)
        assert keys == (["b", "c", "slow", "x"] if option == {"timeout": None}
                        else ["slow", "x"])
    finally:
        Event(release, client=client).set()
    assert dict(handle.result(timeout=WAIT))["c"] == 9


def test_a_task_whose_dependency_failed_never_runs(client: Client, tmp_path: Path,
                                                    submitted: list[Any]) -> None:
    marker = tmp_path / "ran"
    graph = StepGraph([
        Step("bad", boom),
        Step("after", partial(touch, str(marker)), ["bad"]),
        Step("good", twenty),
    ])
    result = run(graph, scheduler=client, fail_fast=False)
    assert dict(result) == {"good": 20}
    assert result.reasons["after"] == "dependency 'bad' failed"
    after = next(future for future, _ in submitted if future.key.startswith("after-"))
    assert _until(lambda: after.status in ("cancelled", "error"))
    assert not marker.exists()


def test_a_runnable_runs_as_a_task_with_its_inputs_by_name(
    client: Client, submitted: list[Any]
) -> None:
    graph = StepGraph([Step("a", twenty), Step("b", add_one, ["a"]),
                       Step("total", Summer(), ["a", "b"])])
    assert run(graph, scheduler=client)["total"] == 41
    futures = {future.key.split("-")[0]: future for future, _ in submitted}
    (runnable, value), = (args for future, args in submitted
                          if future.key.startswith("total-"))
    assert isinstance(runnable, Summer)
    assert value == {"a": futures["a"], "b": futures["b"]}  # resolved on the worker


def test_timeout_cancels_the_task(client: Client, submitted: list[Any]) -> None:
    release, started = _names()
    graph = StepGraph([Step("stuck", partial(hold, release, started), timeout=0.5)])
    try:
        with pytest.raises(StepFailedError) as caught:
            run(graph, scheduler=client)
    finally:
        Event(release, client=client).set()
    assert isinstance(caught.value.__cause__, StepTimeoutError)
    assert str(caught.value.__cause__) == "step 'stuck' timed out after 0.5 s (attempt 1)"
    ((future, _),) = submitted
    assert future.status == "cancelled"


def test_disposing_the_subscription_cancels_the_running_task(
    client: Client, submitted: list[Any]
) -> None:
    release, started = _names()
    graph = StepGraph([
        Step("slow", partial(hold, release, started)),
        Step("after", add_one, ["slow"]),
    ])
    events: list[StepEvent] = []
    subscription = observe(graph, scheduler=client).subscribe(events.append)
    try:
        assert Event(started, client=client).wait(timeout=WAIT)
        subscription.dispose()
        futures = {future.key.split("-")[0]: future for future, _ in submitted}
        assert list(futures) == ["slow", "after"]  # after went ahead, with slow's future
        assert futures["slow"].status == "cancelled"
        assert _until(lambda: futures["after"].status == "cancelled")
        keys = [future.key for future in futures.values()]

        def forgotten(dask_scheduler: Any, keys: list[str] = keys) -> bool:
            return not any(key in dask_scheduler.tasks for key in keys)

        assert _until(lambda: client.run_on_scheduler(forgotten))
    finally:
        Event(release, client=client).set()
    assert [(e.step, e.kind) for e in events] == [("slow", EventKind.STARTED)]


# -- refused before anything runs ------------------------------------------------------


def test_an_action_that_cannot_be_pickled_is_refused(
    client: Client, submitted: list[Any]
) -> None:
    lock = threading.Lock()
    graph = StepGraph([Step("first", twenty), Step("locked", lambda: lock.locked())])
    with pytest.raises(SchedulerError) as caught:
        run(graph, scheduler=client)
    assert str(caught.value) == (
        "step 'locked': its action cannot be pickled for the dask backend: "
        "TypeError: cannot pickle '_thread.lock' object"
    )
    assert submitted == []


def test_lambdas_pickle_with_cloudpickle(client: Client) -> None:
    graph = StepGraph([Step("a", lambda: 2), Step("b", lambda a: a * 21, ["a"])])
    assert run(graph, scheduler=client)["b"] == 42


def test_a_generator_is_refused(client: Client) -> None:
    def tokens() -> Iterator[str]:
        yield "a"

    with pytest.raises(SchedulerError) as caught:
        run(StepGraph([Step("tokens", tokens)]), scheduler=client)
    assert str(caught.value) == (
        "step 'tokens' is a generator (a streaming step); the dask backend ships each call "
        "to another process and gets one value back, so it cannot stream: return a list, "
        "or run the graph on 'threads' or 'asyncio'"
    )


def test_coroutines_run_locally_and_receive_futures(client: Client) -> None:
    async def local(remote_pid: Any) -> tuple[int, bool]:
        return os.getpid(), isinstance(remote_pid, distributed.Future)

    graph = StepGraph([Step("remote", pid), Step("local", local, ["remote"])])
    result = run(graph, scheduler=client)
    assert result["local"] == (os.getpid(), True)
    assert result["remote"] != os.getpid()


# -- configuration ----------------------------------------------------------------------


def test_a_backend_is_accepted_as_scheduler(client: Client) -> None:
    backend = DaskBackend(client, gather="none")
    assert resolve_backend(backend) is backend
    assert resolve_backend(client).name == "dask"


def test_an_unknown_gather_mode_is_refused(client: Client) -> None:
    with pytest.raises(ValueError) as caught:
        DaskBackend(client, gather="all")  # type: ignore[arg-type]
    assert str(caught.value) == (
        "gather must be one of 'result', 'outputs', 'events', 'none', got 'all'"
    )


# -- control flow: conditions and resource limits ------------------------------------


def test_a_condition_gets_values_and_a_false_one_submits_no_task(
    client: Client, submitted: list[Any]
) -> None:
    seen: list[Any] = []

    def big(a: int) -> bool:
        seen.append(a)
        return a > 100

    graph = StepGraph([
        Step("a", twenty),
        Step("small", add_one, ["a"], when=lambda a: a < 100),
        Step("large", add_one, ["a"], when=big),
        Step("after", add_one, ["large"]),
    ])
    result = run(graph, scheduler=client)
    assert seen == [20]  # the value, fetched from the cluster, not its future
    assert dict(result) == {"a": 20, "small": 21}
    assert result.skipped_by_condition("large") and result.skipped_by_condition("after")
    assert sorted(future.key.rsplit("-", 2)[0] for future, _ in submitted) == ["a", "small"]


def test_resource_limits_hold_on_dask(client: Client) -> None:
    graph = StepGraph([Step(f"call{i}", twenty, uses="llm") for i in range(4)])
    events: list[StepEvent] = []
    result = run(graph, scheduler=client, limits={"llm": 1}, on_event=events.append)
    assert dict(result) == {f"call{i}": 20 for i in range(4)}
    running, most = 0, 0
    for event in events:
        running += {EventKind.STARTED: 1, EventKind.SUCCEEDED: -1}.get(event.kind, 0)
        most = max(most, running)
    assert most == 1
    waited = {e.step for e in events if e.kind is EventKind.WAITING}
    assert len(waited) == 3 and all("llm" in (e.reason or "") for e in events
                                    if e.kind is EventKind.WAITING)

# -- mapped steps (map=) ----------------------------------------------------------------


def _odd_fails(x: int) -> int:
    if x % 2:
        raise ValueError(f"odd {x}")
    return x * 10


def test_a_mapped_step_runs_an_item_per_task_when_values_are_gathered_as_they_come(
    client: Client, submitted: list[Any]
) -> None:
    graph = StepGraph([Step("xs", lambda: [1, 2, 3, 4]), Step("ys", add_one, ["xs"], map="xs"),
                       Step("total", sum, ["ys"])])
    result = run(graph, scheduler=DaskBackend(client, gather="events"))
    assert result["ys"] == [2, 3, 4, 5] and result["total"] == 14
    assert sorted(args for future, args in submitted if future.key.startswith("ys-")) == [
        (x,) for x in (1, 2, 3, 4)]  # one task per item
    keep_going = StepGraph([Step("xs", lambda: [0, 1, 2]),
                            Step("ys", _odd_fails, ["xs"], map="xs")])
    partial = run(keep_going, scheduler=DaskBackend(client, gather="events"), fail_fast=False)
    assert partial.partial("ys") == [0, None, 20]
    assert partial.errors["ys"].failed == [1]  # type: ignore[attr-defined]


@pytest.mark.parametrize("gather", ["result", "outputs", "none"])
def test_a_mapped_step_is_refused_while_values_stay_on_the_cluster(
    client: Client, submitted: list[Any], gather: Any
) -> None:
    graph = StepGraph([Step("xs", lambda: [1, 2]), Step("ys", add_one, ["xs"], map="xs")])
    with pytest.raises(SchedulerError) as caught:
        run(graph, scheduler=DaskBackend(client, gather=gather))
    assert str(caught.value) == (
        "step 'ys' maps over 'xs' (map='xs'), but the dask backend keeps values where they "
        "were made and gives the run only references to them, so the items of 'xs' are not "
        "known here: use DaskBackend(client, gather='events') (each value is fetched as it "
        "comes) or run the graph on 'threads' or 'asyncio'"
    )
    assert submitted == []  # refused before anything ran
