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
A :class:`System` prepares a *runner* for a workload: a zero-argument callable that
performs one complete run **from the plain description** (step ids, a dict of
dependencies, the actions) and returns every step's value. Graph construction is
inside the runner for every system: graphlib builds its ``TopologicalSorter``,
asyncio its tasks, rxsteps its ``Step`` objects and ``StepGraph`` (validated), dask
its graph dict. What ``prepare`` does outside the timing is only what a program
would keep across runs: a warm ``ThreadPoolExecutor`` for the hand-written loops
(rxsteps uses its own process-wide pool). Heavy imports (asyncio, rxsteps, dask) are
made by the systems that need them, so a fresh interpreter per system measures each
one's own imports and memory. ``prepare`` raises
:class:`~benchmarks.errors.Unavailable` when a system cannot run here.

Example:
    >>> w = chain("chain-3", 3, seed=1)
    >>> runner = SYSTEMS["graphlib"].prepare(w)
    >>> runner() == w.expected()
    True
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmarks.errors import Unavailable

__all__ = [
    "SYSTEMS",
    "Prepare",
    "Runner",
    "System",
    "Workload",
    "chain",
    "combine",
    "fan",
    "layered",
]

POOL_WORKERS = 64  # the hand-written loops' warm pool (the sleeping DAG needs >= 16)

MODULUS = (1 << 61) - 1

Runner = Callable[[], Mapping[str, Any]]
Prepare = Callable[["Workload"], Runner]


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
    import asyncio

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


# -- systems: every runner builds its own structures, inside the timing -----------------------


def _pool(workers: int = POOL_WORKERS) -> Any:
    """A warm-able pool for the hand-written loops (kept across runs, as a program would)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(workers, thread_name_prefix="bench")


def sequential(w: Workload) -> Runner:
    """The floor: one loop over the steps in topological order, in this thread."""
    ids, actions, deps = w.ids, w.actions, w.deps

    def run_once() -> dict[str, Any]:
        values: dict[str, Any] = {}
        for s in ids:
            values[s] = actions[s](*[values[d] for d in deps[s]])
        return values

    return run_once


def graphlib_pool(w: Workload, workers: int = POOL_WORKERS) -> Runner:
    """``graphlib.TopologicalSorter`` + a warm pool of ``workers`` threads: build the
    sorter, submit every ready step, wait for the first completion, mark it done,
    repeat."""
    from concurrent.futures import FIRST_COMPLETED, Future, wait
    from graphlib import TopologicalSorter

    actions, deps, pool = w.actions, w.deps, _pool(workers)

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


def waves(w: Workload) -> Runner:
    """The seed's algorithm: run every ready step on the pool, wait for *all* of them
    (a barrier), then compute the next set of ready steps."""
    actions, deps, pool = w.actions, w.deps, _pool()

    def run_once() -> dict[str, Any]:
        dependents: dict[str, list[str]] = {s: [] for s in w.ids}
        for s in w.ids:
            for d in deps[s]:
                dependents[d].append(s)
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


def asyncio_tasks(w: Workload) -> Runner:
    """Idiomatic asyncio: one task per step awaiting its dependencies' tasks, on a new
    loop per run. Coroutine actions where the workload has them (``asyncio.sleep``),
    else the sync action called inline on the loop (it never blocks)."""
    import asyncio

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


def dask_threaded(w: Workload) -> Runner:
    """``dask.threaded.get`` on a dask graph dict built per run, on a warm pool."""
    try:
        import dask.threaded
    except ImportError as error:
        raise Unavailable("dask is not installed") from error
    pool, keys = _pool(), list(w.ids)

    def run_once() -> dict[str, Any]:
        graph = {s: (w.actions[s], *w.deps[s]) for s in keys}
        return dict(zip(keys, dask.threaded.get(graph, keys, pool=pool), strict=True))

    return run_once


def rxsteps_threads(w: Workload) -> Runner:
    """``Step`` objects, a ``StepGraph`` (validated), ``run(g, scheduler="threads")``."""
    from rxsteps import Step, StepGraph, run

    def run_once() -> Mapping[str, Any]:
        graph = StepGraph([Step(s, w.actions[s], w.deps[s]) for s in w.ids])
        return run(graph, scheduler="threads")

    return run_once


def rxsteps_asyncio(w: Workload) -> Runner:
    """The same graph built inside ``asyncio.run(...)``, run with ``arun`` (the sync
    actions on rxsteps' worker threads, or the coroutine ones on the loop)."""
    import asyncio

    from rxsteps import Step, StepGraph, arun

    actions: Mapping[str, Callable[..., Any]] = w.async_actions or w.actions

    async def main() -> Mapping[str, Any]:
        graph = StepGraph([Step(s, actions[s], w.deps[s]) for s in w.ids])
        return await arun(graph)

    return lambda: asyncio.run(main())


@dataclass(frozen=True)
class System:
    """A system under measurement: its table name, how it prepares a runner, a note."""

    name: str
    prepare: Prepare
    note: str


#: Every system, by key (the key is what ``--only``-style selections and the JSON use).
SYSTEMS: dict[str, System] = {
    "graphlib": System("graphlib + ThreadPoolExecutor", graphlib_pool,
                       "TopologicalSorter, submit ready, wait FIRST_COMPLETED; 64 warm workers"),
    "asyncio": System("asyncio tasks", asyncio_tasks,
                      "a task per step awaiting its parents; sync actions inline on the loop"),
    "rxsteps-threads": System("rxsteps threads", rxsteps_threads,
                              'Steps + StepGraph, run(g, scheduler="threads")'),
    "rxsteps-asyncio": System("rxsteps asyncio", rxsteps_asyncio,
                              "Steps + StepGraph, asyncio.run(arun(g))"),
    "sequential": System("sequential loop", sequential, "topological order, one thread: the floor"),
    "dask-threaded": System("dask.threaded.get", dask_threaded, "dask graph dict, 64 warm workers"),
    "waves": System("waves (barrier per wave)", waves, "ready set on the pool, wait for all"),
}
