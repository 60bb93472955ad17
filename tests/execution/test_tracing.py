"""OpenTelemetry spans: one per run, one per attempt, parented right on every scheduler."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from rxsteps import Retry, Step, StepGraph
from tests.support.isolated import tree_env


@pytest.fixture
def spans() -> Any:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_step_spans_are_children_of_the_run_span(execute, spans, scheduler_kind):
    provider, exporter = spans
    user_tracer = provider.get_tracer("user")  # what user code inside an action uses

    def _user_span(name: str) -> None:
        with user_tracer.start_as_current_span(name):
            pass

    async def _async_step(x: int) -> int:
        await asyncio.sleep(0)
        _user_span("inside-async")
        return x + 1

    def _sync_step() -> int:
        _user_span("inside-sync")
        return 1

    attempts: list[int] = []

    def flaky(x: int) -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("first")
        return x

    graph = StepGraph(
        [
            Step("sync", _sync_step),
            Step("async", _async_step, ["sync"]),
            Step("flaky", flaky, ["async"], retry=Retry(attempts=2, backoff=0)),
        ]
    )
    outcome = execute(graph, tracer_provider=provider)
    assert outcome.error is None
    finished = exporter.get_finished_spans()
    runs = [s for s in finished if s.name == "rxsteps.run"]
    assert len(runs) == 1
    run_span = runs[0]
    assert run_span.attributes["rxsteps.step_count"] == 3
    assert run_span.attributes["rxsteps.scheduler"]
    steps = [s for s in finished if s.name.startswith("rxsteps.step ")]
    assert all(s.name == f"rxsteps.step {s.attributes['rxsteps.step.id']}" for s in steps)
    assert sorted(
        (s.attributes["rxsteps.step.id"], s.attributes["rxsteps.step.attempt"]) for s in steps
    ) == [("async", 1), ("flaky", 1), ("flaky", 2), ("sync", 1)]
    for span in steps:
        assert span.parent is not None and span.parent.span_id == run_span.context.span_id
        assert span.context.trace_id == run_span.context.trace_id
    by_id = {
        s.attributes["rxsteps.step.id"]: s
        for s in steps
        if s.attributes["rxsteps.step.attempt"] == 1
    }
    for user_name, step in (("inside-sync", "sync"), ("inside-async", "async")):
        user = next(s for s in finished if s.name == user_name)
        assert user.parent.span_id == by_id[step].context.span_id
    failed = next(
        s
        for s in steps
        if s.attributes["rxsteps.step.id"] == "flaky" and s.attributes["rxsteps.step.attempt"] == 1
    )
    assert failed.status.status_code is StatusCode.ERROR
    assert any(event.name == "exception" for event in failed.events)
    assert failed.attributes["error.type"] == "ConnectionError" or "." in failed.attributes[
        "error.type"]
    # a step links to the spans of the dependency attempts that fed it
    assert [link.context.span_id for link in by_id["async"].links] == [
        by_id["sync"].context.span_id
    ]


def test_no_sdk_no_step_spans(execute):
    from opentelemetry.trace import NoOpTracerProvider

    outcome = execute(StepGraph([Step("a", lambda: 1)]), tracer_provider=NoOpTracerProvider())
    assert outcome.values() == {"a": 1}



def test_a_keep_going_run_with_failed_steps_ends_its_span_with_error(spans) -> None:
    from rxsteps import run

    provider, exporter = spans

    def broken():
        raise KeyError("gone")

    run(StepGraph([Step("ok", lambda: 1), Step("broken", broken)]), fail_fast=False,
        tracer_provider=provider)
    by_name = {span.name: span for span in exporter.get_finished_spans()}
    run_span = by_name["rxsteps.run"]
    assert run_span.status.status_code.name == "ERROR"
    assert run_span.status.description == "1 step failed"
    # the class a fail-fast run's span names (it was "rxsteps.StepFailed", no class)
    assert run_span.attributes["error.type"] == "rxsteps.errors.StepFailedError"
    step = by_name["rxsteps.step broken"]
    assert step.attributes["error.type"] == "KeyError"
    assert step.status.description == "KeyError: 'gone'"
    assert by_name["rxsteps.step ok"].status.status_code.name == "UNSET"


def test_a_fail_fast_run_names_the_same_error_type_and_escaped_is_a_boolean(spans) -> None:
    from rxsteps import StepFailedError, run

    provider, exporter = spans

    def broken():
        raise KeyError("gone")

    with pytest.raises(StepFailedError):
        run(StepGraph([Step("broken", broken)]), tracer_provider=provider)
    by_name = {span.name: span for span in exporter.get_finished_spans()}
    assert by_name["rxsteps.run"].attributes["error.type"] == "rxsteps.errors.StepFailedError"
    for name in ("rxsteps.run", "rxsteps.step broken"):
        [event] = [e for e in by_name[name].events if e.name == "exception"]
        assert event.attributes["exception.escaped"] is True, name  # not the string "False"


def test_each_item_of_a_mapped_step_is_a_span_carrying_its_item_index(execute, spans):
    provider, exporter = spans

    def docs() -> Any:  # a stream: its items start as they come
        yield from ["a", "bb", "ccc"]

    graph = StepGraph([Step("docs", docs), Step("sizes", len, ["docs"], map="docs",
                                                   retry=Retry(attempts=2, backoff=0)),
                       Step("total", sum, ["sizes"])])
    assert execute(graph, tracer_provider=provider).values()["sizes"] == [1, 2, 3]
    finished = exporter.get_finished_spans()
    items = [s for s in finished if s.name == "rxsteps.step sizes"]
    assert sorted(s.attributes["rxsteps.item"] for s in items) == [0, 1, 2]
    assert all(s.attributes["rxsteps.step.index"] == s.attributes["rxsteps.item"] for s in items)
    run_span = next(s for s in finished if s.name == "rxsteps.run")
    assert all(s.parent is not None and s.parent.span_id == run_span.context.span_id
               for s in items)
    others = [s for s in finished if s.name in ("rxsteps.step docs", "rxsteps.step total")]
    assert len(others) == 2 and all("rxsteps.item" not in s.attributes for s in others)


_GLOBAL_PROVIDER_LATER = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rxsteps import Step, StepGraph, run

graph = StepGraph([Step("a", lambda: 1)])
assert run(graph)["a"] == 1  # no provider yet: nothing recorded, the tracer is kept
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
assert run(graph)["a"] == 1
print(sorted(span.name for span in exporter.get_finished_spans()))
"""


