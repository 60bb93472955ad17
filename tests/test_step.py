"""Step: kinds of actions and argument checks, with exact messages."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from rxsteps import Retry, Step


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
            ValueError,
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
