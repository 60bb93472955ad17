"""Shared fixtures: one way to run a graph on every kind of scheduler.

``execute(graph, inputs, **options)`` runs the graph on the scheduler the test is
parametrised with and returns an :class:`~tests.support.Outcome`. The helpers
themselves live in :mod:`tests.support`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import rxsteps
from rxsteps import StepEvent, StepGraph, stores
from tests.support import SCHEDULERS, Outcome, make_scheduler
from tests.support import postgres as pg
from tests.support.stores import KINDS, Backend


@pytest.fixture(params=SCHEDULERS)
def scheduler_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def execute(scheduler_kind: str) -> Iterator[Callable[..., Outcome]]:
    """Run a graph on the parametrised scheduler; blocks until it ends."""
    scheduler, close = make_scheduler(scheduler_kind)

    def execute(graph: StepGraph, inputs: dict[str, Any] | None = None, **options: Any) -> Outcome:
        events: list[StepEvent] = []
        lock = threading.Lock()
        user_on_event = options.pop("on_event", None)

        def record(event: StepEvent) -> None:
            with lock:
                events.append(event)
            if user_on_event is not None:
                user_on_event(event)

        try:
            if scheduler_kind == "asyncio":
                result = asyncio.run(
                    asyncio.wait_for(
                        rxsteps.arun(graph, inputs, on_event=record, **options), timeout=60
                    )
                )
            else:
                result = rxsteps.run(graph, inputs, scheduler=scheduler, on_event=record, **options)
        except rxsteps.StepFailedError as error:
            return Outcome(error.result, error, events)
        return Outcome(result, None, events)

    yield execute
    close()


@pytest.fixture
def parallel(scheduler_kind: str) -> None:
    """Skip on schedulers that run one sync action at a time."""
    if scheduler_kind == "rx-eventloop":
        pytest.skip("EventLoopScheduler has one thread: sync actions cannot overlap")


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event tests release to let blocked actions finish; set on teardown."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for the tests (see :mod:`tests.support.postgres`):
    skips only when none is given and none can be started."""
    pytest.importorskip("psycopg", reason="psycopg is not installed: "
                                          "pip install -e '.[postgres]' from the clone")
    url, why = pg.server()
    if url is None:
        pytest.skip(why)
    yield url
    pg.stop()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """The URL of an empty database of its own for this test, dropped after it."""
    url = pg.new_database(postgres_server)
    yield url
    opened = stores._opened.pop(url, None)  # the store open_store() kept for the URL
    if opened is not None:
        opened.close()
    pg.drop_database(postgres_server, url)


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A store of each kind (the contract suite): an SQLite file, a PostgreSQL database."""
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "runs.db"))
    return Backend("postgres", request.getfixturevalue("postgres_url"))
