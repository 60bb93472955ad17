"""Seeded DAG workloads, and the systems that run them: rxsteps and the baselines.

Workloads
---------
Every workload is a DAG of named steps whose values flow along the edges: step ``i``
returns :func:`combine` of its own salt and its dependencies' values, in order, modulo
a Mersenne prime. A system that drops, reorders, duplicates or mixes up an argument
therefore ends with different final values, and :meth:`Workload.expected` (a plain
sequential evaluation, without any sleeping) is what every run is checked against.

- :func:`layered` — ``n`` steps in layers of ``width``; every step outside the first
  layer has 1 to ``max_deps`` dependencies drawn from the previous two layers. With
  ``sleep=(lo, hi)`` each step first sleeps a planned duration drawn uniformly from
  that range (``time.sleep``, or ``asyncio.sleep`` in the coroutine variant).
- :func:`chain` — ``n`` steps, each depending on the previous one.
- :func:`fan` — one root, ``n`` independent steps depending on it, one sink
  depending on all of them.

All randomness comes from ``random.Random(seed)``, so a workload is the same DAG,
with the same durations and salts, on every run and every machine.

Systems
-------
A system (rxsteps or a baseline) is a *definer*: ``define(workload, pool)`` does the
one-off work (the graph definition: a validated ``StepGraph``, dependents lists, the
dask graph dict…) and returns a *runner*, a zero-argument callable that performs one
complete run and returns every step's value. Only runners are timed, so per-run work
(rxsteps' run state, a ``TopologicalSorter``, in-degree counts, tasks, an event loop)
is included and graph definition is not. ``pool`` is one shared, warm
``ThreadPoolExecutor`` the baselines use (rxsteps uses its own process-wide pool); a
definer raises :class:`Unavailable` when it cannot run (a missing package, or a
workload without coroutine actions). :func:`systems` lists them for a workload.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

from rxsteps import Step, StepGraph, arun, run

__all__ = [
    "BASELINES",
    "Definer",
    "Runner",
    "Unavailable",
    "Workload",
    "chain",
    "combine",
    "fan",
    "layered",
    "systems",
]

MODULUS = (1 << 61) - 1

Runner = Callable[[], Mapping[str, Any]]
Definer = Callable[["Workload", ThreadPoolExecutor], Runner]


class Unavailable(Exception):
    """A system cannot run a workload here; the message says why (shown in the table)."""


def combine(salt: int, *deps: int) -> int:
    """A step's value: its salt folded with its dependencies' values, order-sensitive."""
    acc = salt
    for position, value in enumerate(deps, 1):
        acc = (acc * 1_000_003 + value * position) % MODULUS
    return acc


def sleep_then_combine(salt: int, seconds: float, *deps: int) -> int:
    """A blocking step: sleep ``seconds`` (a tool call, say), then :func:`combine`."""
    time.sleep(seconds)
    return combine(salt, *deps)


async def async_sleep_then_combine(salt: int, seconds: float, *deps: int) -> int:
    """The coroutine version of :func:`sleep_then_combine`."""
    await asyncio.sleep(seconds)
    return combine(salt, *deps)


@dataclass
class Workload:
    """A seeded DAG: step ids in topological order, their dependencies and actions."""

    name: str
    description: str
    ids: list[str]
    deps: dict[str, tuple[str, ...]]
    salts: dict[str, int]
    durations: dict[str, float] | None = None
    actions: dict[str, Callable[..., Any]] = field(init=False)
    async_actions: dict[str, Callable[..., Awaitable[Any]]] | None = field(init=False)

    def __post_init__(self) -> None:
        if self.durations is None:
            self.actions = {s: functools.partial(combine, self.salts[s]) for s in self.ids}
            self.async_actions = None
            return
        self.actions = {
            s: functools.partial(sleep_then_combine, self.salts[s], self.durations[s])
            for s in self.ids
        }
        self.async_actions = {
            s: functools.partial(async_sleep_then_combine, self.salts[s], self.durations[s])
            for s in self.ids
        }

    def __len__(self) -> int:
        return len(self.ids)

    def expected(self) -> dict[str, int]:
        """Every step's value from a plain sequential evaluation (no sleeping)."""
        values: dict[str, int] = {}
        for s in self.ids:
            values[s] = combine(self.salts[s], *[values[d] for d in self.deps[s]])
        return values

    def critical_path(self) -> float:
        """The longest chain of planned sleep durations, in seconds (0 without sleeps)."""
        if self.durations is None:
            return 0.0
        finish: dict[str, float] = {}
        for s in self.ids:
            start = max((finish[d] for d in self.deps[s]), default=0.0)
            finish[s] = start + self.durations[s]
        return max(finish.values())

    def wave_plan(self) -> float:
        """The makespan the wave algorithm is bound to, from the planned durations: the
        sum over waves (steps grouped by depth) of each wave's longest sleep."""
        if self.durations is None:
            return 0.0
        depth: dict[str, int] = {}
        longest: dict[int, float] = {}
        for s in self.ids:
            depth[s] = max((depth[d] + 1 for d in self.deps[s]), default=0)
            longest[depth[s]] = max(longest.get(depth[s], 0.0), self.durations[s])
        return sum(longest.values())

    def dependents(self) -> dict[str, list[str]]:
        """Step id to the steps that depend on it."""
        out: dict[str, list[str]] = {s: [] for s in self.ids}
        for s in self.ids:
            for d in self.deps[s]:
                out[d].append(s)
        return out


