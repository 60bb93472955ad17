"""Random DAGs (hypothesis) and the engine properties checked against a sequential
reference; used by the engine tests and by the all-scheduler reliability run.

Each random graph mixes plain functions, coroutines and generators that yield 0–3
values per call. A plain sequential evaluation with zip semantics is the reference:

- every action runs exactly once per zipped input;
- no call starts before the values it consumes were emitted;
- the values equal the sequential evaluation;
- every step ends in exactly one terminal event, and events are delivered serially.

:func:`conditional_dags` adds conditions (``when=``, per call) and optional
dependencies: the reference skips a call whose condition is false, skips a step none of
whose calls ran (and what needs it) by that condition, and puts the default ``0`` in a
skipped optional dependency's place. Its generators yield at least one value, so every
skip is a condition's and the outcome does not depend on timing.

Both strategies mix in mapped steps (``map=``, :attr:`Spec.mapped`): a function or
coroutine that maps over its first dependency, a generator (each value an item,
started as it streams; its other dependencies then do not stream) or another mapped
step (the items of its list). The reference calls the action once per item, with the
other dependencies' values of the call, and emits the list of results per call.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from rxsteps import EventKind, Step, StepEvent, StepGraph, ZipWarning

TERMINAL = {EventKind.SUCCEEDED, EventKind.FAILED, EventKind.SKIPPED, EventKind.CANCELLED}


@dataclass(frozen=True)
class Spec:
    """One random step: its dependencies, its kind and (for generators) its fan-out."""

    deps: tuple[int, ...]
    kind: str
    fanout: int
    condition: int = 0  # a call runs when (sum(args) + i) % condition != 0; 0: no condition
    optional: bool = False  # every dependency is optional (default 0)
    mapped: bool = False  # maps over deps[0] (a generator or a mapped step)


def _mapped(draw: st.DrawFn, i: int, specs: list[Spec]) -> Spec | None:
    """A mapped step over an earlier generator or mapped step, if there is one: over a
    generator, its other dependencies are steps that do not stream (else refused)."""
    over = [j for j, spec in enumerate(specs) if spec.kind == "generator" or spec.mapped]
    if not over or draw(st.integers(0, 3)) != 0:  # one step in four, where possible
        return None
    first = draw(st.sampled_from(over))
    others = [j for j, spec in enumerate(specs) if j != first
              and not (specs[first].kind == "generator" and specs[j].kind == "generator")]
    rest = draw(st.lists(st.sampled_from(others), max_size=2, unique=True)) if others else []
    kind = draw(st.sampled_from(["function", "coroutine"]))
    return Spec((first, *rest), kind, 1, mapped=True)


@st.composite
def dags(draw: st.DrawFn) -> list[Spec]:
    size = draw(st.integers(1, 24))
    specs = []
    for i in range(size):
        mapped = _mapped(draw, i, specs)
        if mapped is not None:
            specs.append(mapped)
            continue
        deps = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        kind = draw(st.sampled_from(["function", "coroutine", "generator"]))
        fanout = draw(st.integers(0, 3)) if kind == "generator" else 1
        specs.append(Spec(tuple(deps), kind, fanout))
    return specs


@st.composite
def conditional_dags(draw: st.DrawFn) -> list[Spec]:
    size = draw(st.integers(1, 16))
    specs = []
    for i in range(size):
        mapped = _mapped(draw, i, specs)
        if mapped is not None:  # no condition of its own; its dependencies may have one
            specs.append(mapped)
            continue
        deps = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        kind = draw(st.sampled_from(["function", "coroutine", "generator"]))
        fanout = draw(st.integers(1, 3)) if kind == "generator" else 1
        condition = draw(st.sampled_from([0, 0, 2, 3]))
        optional = bool(deps) and draw(st.booleans())
        specs.append(Spec(tuple(deps), kind, fanout, condition, optional))
    return specs


def _total(args: tuple[Any, ...]) -> int:
    return sum(sum(a) if isinstance(a, list) else a for a in args)  # a mapped step's list


def _runs(i: int, spec: Spec, args: tuple[Any, ...]) -> bool:
    return not spec.condition or (_total(args) + i) % spec.condition != 0


def _value(i: int, args: tuple[Any, ...], j: int = 0) -> int:
    return (i * 1009 + _total(args) * 7 + j) % 1_000_003


def reference(specs: list[Spec]) -> tuple[dict[str, list[int]], Counter[str]]:
    """Sequential evaluation with zip semantics: the values and the calls per step."""
    emitted, calls, _ = reference_with_skips(specs)
    return emitted, calls


def reference_with_skips(
    specs: list[Spec],
) -> tuple[dict[str, list[int]], Counter[str], set[str]]:
    """The values, the calls per step, and the steps skipped by a condition."""
    emitted: dict[str, list[int]] = {}
    calls: Counter[str] = Counter()
    skipped: set[str] = set()
    for i, spec in enumerate(specs):
        name = f"s{i}"
        emitted[name] = []
        columns = []
        for d in spec.deps:
            if f"s{d}" not in skipped:
                columns.append(emitted[f"s{d}"])
            elif spec.optional:
                columns.append([0])  # the default in its place
            else:
                skipped.add(name)
        if name in skipped:
            continue
        if spec.mapped:
            emitted[name] = _map_reference(i, specs, columns, calls)
            continue
        count = min((len(c) for c in columns), default=1)
        values: list[Any] = []
        ran = 0
        for n in range(count):
            args = tuple(c[n] for c in columns)
            if not _runs(i, spec, args):
                continue
            ran += 1
            calls[name] += 1
            values.extend(_value(i, args, j) for j in range(spec.fanout))
        if count and not ran:
            skipped.add(name)
        emitted[name] = values
    return emitted, calls, skipped


def _map_reference(i: int, specs: list[Spec], columns: list[list[Any]],
                   calls: Counter[str]) -> list[Any]:
    """A mapped step's values: over a generator, one call (if every dependency has a
    value) whose items are every value it emitted; over a mapped step, a call per zip
    of values, whose items are that call's list."""
    spec = specs[i]
    streamed = specs[spec.deps[0]].kind == "generator"
    count = min(len(c) for c in columns)
    if streamed:
        count = min(count, 1)
    values: list[Any] = []
    for n in range(count):
        items = columns[0] if streamed else columns[0][n]
        others = tuple(c[n] for c in columns[1:])
        calls[f"s{i}"] += len(items)
        values.append([_value(i, (item, *others)) for item in items])
    return values


