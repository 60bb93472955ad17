"""``Step(when=..., optional=..., defaults=...)`` and ``routes``: what is refused when
the step is made, with messages that name the step, the argument and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from rxsteps import Route, Step, StepDefinitionError, StepTypeError, routes


def _two(a: Any, b: Any) -> Any:
    return a


async def _async_when(a: Any, b: Any) -> bool:
    return True


@pytest.mark.parametrize(
    ("kwargs", "error", "argument", "message"),
    [
        ({"when": 3}, StepTypeError, "when",
         "step 'm': when must be a function of the step's dependencies, got int"),
        ({"when": lambda a: True}, StepTypeError, "when",
         "step 'm': condition (when) <lambda>(a) cannot be called with 2 positional "
         "arguments; the step depends on 2 ('a', 'b')"),
        ({"when": _async_when}, StepTypeError, "when",
         "step 'm': when must be a plain function returning true or false, got coroutine "
         "_async_when (do the async work in a step of its own and make the condition read "
         "its value)"),
        ({"when": routes("router", "x")}, StepDefinitionError, "when",
         "step 'm': when=routes('router', 'x') reads step 'router', which is not in depends "
         "['a', 'b']; add 'router' to depends"),
        ({"optional": "a"}, StepTypeError, "optional",
         "step 'm': optional must be a list of dependency names, not a string (did you "
         "mean ['a']?)"),
        ({"optional": 5}, StepTypeError, "optional",
         "step 'm': optional must be a list of dependency names, got 5"),
        ({"optional": ["c"]}, StepDefinitionError, "optional",
         "step 'm': optional dependency 'c' is not in depends ['a', 'b']; add it to depends "
         "or remove it from optional"),
        ({"optional": ["a"], "defaults": {"b": 1}}, StepDefinitionError, "defaults",
         "step 'm': defaults names 'b', which is not an optional dependency (optional: "
         "['a']); add it to optional"),
        ({"optional": ["a"], "defaults": [1]}, StepTypeError, "defaults",
         "step 'm': defaults must be a dict from optional dependency name to value, got [1]"),
    ],
)
def test_bad_condition_arguments_are_refused(
    kwargs: dict[str, Any], error: type[Exception], argument: str, message: str
) -> None:
    with pytest.raises(error) as info:
        Step("m", _two, ["a", "b"], **kwargs)
    assert str(info.value) == message
    assert isinstance(info.value, StepDefinitionError) and info.value.argument == argument
    assert info.value.step == "m"


def test_condition_fields_are_kept() -> None:
    def when(a: Any, b: Any) -> bool:
        return True

    step = Step("m", _two, ["a", "b"], when=when, optional=["b"], defaults={"b": 0})
    assert step.when is when
    assert step.optional == frozenset({"b"})
    assert dict(step.defaults) == {"b": 0}
    plain = Step("p", _two, ["a", "b"])
    assert plain.when is None and plain.optional == frozenset() and dict(plain.defaults) == {}


def test_a_route_is_bound_to_its_routers_place() -> None:
    step = Step("branch", _two, ["question", "router"], when=routes("router", "x"))
    assert isinstance(step.when, Route) and step.when.position == 1
    assert step.when("ignored", "x") is True
    assert step.when("x", ["y", "z"]) is False
    assert step.when("x", {"z", "x"}) is True
    assert step.when("x", None) is False
    assert step.when("x", 42) is False


@pytest.mark.parametrize("names", [(), (1,)])
def test_routes_needs_names(names: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError) as info:
        routes("router", *names)
    assert str(info.value) == (f"routes('router', ...) needs the router's step id and at "
                               f"least one route name, all strings; got names {names!r}")