def _salts(ids: list[str], rng: random.Random) -> dict[str, int]:
    return {s: rng.getrandbits(60) for s in ids}


def layered(
    name: str,
    n: int,
    *,
    width: int,
    max_deps: int = 3,
    seed: int,
    sleep: tuple[float, float] | None = None,
) -> Workload:
    """``n`` steps in layers of ``width``, each with 1..``max_deps`` dependencies from
    the previous two layers (the first layer has none)."""
    rng = random.Random(seed)
    ids = [f"s{i}" for i in range(n)]
    deps: dict[str, tuple[str, ...]] = {}
    for i, s in enumerate(ids):
        layer = i // width
        if layer == 0:
            deps[s] = ()
            continue
        candidates = ids[max(0, (layer - 2) * width) : layer * width]
        deps[s] = tuple(rng.sample(candidates, rng.randint(1, max_deps)))
    durations = {s: rng.uniform(*sleep) for s in ids} if sleep is not None else None
    what = f"{n} steps, width {width}, 1-{max_deps} deps from the previous two layers"
    if sleep is not None:
        what += f", sleeps {sleep[0] * 1e3:g}-{sleep[1] * 1e3:g} ms"
    return Workload(name, what + f", seed {seed}", ids, deps, _salts(ids, rng), durations)


def chain(name: str, n: int, *, seed: int) -> Workload:
    """``n`` steps, each depending on the previous one."""
    ids = [f"c{i}" for i in range(n)]
    deps: dict[str, tuple[str, ...]] = {s: (ids[i - 1],) if i else () for i, s in enumerate(ids)}
    return Workload(name, f"a chain of {n} steps", ids, deps, _salts(ids, random.Random(seed)))


def fan(name: str, n: int, *, seed: int) -> Workload:
    """One root, ``n`` independent steps depending on it, one sink depending on all."""
    middle = [f"f{i}" for i in range(n)]
    ids = ["root", *middle, "sink"]
    deps: dict[str, tuple[str, ...]] = {"root": (), "sink": tuple(middle)}
    deps.update((s, ("root",)) for s in middle)
    what = f"1 root -> {n} independent steps -> 1 sink"
    return Workload(name, what, ids, deps, _salts(ids, random.Random(seed)))


# -- baselines ----------------------------------------------------------------------------


def sequential(w: Workload, pool: ThreadPoolExecutor) -> Runner:
    """The floor: one loop over the steps in topological order, in this thread."""
    order = [(s, w.actions[s], w.deps[s]) for s in w.ids]

    def run_once() -> dict[str, Any]:
        values: dict[str, Any] = {}
        for s, action, deps in order:
            values[s] = action(*[values[d] for d in deps])
        return values

    return run_once


def graphlib_pool(w: Workload, pool: ThreadPoolExecutor) -> Runner:
    """``graphlib.TopologicalSorter`` + the pool: submit every ready step, wait for the
    first completion, mark it done, repeat."""
    actions, deps = w.actions, w.deps

    def run_once() -> dict[str, Any]:
        sorter = TopologicalSorter(deps)
        sorter.prepare()
        values: dict[str, Any] = {}
        running: dict[Future[Any], str] = {}
        while sorter.is_active():
            for s in sorter.get_ready():
                running[pool.submit(actions[s], *[values[d] for d in deps[s]])] = s
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                s = running.pop(future)
                values[s] = future.result()
                sorter.done(s)
        return values

    return run_once


