"""rxsteps.cli.values: JSON that marks what it cannot hold, and the text of a stream."""

from __future__ import annotations

import enum
import json
import math
from decimal import Decimal
from typing import Any

import pytest

from rxsteps.cli.values import json_value, marked, one_line, stream_text


class Colour(enum.IntEnum):
    RED = 1


class Broken:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_plain_json_is_kept() -> None:
    value = {"a": [1, 2.5, "x", None, True], "b": {"c": []}}
    assert json_value(value) == value
    assert json_value(("a", 1)) == ["a", 1]  # tuples are arrays, as json.dumps makes them


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("1.10"), {"$repr": "Decimal('1.10')", "$type": "decimal.Decimal"}),
    (float("nan"), {"$repr": "nan", "$type": "float"}),
    (math.inf, {"$repr": "inf", "$type": "float"}),
    (-math.inf, {"$repr": "-inf", "$type": "float"}),
    ({1, 2}, {"$repr": "{1, 2}", "$type": "set"}),
    (b"x", {"$repr": "b'x'", "$type": "bytes"}),
    (Colour.RED, {"$repr": "<Colour.RED: 1>", "$type": f"{__name__}.Colour"}),
    ({1: "a"}, {"$repr": "{1: 'a'}", "$type": "dict"}),
    ({"$repr": "x"}, {"$repr": "{'$repr': 'x'}", "$type": "dict"}),
])
def test_what_json_cannot_hold_is_marked(value: Any, expected: dict[str, str]) -> None:
    assert json_value(value) == expected


def test_the_string_nan_and_the_float_nan_differ() -> None:
    assert json_value("nan") == "nan" != json_value(float("nan"))


def test_marks_are_made_deep_inside_a_value() -> None:
    value = {"price": Decimal("2"), "rows": [(1, float("nan"))]}
    assert json_value(value) == {
        "price": {"$repr": "Decimal('2')", "$type": "decimal.Decimal"},
        "rows": [[1, {"$repr": "nan", "$type": "float"}]],
    }


def test_every_result_is_strict_json() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    for value in (loop, deep, Broken(), object(), {"k": {1, 2}}, [Decimal(1)]):
        json.dumps(json_value(value), allow_nan=False)
    assert json_value(loop) == [1, {"$repr": "[1, [...]]", "$type": "list"}]


def test_a_repr_that_raises_is_described() -> None:
    assert marked(Broken()) == {"$repr": f"<{__name__}.Broken object; repr() raised "
                                         "RuntimeError>", "$type": f"{__name__}.Broken"}


@pytest.mark.parametrize(("values", "text"), [
    (["hello", "big", "world"], "hello big world"),
    (["Hel", "lo", " world", "\n"], "Hello world\n"),
    ([], None),
    (["a", 1], None),
])
def test_stream_text(values: list[Any], text: str | None) -> None:
    assert stream_text(values) == text


def test_one_line() -> None:
    assert one_line("a\n b", 10) == "a b"
    assert one_line("abcdefghij", 5) == "abcd…"
    assert one_line("abcdefghij", 5, keep_end=True) == "…ghij"
    assert len(one_line("x" * 100, 1)) == 1
