"""Step caching on a run's store: hits, misses, keys, versions, time to live, flags."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from rxsteps import (
    EventKind,
    Step,
    StepDefinitionError,
    StepEvent,
    StepGraph,
    StepTypeError,
    arun,
    run,
)
from rxsteps.execution.caching import UnstableVersion, code_version
from tests.support.stores import Backend

#: The version of the steps below that close over their list of calls (a list may
#: change between runs, so their version cannot be computed from their code).
V = "test"


@pytest.fixture
def db(backend: Backend) -> str:
    """The ``store=`` argument of the store under test (SQLite and PostgreSQL)."""
    return backend.store


def counting(calls: list[str]) -> Any:
    """An upper-casing action that records its calls in ``calls``: a closure over a list,
    so a cached step of it needs ``version=`` (:data:`V`)."""
    def upper(q: str) -> str:
        calls.append(q)
        return q.upper()
    return upper


def test_a_second_run_reuses_the_value_without_calling(db: str) -> None:
    calls: list[str] = []
    graph = StepGraph([Step("up", counting(calls), ["q"], cache=True, version=V),
                       Step("after", lambda u: u + "!", ["up"])], inputs=["q"])
    first = run(graph, {"q": "a"}, store=db, run_id="r1")
    events: list[StepEvent] = []
    second = run(graph, {"q": "a"}, store=db, run_id="r2", on_event=events.append)
    assert calls == ["a"] and dict(second) == dict(first) == {"up": "A", "after": "A!"}
    assert first.cached == frozenset() and second.cached == frozenset({"up"})
    ends = {e.step: e.reason for e in events if e.kind is EventKind.SUCCEEDED}
    assert ends == {"up": "cached", "after": None}
    assert [(a.step, a.outcome) for a in second.attempts] == [("up", "cached"),
                                                              ("after", "succeeded")]


def test_other_inputs_miss(db: str) -> None:
    calls: list[str] = []
    graph = StepGraph([Step("up", counting(calls), ["q"], cache=True, version=V)], inputs=["q"])
    run(graph, {"q": "a"}, store=db, run_id="r1")
    assert run(graph, {"q": "b"}, store=db, run_id="r2")["up"] == "B"
    assert calls == ["a", "b"]


def test_a_new_version_or_new_code_misses(db: str) -> None:
    calls: list[str] = []
    step = counting(calls)
    run(StepGraph([Step("up", step, ["q"], cache=True, version="v1")], inputs=["q"]),
        {"q": "a"}, store=db, run_id="r1")
    run(StepGraph([Step("up", step, ["q"], cache=True, version="v2")], inputs=["q"]),
        {"q": "a"}, store=db, run_id="r2")
    assert calls == ["a", "a"]
    run(StepGraph([Step("up", lambda q: q * 2, ["q"], cache=True)], inputs=["q"]),
        {"q": "a"}, store=db, run_id="r3")
    edited = run(StepGraph([Step("up", lambda q: q * 3, ["q"], cache=True)], inputs=["q"]),
                 {"q": "a"}, store=db, run_id="r4")
    assert edited["up"] == "aaa" and edited.cached == frozenset()


def test_a_key_function_decides_what_is_the_same_call(db: str) -> None:
    calls: list[str] = []
    graph = StepGraph([Step("up", counting(calls), ["q"], cache=str.lower, version=V)],
                      inputs=["q"])
    run(graph, {"q": "Hello"}, store=db, run_id="r1")
    assert run(graph, {"q": "HELLO"}, store=db, run_id="r2")["up"] == "HELLO"
    assert calls == ["Hello"]


def test_an_entry_older_than_its_ttl_misses(db: str, backend: Backend) -> None:
    calls: list[str] = []
    graph = StepGraph([Step("up", counting(calls), ["q"], cache=True, cache_ttl=60,
                                            version=V)],
                      inputs=["q"])
    run(graph, {"q": "a"}, store=db, run_id="r1")
    run(graph, {"q": "a"}, store=db, run_id="r2")
    assert calls == ["a"]
    backend.sql("UPDATE cache SET created = created - 61")
    run(graph, {"q": "a"}, store=db, run_id="r3")
    assert calls == ["a", "a"]


def test_a_streaming_step_replays_its_values_in_order(db: str) -> None:
    calls: list[int] = []

    def tokens(n: int) -> Iterator[int]:
        calls.append(n)
        yield from range(n)

    graph = StepGraph([Step("t", tokens, ["n"], cache=True, version=V),
                       Step("seen", lambda t: t * 10, ["t"])], inputs=["n"])
    run(graph, {"n": 3}, store=db, run_id="r1")
    again = run(graph, {"n": 3}, store=db, run_id="r2")
    assert calls == [3]
    assert again.emitted("t") == [0, 1, 2] and again.emitted("seen") == [0, 10, 20]


def test_a_coroutine_step_caches(db: str) -> None:
    calls: list[str] = []

    async def fetch(q: str) -> str:
        calls.append(q)
        return q * 2

    graph = StepGraph([Step("f", fetch, ["q"], cache=True, version=V)], inputs=["q"])
    asyncio.run(arun(graph, {"q": "x"}, store=db, run_id="r1"))
    again = asyncio.run(arun(graph, {"q": "x"}, store=db, run_id="r2"))
    assert again["f"] == "xx" and calls == ["x"] and again.cached == {"f"}


def test_without_a_store_nothing_is_cached() -> None:
    calls: list[str] = []
    graph = StepGraph([Step("up", counting(calls), ["q"], cache=True, version=V)], inputs=["q"])
    run(graph, {"q": "a"})
    run(graph, {"q": "a"})
    assert calls == ["a", "a"]


def test_an_async_generator_cannot_be_cached(db: str) -> None:
    async def tokens() -> AsyncIterator[int]:
        yield 1

    with pytest.raises(StepDefinitionError) as caught:
        run(StepGraph([Step("t", tokens, cache=True)]), store=db, run_id="r1")
    assert str(caught.value) == (
        "step 't': cache= works with functions, generators and coroutine functions; this "
        "action is a asyncgen; drop cache= or wrap it in a function")
    # refused before anything ran, and the run is not left held
    assert run(StepGraph([Step("t", lambda: 1)]), store=db, run_id="r1")["t"] == 1


def test_a_key_function_must_return_a_str(db: str) -> None:
    key: Any = len  # not a str: refused when called
    graph = StepGraph([Step("up", str.upper, ["q"], cache=key)], inputs=["q"])
    result = run(graph, {"q": "a"}, store=db, run_id="r1", fail_fast=False)
    assert isinstance(result.errors["up"], StepTypeError)
    assert str(result.errors["up"]) == ("step 'up': its cache key function returned int 1; "
                                        "it must return a str")


@pytest.mark.parametrize(("options", "error", "message"), [
    ({"cache": 3}, StepTypeError,
     "step 's': cache must be True, False or a function of the step's arguments returning "
     "a key, got 3"),
    ({"cache": True, "cache_ttl": 0}, StepDefinitionError,
     "step 's': cache_ttl must be a positive number of seconds or None, got 0"),
    ({"cache": True, "version": 2}, StepTypeError, "step 's': version must be a str, got 2"),
    ({"version": "v2"}, StepDefinitionError,
     "step 's': version= has no effect without cache=; pass cache=True"),
])
def test_bad_cache_options_are_refused(options: dict[str, Any], error: type,
                                       message: str) -> None:
    with pytest.raises(error) as caught:
        Step("s", lambda: 1, **options)
    assert str(caught.value) == message


def test_the_timeline_draws_cached_attempts_in_their_own_style(db: str) -> None:
    pytest.importorskip("matplotlib")
    graph = StepGraph([Step("up", str.upper, ["q"], cache=True)], inputs=["q"])
    run(graph, {"q": "a"}, store=db, run_id="r1")
    figure = run(graph, {"q": "a"}, store=db, run_id="r2").timeline()
    legends = [*figure.legends, *(ax.get_legend() for ax in figure.axes)]
    labels = [t.get_text() for legend in legends if legend is not None
              for t in legend.get_texts()]
    assert "cached" in labels


# -- what the default version sees: code, and the values bound to it -------------------

ASKED: list[tuple[str, str]] = []  # a global: not bound to the actions, so not hashed


def ask(q: str, model: str = "gpt-4") -> str:
    ASKED.append((model, q))
    return f"{model} says {q}"


def asking(model: str) -> Any:
    def answer(q: str) -> str:  # a closure over model
        return ask(q, model)
    return answer


def answers(db: str, action: Any, run_id: str) -> tuple[str, frozenset[str]]:
    result = run(StepGraph([Step("ask", action, ["q"], cache=True)], inputs=["q"]),
                 {"q": "hi"}, store=db, run_id=run_id)
    return result["ask"], result.cached


@pytest.fixture(autouse=True)
def _no_calls_asked() -> None:
    ASKED.clear()


def test_a_partial_with_other_arguments_misses_and_the_same_one_hits(db: str) -> None:
    assert answers(db, functools.partial(ask, model="gpt-4"), "r1") == (
        "gpt-4 says hi", frozenset())
    assert answers(db, functools.partial(ask, model="small"), "r2") == (
        "small says hi", frozenset())
    assert answers(db, functools.partial(ask, model="small"), "r3") == (
        "small says hi", frozenset({"ask"}))
    assert ASKED == [("gpt-4", "hi"), ("small", "hi")]


def test_a_closure_over_another_value_misses(db: str) -> None:
    assert answers(db, asking("gpt-4"), "r1") == ("gpt-4 says hi", frozenset())
    assert answers(db, asking("small"), "r2") == ("small says hi", frozenset())
    assert answers(db, asking("small"), "r3") == ("small says hi", frozenset({"ask"}))
    assert ASKED == [("gpt-4", "hi"), ("small", "hi")]


def test_other_defaults_miss(db: str) -> None:
    def big(q: str, model: str = "gpt-4") -> str:
        return ask(q, model)

    def small(q: str, model: str = "small") -> str:  # the same code as big
        return ask(q, model)

    def keyword(q: str, *, model: str = "small") -> str:
        return ask(q, model)

    assert answers(db, big, "r1")[0] == "gpt-4 says hi"
    assert answers(db, small, "r2")[0] == "small says hi"
    assert answers(db, keyword, "r3")[0] == "small says hi"
    assert code_version(keyword) != code_version(_keyword_with("gpt-4"))
    assert code_version(keyword) == code_version(_keyword_with("small"))


def _keyword_with(model: str) -> Any:
    def keyword(q: str, *, model: str = model) -> str:
        return ask(q, model)
    return keyword


def test_bound_plain_values_are_hashed_by_value() -> None:
    @dataclasses.dataclass(frozen=True)
    class Settings:
        model: str
        temperature: float

    def bound(value: Any) -> Any:
        def action(q: str) -> Any:
            return q, value
        return action

    plain = [None, 1, 2.5, "a", b"a", (1, "a"), frozenset({"x", "y"}), Settings("a", 0.0),
             len, str.lower, ask, functools.partial(ask, model="a"), Settings, functools]
    versions = [code_version(bound(value)) for value in plain]
    assert len(set(versions)) == len(plain)
    assert [code_version(bound(value)) for value in plain] == versions  # stable
    assert code_version(bound(Settings("a", 0.0))) != code_version(bound(Settings("a", 1.0)))
    assert code_version(bound(frozenset({"y", "x"}))) == versions[6]
    # a wrapper without code of its own is seen through: the wrapped function counts
    assert code_version(functools.lru_cache(asking("a"))) != code_version(
        functools.lru_cache(asking("b")))


@pytest.mark.parametrize(("value", "shown"), [
    ([], "a list ([])"),
    ({"model": "small"}, "a dict ({'model': 'small'})"),
    (threading.Lock(), "a lock"),
])
def test_a_value_bound_to_the_action_that_may_change_needs_a_version(
        db: str, value: Any, shown: str) -> None:
    def action(q: str) -> Any:
        return q if value is not None else None

    with pytest.raises(StepDefinitionError) as caught:
        run(StepGraph([Step("ask", action, ["q"], cache=True)], inputs=["q"]), {"q": "hi"},
            store=db, run_id="r1")
    assert str(caught.value).startswith(
        "step 'ask': cache= cannot tell when its action changes: its action's closure "
        f"variable 'value' is {shown}")
    assert str(caught.value).endswith(
        ", whose value may change between runs; pass version='...' (and change it when "
        "that value changes), or bind only plain data (numbers, str, tuples, frozen "
        "dataclasses)")
    assert caught.value.argument == "version"
    graph = StepGraph([Step("ask", action, ["q"], cache=True, version="v1")], inputs=["q"])
    assert run(graph, {"q": "hi"}, store=db, run_id="r1")["ask"] == "hi"


def test_the_values_of_a_partial_and_a_bound_method_are_named() -> None:
    class Client:
        def complete(self, q: str) -> str:
            return q

    records: list[str] = []
    for action, where in [(functools.partial(ask, [1]), "its action's partial arguments"),
                          (functools.partial(ask, model=[1]),
                           "its action's partial keyword 'model'"),
                          (Client().complete, "its action's object"),
                          (records.append, "its action's object")]:
        with pytest.raises(UnstableVersion) as caught:
            code_version(action)
        assert caught.value.where == where