class Usage:
    """Units of each resource held by running actions, and the most ever held."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()

    def enter(self, uses: dict[str, int]) -> None:
        with self.lock:
            for name, units in uses.items():
                self.now[name] += units
                self.most[name] = max(self.most[name], self.now[name])

    def leave(self, uses: dict[str, int]) -> None:
        with self.lock:
            for name, units in uses.items():
                self.now[name] -= units


def build(
    specs: list[Spec], uses: list[dict[str, int]] | None = None, usage: Usage | None = None
) -> tuple[StepGraph, Counter[str]]:
    """The graph of ``specs``; with ``uses``, step i uses ``uses[i]`` and its action
    counts the units it holds in ``usage`` from its start to its end."""
    calls: Counter[str] = Counter()
    lock = threading.Lock()
    tracker = usage or Usage()

    def make(i: int, spec: Spec) -> Any:
        name = f"s{i}"
        held = uses[i] if uses else {}

        def count() -> None:
            with lock:
                calls[name] += 1
            tracker.enter(held)

        if spec.kind == "function":

            def function(*args: int) -> int:
                count()
                tracker.leave(held)
                return _value(i, args)

            return function
        if spec.kind == "coroutine":

            async def coroutine(*args: int) -> int:
                count()
                await asyncio.sleep(0)
                tracker.leave(held)
                return _value(i, args)

            return coroutine

        def generator(*args: int) -> Any:
            count()
            for j in range(spec.fanout):
                yield _value(i, args, j)
            tracker.leave(held)

        return generator

    def when(i: int, spec: Spec) -> Any:
        return None if not spec.condition else lambda *args: _runs(i, spec, args)

    steps = [
        Step(f"s{i}", make(i, spec), [f"s{d}" for d in spec.deps], when=when(i, spec),
             optional=[f"s{d}" for d in spec.deps] if spec.optional else (),
             defaults={f"s{d}": 0 for d in spec.deps} if spec.optional else None,
             uses=uses[i] if uses else None,
             map=f"s{spec.deps[0]}" if spec.mapped else None)
        for i, spec in enumerate(specs)
    ]
    with warnings.catch_warnings():  # random graphs zip streams with values on purpose
        warnings.simplefilter("ignore", ZipWarning)
        return StepGraph(steps), calls


def check(specs: list[Spec], run_graph: Any, uses: list[dict[str, int]] | None = None,
          capacities: dict[str, int] | None = None) -> None:
    """Build the graph of ``specs``, run it with ``run_graph(graph, on_event)`` and
    assert every property against the sequential reference; with ``uses`` and
    ``capacities``, also that no resource was ever held beyond its capacity."""
    usage = Usage()
    graph, calls = build(specs, uses, usage)
    events: list[StepEvent] = []
    busy = threading.Lock()
    overlapping: list[StepEvent] = []

    def on_event(event: StepEvent) -> None:
        if not busy.acquire(blocking=False):
            overlapping.append(event)
            return
        events.append(event)
        busy.release()

    result = run_graph(graph, on_event)
    expected, expected_calls, skipped = reference_with_skips(specs)
    assert overlapping == []  # serial delivery
    assert {name: result.emitted(name) for name in graph} == expected
    assert calls == expected_calls  # exactly once per zipped input
    emitted_at: dict[tuple[str, int], int] = {}
    seen: Counter[str] = Counter()
    for k, event in enumerate(events):
        if event.kind is EventKind.EMITTED:
            emitted_at[(event.step, seen[event.step])] = k
            seen[event.step] += 1
        elif event.kind is EventKind.STARTED:  # no call before the values it consumes
            assert event.step not in skipped
            step = graph[event.step]
            for dep in step.depends:
                if dep in skipped:  # a skipped optional one: its default
                    continue
                # call n consumes value n; so does item n of a map over a stream
                if step.map is None or (dep == step.map and graph[dep].streaming):
                    assert emitted_at[(dep, event.index)] < k
                else:  # an item of the one call a mapped step makes here
                    assert emitted_at[(dep, 0)] < k
    terminal = Counter(e.step for e in events if e.kind in TERMINAL)
    assert terminal == Counter(list(graph))
    times = [e.time for e in events]
    assert times == sorted(times)
    for name, most in usage.most.items():
        assert most <= (capacities or {}).get(name, most), (name, most)
    assert {name for name in graph if result.skipped_by_condition(name)} == skipped
