"""The backends' front: every public name imports and is documented, and the engine asks
a backend what it can do (its declared members), never which backend it is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import rxsteps.backends
from rxsteps import Step, StepGraph, run
from rxsteps.backends import ThreadsBackend

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference.md"


@pytest.mark.parametrize("name", rxsteps.backends.__all__)
def test_every_public_name_imports_and_is_in_the_reference(name: str) -> None:
    if name in ("DaskBackend", "GATHER_MODES", "GatherMode"):
        pytest.importorskip("distributed")
    assert getattr(rxsteps.backends, name) is not None
    entry = re.compile(rf"^::: rxsteps\.backends\.(\w+\.)?{name}$", re.MULTILINE)
    assert entry.search(REFERENCE.read_text(encoding="utf-8")), name


def test_the_dask_names_are_imported_only_when_asked_for() -> None:
    pytest.importorskip("distributed")
    from rxsteps.backends import dask

    assert rxsteps.backends.DaskBackend is dask.DaskBackend
    assert rxsteps.backends.GATHER_MODES is dask.GATHER_MODES


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError) as info:
        rxsteps.backends.Nope  # noqa: B018
    assert str(info.value) == "module 'rxsteps.backends' has no attribute 'Nope'"


class _BothRunnable:
    """A runnable with both doors: which one the engine uses is the backend's call."""

    def __init__(self) -> None:
        self.used: list[str] = []

    def invoke(self, value: Any) -> str:
        self.used.append("invoke")
        return "invoke"

    async def ainvoke(self, value: Any) -> str:
        self.used.append("ainvoke")
        return "ainvoke"


class _PrefersAsync(ThreadsBackend):
    """Not the asyncio backend by name: only its declared capability says ainvoke."""

    prefers_async = True


@pytest.mark.parametrize(("backend", "door"), [
    (ThreadsBackend(), "invoke"),
    (_PrefersAsync(), "ainvoke"),
])
def test_a_runnable_goes_through_the_door_its_backend_declares(
        backend: ThreadsBackend, door: str) -> None:
    runnable = _BothRunnable()
    graph = StepGraph([Step("r", runnable, ["x"])], inputs=["x"])
    assert run(graph, {"x": 1}, scheduler=backend)["r"] == door
    assert runnable.used == [door]


def test_the_base_declares_every_capability_with_a_default() -> None:
    base = rxsteps.backends.Backend()
    assert (base.remote, base.keeps_values, base.virtual, base.prefers_async) == (
        False, False, False, False)
    assert rxsteps.backends.AsyncioBackend(None).prefers_async is True
