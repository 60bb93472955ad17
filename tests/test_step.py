"""Step: kinds of actions and argument checks, with exact messages."""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import operator
import pickle
from typing import Any

import pytest

from rxsteps import GraphError, Retry, Step, StepGraph, StepTypeError, run


def _gen() -> Any:
    yield 1


async def _agen() -> Any:
    yield 1


async def _coro() -> int:
    return 1


class _Runnable:
    def invoke(self, value: Any) -> Any:
        return value


class _AsyncCallable:
    async def __call__(self) -> int:
        return 1


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        (lambda: 1, "function"),
        (_coro, "coroutine"),
        (_gen, "generator"),
        (_agen, "asyncgen"),
        (_Runnable(), "runnable"),
        (_AsyncCallable(), "coroutine"),
        (functools.partial(_coro), "coroutine"),
        (functools.partial(_gen), "generator"),
        (functools.partial(_agen), "asyncgen"),
        (functools.partial(lambda a, b: a, 1), "function"),
        (print, "function"),
    ],
)
def test_kind_detection(action: Any, kind: str) -> None:
    assert Step("s", action).kind == kind


def test_streaming_property() -> None:
    assert Step("s", _gen).streaming and not Step("s", _coro).streaming


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"action": 3},
            TypeError,
            "step 's': action must be callable or have invoke/ainvoke, got int",
        ),
        (
            {"action": print, "timeout": 0},
            ValueError,
            "step 's': timeout must be a positive number of seconds (math.inf for no limit), "
            "got 0",
        ),
        (
            {"action": print, "timeout": -1.5},
            ValueError,
            "step 's': timeout must be a positive number of seconds (math.inf for no limit), "
            "got -1.5",
        ),
        (
            {"action": print, "timeout": "5"},
            TypeError,
            "step 's': timeout must be a positive number of seconds (math.inf for no limit), "
            "got '5'",
        ),
        (
            {"action": print, "depends": "abc"},
            TypeError,
            "step 's': depends must be a list of names, not a string "
            "(did you mean ['abc']?)",
        ),
        ({"action": print, "retry": 3}, TypeError, "step 's': retry must be a Retry, got 3"),
        (
            {"action": print, "join": "merge"},
            ValueError,
            "step 's': join must be one of zip, latest, collect, got 'merge'",
        ),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        Step("s", **kwargs)
    assert str(info.value) == message


def test_empty_id() -> None:
    with pytest.raises(ValueError, match=r"^a step id must be a non-empty string, got ''$"):
        Step("", print)


def test_repr_and_fields() -> None:
    step = Step("a", _coro, ["x"], timeout=2, retry=Retry(attempts=2), description="d")
    assert step.timeout == 2.0 and step.retry == Retry(attempts=2)
    assert repr(step) == "Step('a', _coro, depends=['x'])"


def test_depends_given_as_a_set_is_refused_it_has_no_order() -> None:
    with pytest.raises(TypeError) as info:
        Step("merge", lambda a, b: a + b, depends={"a", "b"})
    assert str(info.value) == (
        "step 'merge': depends must be a list or tuple of names in the order the action "
        "takes them, got a set (which has no order)"
    )
    assert isinstance(info.value, StepTypeError) and info.value.argument == "depends"


@pytest.mark.parametrize("timeout", [math.inf, 1e15])
def test_an_infinite_or_huge_timeout_means_no_limit_in_practice(timeout: float) -> None:
    result = run(StepGraph([Step("a", lambda: 1, timeout=timeout)]))
    assert result["a"] == 1


def test_a_nan_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^step 'a': timeout must be a positive number "):
        Step("a", lambda: 1, timeout=math.nan)


def test_an_infinite_max_backoff_still_retries() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("again")
        return "ok"

    retry = Retry(attempts=3, backoff=0.001, multiplier=1e6, max_backoff=math.inf)
    assert retry.delay(200) == math.inf or retry.delay(200) > 0  # no OverflowError
    fast = Retry(attempts=3, backoff=0.001, max_backoff=math.inf)
    assert run(StepGraph([Step("f", flaky, retry=fast)]))["f"] == "ok"


def test_an_arity_mismatch_is_a_graph_error_naming_the_step() -> None:
    with pytest.raises(GraphError) as info:
        StepGraph([Step("f", lambda a, b: a, ["a"])], inputs=["a"])
    assert isinstance(info.value, TypeError) and info.value.step == "f"


def _combine(salt: int, a: int, b: int) -> int:
    return salt + a + b


def test_a_partials_arity_counts_its_bound_arguments() -> None:
    fits = StepGraph([Step("f", functools.partial(_combine, 1), ["a", "b"])], inputs=["a", "b"])
    assert run(fits, inputs={"a": 2, "b": 3})["f"] == 6
    with pytest.raises(GraphError) as info:
        StepGraph([Step("f", functools.partial(_combine, 1, 2), ["a", "b"])],
                  inputs=["a", "b"])
    assert str(info.value) == (
        "step 'f': action functools.partial(_combine, ...)(b: 'int') -> 'int' cannot be "
        "called with 2 positional arguments; the step depends on 2 ('a', 'b')")


def _every_option() -> Step:
    return Step("s", operator.neg, ["x"], timeout=2, retry=Retry(attempts=2), join="latest",
                description="negate", uses={"llm": 2}, estimate=0.5, cache=True, cache_ttl=60,
                version="v1", when=bool, optional=["x"], defaults={"x": 1}, map="x")


def _options(step: Step) -> tuple[Any, ...]:
    return (step.id, step.action, step.depends, step.timeout, step.retry, step.join,
            step.description, step.uses, step.estimate, step.cache, step.cache_ttl,
            step.version, step.when, step.optional, dict(step.defaults), step.map, step.kind)


@pytest.mark.parametrize("clone", [lambda s: pickle.loads(pickle.dumps(s)), copy.copy,
                                   copy.deepcopy, dataclasses.replace],
                         ids=["pickle", "copy", "deepcopy", "replace"])
def test_a_step_with_every_option_keeps_them_through_pickle_copy_and_replace(clone: Any) -> None:
    step = _every_option()
    assert _options(clone(step)) == _options(step)
    assert _options(clone(Step("plain", operator.neg, ["x"])))[3:] == (
        None, None, "zip", "", (), None, False, None, None, None, frozenset(), {}, None,
        "function")


def test_a_plain_step_stores_no_options_of_its_own() -> None:
    plain, full = Step("plain", operator.neg, ["x"]), _every_option()
    assert vars(plain) == {}  # the defaults are the class's: nothing written per step
    assert vars(full)["timeout"] == 2.0 and vars(full)["map"] == "x"


@pytest.mark.parametrize("name", ["id", "depends", "kind", "timeout", "defaults"])
def test_a_step_is_frozen(name: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError, match=f"cannot assign to field '{name}'"):
        setattr(Step("plain", operator.neg, ["x"]), name, None)