def waves(w: Workload, pool: ThreadPoolExecutor) -> Runner:
    """The seed's algorithm: run every ready step on the pool, wait for *all* of them
    (a barrier), then compute the next set of ready steps."""
    actions, deps, dependents = w.actions, w.deps, w.dependents()

    def run_once() -> dict[str, Any]:
        missing = {s: len(deps[s]) for s in w.ids}
        ready = [s for s, count in missing.items() if count == 0]
        values: dict[str, Any] = {}
        while ready:
            futures = [pool.submit(actions[s], *[values[d] for d in deps[s]]) for s in ready]
            for s, future in zip(ready, futures, strict=True):
                values[s] = future.result()
            wave, ready = ready, []
            for s in wave:
                for dependent in dependents[s]:
                    missing[dependent] -= 1
                    if missing[dependent] == 0:
                        ready.append(dependent)
        return values

    return run_once


def asyncio_tasks(w: Workload, pool: ThreadPoolExecutor) -> Runner:
    """Idiomatic asyncio: one task per step awaiting its dependencies' tasks, on a new
    loop per run. Coroutine actions where the workload has them (``asyncio.sleep``),
    else the sync action called inline on the loop (it never blocks)."""
    coroutines = w.async_actions
    actions: Mapping[str, Callable[..., Any]] = coroutines or w.actions

    async def step(action: Callable[..., Any], parents: list[asyncio.Task[Any]]) -> Any:
        args = [await parent for parent in parents]
        if coroutines is not None:
            return await action(*args)
        return action(*args)

    async def main() -> dict[str, Any]:
        tasks: dict[str, asyncio.Task[Any]] = {}
        for s in w.ids:
            tasks[s] = asyncio.create_task(step(actions[s], [tasks[d] for d in w.deps[s]]))
        await asyncio.gather(*tasks.values())
        return {s: task.result() for s, task in tasks.items()}

    return lambda: asyncio.run(main())


def dask_threaded(w: Workload, pool: ThreadPoolExecutor) -> Runner:
    """``dask.threaded.get`` on the equivalent dask graph dict, on the same pool."""
    try:
        import dask.threaded
    except ImportError as error:
        raise Unavailable("dask is not installed") from error
    graph = {s: (w.actions[s], *w.deps[s]) for s in w.ids}
    keys = list(w.ids)

    def run_once() -> dict[str, Any]:
        return dict(zip(keys, dask.threaded.get(graph, keys, pool=pool), strict=True))

    return run_once


#: (system name, definer, note) of every baseline, in table order.
BASELINES: list[tuple[str, Definer, str]] = [
    ("sequential loop", sequential, "topological order, one thread: the floor"),
    ("graphlib + ThreadPoolExecutor", graphlib_pool, "submit ready, wait FIRST_COMPLETED"),
    ("asyncio tasks", asyncio_tasks, "a task per step awaiting its parents"),
    ("dask.threaded.get", dask_threaded, "same 64-worker pool"),
    ("waves (seed algorithm)", waves, "ready set on the pool, barrier per wave"),
]


# -- rxsteps ----------------------------------------------------------------------------


def _graph(w: Workload, actions: Mapping[str, Callable[..., Any]]) -> StepGraph:
    return StepGraph([Step(s, actions[s], w.deps[s]) for s in w.ids])


def rxsteps_threads(w: Workload, pool: ThreadPoolExecutor) -> Runner:
    graph = _graph(w, w.actions)
    return lambda: run(graph, scheduler="threads")


def rxsteps_asyncio(w: Workload, pool: ThreadPoolExecutor) -> Runner:
    graph = _graph(w, w.actions)
    return lambda: asyncio.run(arun(graph))


def rxsteps_asyncio_coroutines(w: Workload, pool: ThreadPoolExecutor) -> Runner:
    if w.async_actions is None:
        raise Unavailable("no coroutine actions in this workload")
    graph = _graph(w, w.async_actions)
    return lambda: asyncio.run(arun(graph))


def systems(w: Workload) -> list[tuple[str, Definer, str]]:
    """The systems measured on ``w``, in table order."""
    out: list[tuple[str, Definer, str]] = [
        ("rxsteps threads", rxsteps_threads, 'run(g, scheduler="threads")'),
        ("rxsteps asyncio", rxsteps_asyncio, "asyncio.run(arun(g)), sync actions"),
    ]
    if w.async_actions is not None:
        out.append(("rxsteps asyncio (coroutines)", rxsteps_asyncio_coroutines,
                    "asyncio.run(arun(g)), asyncio.sleep actions"))
    for name, define, note in BASELINES:
        if name == "asyncio tasks":
            note += ", asyncio.sleep" if w.async_actions is not None else ", sync inline"
        if name.startswith("waves") and w.durations is not None:
            note += f"; the plan predicts {w.wave_plan() / w.critical_path():.3f}"
        out.append((name, define, note))
    return out