def test_a_global_provider_set_after_the_first_run_gets_the_next_runs_spans() -> None:
    # rxsteps asks OpenTelemetry for the global provider's tracer once (a proxy that
    # follows the provider set later); in a fresh interpreter, since the global
    # provider can be set only once per process
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _GLOBAL_PROVIDER_LATER], capture_output=True,
                          text=True, timeout=120, check=False, env=tree_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['rxsteps.run', 'rxsteps.step a']"


def test_every_attempt_span_ends_before_its_run_span(execute, spans, scheduler_kind):
    # A finished attempt's span used to end after the run's lock was let go, so another
    # thread could end the run — and its span — first (the first attempt of a retried
    # step was then missing from the spans a caller saw once run() returned).
    provider, exporter = spans
    failed: set[str] = set()

    def flaky_once(name: str) -> Any:
        def action() -> str:
            if name not in failed:
                failed.add(name)
                raise ConnectionError(name)
            return name
        return action

    graph = StepGraph([Step(f"s{i}", flaky_once(f"s{i}"), retry=Retry(attempts=2, backoff=0))
                       for i in range(20)])
    for _ in range(5):
        failed.clear()
        exporter.clear()
        assert execute(graph, tracer_provider=provider).error is None
        finished = exporter.get_finished_spans()
        (run_span,) = [s for s in finished if s.name == "rxsteps.run"]
        steps = [s for s in finished if s.name.startswith("rxsteps.step")]
        assert len(steps) == 40  # two attempts of each of the 20 steps
        assert all(s.end_time <= run_span.end_time for s in steps)
