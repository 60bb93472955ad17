"""The step graph: steps by id, the run inputs they may depend on, and validation.

A :class:`StepGraph` is built from :class:`~rxsteps.Step` objects, or with the
:meth:`StepGraph.step` decorator, and checked before anything runs:

- a cycle raises :class:`~rxsteps.CycleError` carrying the cycle's path;
- a dependency that is neither a step nor a declared input raises
  :class:`~rxsteps.MissingDependencyError` with close matches;
- duplicate ids (and a step named like an input) raise
  :class:`~rxsteps.DuplicateStepError` as soon as the step is added;
- an action whose signature cannot take its dependencies raises
  :class:`~rxsteps.StepTypeError` (a ``TypeError``).

Validation compiles the graph once into a plan — a topological order and each step's
dependents — and the plan is what runs, pipelines and the CLI reuse until
:meth:`StepGraph.add` changes the graph. It is one pass of Kahn's algorithm, O(V + E)
whatever order the steps were listed in; when steps are left over, they hold a cycle,
found by walking back along their dependencies, also O(V + E) (100,000 steps with a
cycle in the middle are rejected in well under 0.2 s; the networkx validation this
replaced took 8.5 s for a 1,000-step chain whose root was a 2-cycle, because of its
cycle search, and networkx costs 22 MB of memory to import). networkx is imported only
for what needs it: :meth:`StepGraph.to_networkx` and the pictures' layout.

Example:
    >>> from rxsteps import StepGraph, run
    >>> graph = StepGraph(inputs=["query"])
    >>> @graph.step
    ... def words(query):
    ...     return query.split()
    >>> @graph.step(depends=["words", "query"])
    ... def answer(w, q):
    ...     return f"{q!r} has {len(w)} words"
    >>> run(graph, inputs={"query": "eager steps win"})["answer"]
    "'eager steps win' has 3 words"
"""

from __future__ import annotations

import difflib
import gc
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, overload

from ._pictures import pictures
from .critical import planned_critical_path, remaining_paths
from .errors import (
    CycleError,
    DuplicateStepError,
    MissingDependencyError,
    OptionTypeError,
    StepDefinitionError,
    ZipWarning,
    stacklevel_outside_package,
)
from .retry import Retry
from .step import Join, Step, step_decorator_depends

if TYPE_CHECKING:

    import networkx as nx
    from matplotlib.figure import Figure

__all__ = ["StepGraph"]

_F = Callable[..., Any]


def _input_names(inputs: Iterable[str]) -> tuple[str, ...]:
    """The declared input names, each once, after checking each is a non-empty string
    (networkx would refuse ``None`` only later, as "None cannot be a node")."""
    names = tuple(dict.fromkeys(inputs))
    for name in names:
        if not isinstance(name, str) or not name:
            raise OptionTypeError(f"StepGraph: an input name must be a non-empty string, got "
                                  f"{name!r}; give each a name, such as inputs=['query']",
                                  "inputs")
    return names


def _not_a_step(value: object) -> OptionTypeError:
    """The refusal of a graph's step that is not a :class:`Step` (a tuple, a function…)."""
    return OptionTypeError(f"StepGraph: expected a Step, got {type(value).__name__}; wrap "
                           "a function in Step('name', function)", "steps")


class StepGraph(Mapping[str, Step]):
    """A validated DAG of steps; a read-only mapping from step id to :class:`Step`.

    Args:
        steps: The steps, in any order.
        inputs: Names that steps may depend on and that every run must supply.

    A graph given its steps up front is validated at once (see :meth:`validate`); one
    built step by step is validated by :meth:`validate`, or when a run starts.

    Raises:
        DuplicateStepError: Two steps share an id, or a step id is an input name.
        OptionTypeError: ``inputs`` is a string or holds a name that is not a
            non-empty string, or a step is not a :class:`Step`.
        MissingDependencyError, CycleError, TypeError: See :meth:`validate`.

    Example:
        >>> from rxsteps import Step, StepGraph
        >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a + 1, ["a"])])
        >>> graph.order()
        ['a', 'b']
    """

    def __init__(self, steps: Iterable[Step] = (), *, inputs: Iterable[str] = ()) -> None:
        if isinstance(inputs, str):
            raise OptionTypeError(f"StepGraph: inputs must be a list of names, got the string "
                                  f"{inputs!r}; write inputs=[{inputs!r}]", "inputs")
        self._inputs: tuple[str, ...] = _input_names(inputs)
        self._steps: dict[str, Step] = {}
        self._plan: _Plan | None = None
        self._add_all(steps)
        if self._steps:
            self.validate()

    def _add_all(self, steps: Iterable[Step]) -> None:
        """Add each step after :meth:`add`'s checks, in one loop (a graph's steps given
        up front are added at every build: 100,000 of them in ~20 ms, not ~50)."""
        known, inputs = self._steps, frozenset(self._inputs)
        for step in steps:
            if type(step) is not Step and not isinstance(step, Step):
                raise _not_a_step(step)
            step_id = step.id
            if step_id in known:
                raise DuplicateStepError(step_id)
            if step_id in inputs:
                raise DuplicateStepError(step_id, is_input=True)
            known[step_id] = step

    # -- building ---------------------------------------------------------------------

    def add(self, step: Step) -> Step:
        """Add a step; raise :class:`DuplicateStepError` if its id is taken."""
        self._add_all((step,))
        self._plan = None
        return step

    @overload
    def step(self, function: _F, /) -> _F: ...

    @overload
    def step(
        self,
        *,
        id: str | None = None,
        depends: Iterable[str] | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
        join: Join = "zip",
        description: str = "",
    ) -> Callable[[_F], _F]: ...

    def step(
        self,
        function: _F | None = None,
        *,
        id: str | None = None,
        depends: Iterable[str] | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
        join: Join = "zip",
        description: str = "",
    ) -> _F | Callable[[_F], _F]:
        """Decorator adding a function as a step; returns the function unchanged.

        The step id is the function's name unless ``id`` is given; its dependencies are
        its positional parameter names unless ``depends`` is given. Other arguments are
        those of :class:`Step`.

        Example:
            >>> graph = StepGraph(inputs=["x"])
            >>> @graph.step(timeout=2)
            ... def double(x):
            ...     return 2 * x
            >>> graph["double"].depends
            ('x',)
        """

        def decorate(fn: _F) -> _F:
            names = step_decorator_depends(fn) if depends is None else tuple(depends)
            self.add(
                Step(
                    id or fn.__name__,
                    fn,
                    names,
                    timeout=timeout,
                    retry=retry,
                    join=join,
                    description=description or (fn.__doc__ or "").strip().split("\n")[0],
                )
            )
            return fn

        return decorate(function) if function is not None else decorate

    # -- mapping ----------------------------------------------------------------------

    def __getitem__(self, step_id: str) -> Step:
        return self._steps[step_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __repr__(self) -> str:
        return f"StepGraph({len(self._steps)} steps, inputs={list(self._inputs)!r})"

    @property
    def inputs(self) -> tuple[str, ...]:
        """The declared run inputs."""
        return self._inputs

    # -- validation -------------------------------------------------------------------

    def validate(self) -> StepGraph:
        """Check the whole graph and compile its plan; return it, or raise the first
        problem found. Free after the first call, until the graph changes.

        Raises:
            MissingDependencyError: A dependency names no step and no input.
            CycleError: The dependencies form a cycle (``.cycle`` holds its path).
            StepTypeError: An action's signature cannot take its dependencies.
        """
        if self._plan is None:
            # The pass allocates two containers per step and no garbage cycles; the
            # collector's passes over the fresh steps cost more than the pass itself
            # (measured: 3.1 -> 1.4 µs per step on 10,000 steps), so it waits meanwhile.
            collecting = gc.isenabled()
            gc.disable()
            try:
                self._plan = _Plan.compile(self._steps, self._inputs)
            finally:
                if collecting:
                    gc.enable()
        return self

    def order(self) -> list[str]:
        """Step ids in a topological order (validates first)."""
        return list(self._compiled().order)

    def steps_in_order(self) -> tuple[Step, ...]:
        """The steps in the topological order of :meth:`order` (validates first).

        Compiled once per graph, like the order itself, and shared (a tuple) until
        :meth:`add` changes the graph: every run builds its state from it.

        Returns:
            The :class:`Step` objects, each after the steps it depends on.

        Example:
            >>> graph = StepGraph([Step("b", lambda a: a, ["a"]), Step("a", lambda: 1)])
            >>> [step.id for step in graph.steps_in_order()]
            ['a', 'b']
        """
        return self._compiled().steps

    def to_networkx(self) -> nx.DiGraph:
        """The validated graph as a new ``networkx.DiGraph``: nodes are step ids and
        inputs (node attribute ``input`` tells which), edges point from a dependency to
        its dependent."""
        import networkx as nx  # only here and in the pictures: 22 MB to import

        self.validate()
        graph = nx.DiGraph()
        graph.add_nodes_from(self._inputs, input=True)
        graph.add_nodes_from(self._steps, input=False)
        graph.add_edges_from((dep, step.id) for step in self._steps.values()
                             for dep in step.depends)
        return graph

    def dependents(self, step_id: str) -> list[str]:
        """The steps that depend directly on ``step_id``."""
        return list(self._compiled().dependents.get(step_id, ()))

    def _compiled(self) -> _Plan:
        self.validate()
        assert self._plan is not None
        return self._plan

    # -- renderings (implemented in drawing.py, critical.py, renderings.py) ------------

    def draw(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        result: Any = None,
        ax: Any = None,
        overview: bool | None = None,
    ) -> Figure:
        """Draw the DAG with matplotlib; see :func:`rxsteps.pictures.drawing.draw_graph`.

        Args:
            path: Also write the picture here (``.png``, ``.svg`` or ``.pdf``).
            result: A :class:`~rxsteps.RunResult` of this graph, to colour the boxes
                by status and outline the critical path.
            ax: Matplotlib axes to draw into, instead of a new figure.
            overview: ``False`` draws every step of a big graph, ``True`` groups of
                steps; ``None`` groups them above 80 steps.

        Returns:
            The ``matplotlib.figure.Figure``.

        Raises:
            ImportError: matplotlib is not installed (the draw extra: ``pip install -e '.[draw]'``
                in your clone).
            OptionError: ``path`` does not end in ``.png``, ``.svg`` or ``.pdf``.

        Example:
            >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"])])
            >>> bool(graph.draw().get_size_inches()[0] > 0)
            True
        """
        return pictures().draw_graph(  # type: ignore[no-any-return]
            self, path, result=result, ax=ax, overview=overview)

    def critical_path(self, durations: Mapping[str, float]) -> tuple[list[str], float]:
        """The longest chain of steps for planned ``durations`` (missing steps: 0 s).

        See :func:`rxsteps.critical.planned_critical_path`.

        Args:
            durations: Planned seconds per step id.

        Returns:
            ``(step_ids, total_seconds)`` of the longest chain.

        Raises:
            OptionError: A duration is negative or not finite, or names no step
                (also a ``ValueError``; an ``OptionTypeError`` for one that is not a number).

        Example:
            >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"])])
            >>> graph.critical_path({"a": 1.5, "b": 2})
            (['a', 'b'], 3.5)
        """
        return planned_critical_path(self, durations)

    def remaining_paths(
        self, measured: Mapping[str, float] | None = None
    ) -> Mapping[str, float]:
        """Each step's remaining path: itself and its longest chain of dependents.

        What critical-path priority ranks waiting steps by. A step weighs its
        ``measured`` seconds, else its ``Step(estimate=)``, else the mean of the known
        durations, else 1 unit, so without any hint the longest chain of *steps* comes
        first. Without ``measured`` the answer is computed once per graph (until
        :meth:`add`) and shared by every run. See :func:`rxsteps.critical.remaining_paths`.

        Args:
            measured: Seconds per step id, e.g. an earlier run's durations.

        Returns:
            Step id to the weight of its longest path to a sink (read-only).

        Raises:
            OptionError: A duration is negative or not finite, or names no step
                (also a ``ValueError``; an ``OptionTypeError`` for one that is not a number).

        Example:
            >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"]),
            ...                    Step("c", lambda: 1)])
            >>> sorted(graph.remaining_paths().items())
            [('a', 2.0), ('b', 1.0), ('c', 1.0)]
            >>> graph.remaining_paths({"a": 0.5, "b": 3, "c": 1})["a"]
            3.5
        """
        if measured:
            return MappingProxyType(remaining_paths(self, self._weights(measured)))
        plan = self._compiled()
        if plan.priorities is None:
            plan.priorities = MappingProxyType(remaining_paths(self, self._weights({})))
        return plan.priorities

    def shape(self) -> Mapping[str, list[str]]:
        """Each step's dependencies, in listing order (read-only).

        What a durable run stores to tell, on resume, whether the graph changed.
        Computed once per graph (until :meth:`add`) and shared by every run.

        Returns:
            Step id to the ids it depends on.

        Example:
            >>> dict(StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"])]).shape())
            {'a': [], 'b': ['a']}
        """
        plan = self._compiled()
        if plan.shape is None:
            plan.shape = MappingProxyType(
                {step.id: list(step.depends) for step in self._steps.values()})
        return plan.shape

    def _weights(self, measured: Mapping[str, float]) -> dict[str, float]:
        given = {n: s.estimate for n, s in self._steps.items() if s.estimate is not None}
        known = [*measured.values(), *(v for n, v in given.items() if n not in measured)]
        default = sum(known) / len(known) if known else 1.0
        return {n: measured.get(n, given.get(n, default)) for n in self._steps}

    def to_mermaid(self) -> str:
        """A Mermaid ``flowchart LR``; see :func:`rxsteps.pictures.renderings.to_mermaid`.

        Returns:
            The Mermaid source (inputs as parallelograms, ids made safe).

        Example:
            >>> print(StepGraph([Step("a", lambda: 1)]).to_mermaid())
            flowchart LR
                s_a["a"]
        """
        return pictures().to_mermaid(self)  # type: ignore[no-any-return]

    def to_text(self, *, ascii_only: bool = False) -> str:
        """The graph as terminal text; see :func:`rxsteps.pictures.renderings.to_text`.

        Args:
            ascii_only: Draw with ASCII characters only.

        Returns:
            The tree drawn by ``networkx.generate_network_text``.

        Example:
            >>> print(StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"])]).to_text())
            ╙── a
                └─╼ b
        """
        return pictures().to_text(self, ascii_only=ascii_only)  # type: ignore[no-any-return]

    def _repr_png_(self) -> bytes | None:
        """The drawing as PNG, for Jupyter; ``None`` without matplotlib."""
        return pictures().repr_png(self)  # type: ignore[no-any-return]

    def _repr_svg_(self) -> str | None:
        """The drawing as SVG, for Jupyter; ``None`` without matplotlib."""
        return pictures().repr_svg(self)  # type: ignore[no-any-return]


class _Plan:
    """A validated graph, compiled: a topological order and each step's dependents.

    Built once per graph (:meth:`StepGraph.validate`) and dropped by ``add()``.
    """

    __slots__ = ("dependents", "order", "priorities", "shape", "steps")

    def __init__(self, order: list[str], dependents: dict[str, list[str]],
                 steps: tuple[Step, ...]) -> None:
        self.order = order
        self.dependents = dependents
        #: the steps in ``order``: what each run builds its nodes from
        self.steps = steps
        #: each step's remaining path, computed at the first run that needs it
        self.priorities: Mapping[str, float] | None = None
        #: each step's dependencies, as a durable run stores them, made at the first
        self.shape: Mapping[str, list[str]] | None = None

    @classmethod
    def compile(cls, steps: Mapping[str, Step], inputs: tuple[str, ...]) -> _Plan:
        """Check ``steps`` and order them (Kahn's algorithm, O(V + E))."""
        # One list of dependents per name: a dependency's list is found in the same
        # look-up that checks it exists; inputs are complete from the start, so a
        # step waits only for its dependencies that are steps.
        dependents: dict[str, list[str]] = {name: [] for name in inputs}
        for step_id in steps:
            dependents[step_id] = []
        find = dependents.get
        waiting: dict[str, int] = {}
        for step_id, step in steps.items():
            depends = step.depends
            for name in depends:
                listed = find(name)
                if listed is None:
                    raise _missing(steps, inputs, step_id, name)
                listed.append(step_id)
            waiting[step_id] = len(depends)
        for name in inputs:
            for dependent in dependents[name]:
                waiting[dependent] -= 1
        order = [step_id for step_id, count in waiting.items() if not count]
        append = order.append
        for step_id in order:  # grows while it is read: a queue, in listing order
            for dependent in dependents[step_id]:
                left = waiting[dependent] - 1
                waiting[dependent] = left
                if not left:
                    append(dependent)
        if len(order) < len(steps):
            raise CycleError(_cycle(steps, waiting))
        for step in steps.values():
            step.check_arity()
            if step.map is not None and step.map in steps and steps[step.map].streaming:
                _check_streaming_map(step, steps)
        _warn_about_zips(steps)
        return cls(order, dependents, tuple(map(steps.__getitem__, order)))


_STREAMING = frozenset(("generator", "asyncgen"))


def _missing(steps: Mapping[str, Step], inputs: tuple[str, ...], step_id: str,
             name: str) -> MissingDependencyError:
    """The error for ``step_id``'s dependency ``name``, which names nothing, with the
    closest names that exist."""
    known = sorted(steps.keys() | set(inputs))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return MissingDependencyError(step_id, name, close)


def _check_streaming_map(step: Step, steps: Mapping[str, Step]) -> None:
    """Refuse what a map over a streaming step cannot mean: a ``latest`` join (which
    value would be the item?), or a second streaming dependency (only one value of
    each other dependency is used, for every item)."""
    assert step.map is not None
    if step.join == "latest":
        raise StepDefinitionError(
            f"step {step.id!r}: map={step.map!r} over a streaming step cannot use "
            "join='latest'; use join='zip' (the default: each value is an item, started "
            f"as it arrives) or join='collect' (the items once {step.map!r} completes)",
            step.id, "map",
        )
    if step.join != "zip":
        return
    for name in step.depends:
        if name != step.map and name in steps and steps[name].streaming:
            raise StepDefinitionError(
                f"step {step.id!r}: map={step.map!r} streams its items, and {name!r} "
                "streams too, but a mapped step takes one value of each other dependency; "
                f"collect {name!r} first (a step with join='collect' between them) or map "
                "over one stream only",
                step.id, "map",
            )


def _warn_about_zips(steps: Mapping[str, Step]) -> None:
    """Warn where a ``zip`` join pairs a known stream with a single value: all but the
    stream's first value would be dropped without a word."""
    if not any(step.kind in _STREAMING for step in steps.values()):
        return  # the common case, in one pass
    for step in steps.values():
        if step.join != "zip" or len(step.depends) < 2:
            continue
        streams = [d for d in step.depends  # a mapped stream's values are its items
                   if d in steps and steps[d].streaming and d != step.map]
        singles = [d for d in step.depends if d not in steps or (not steps[d].streaming
                   and steps[d].kind in ("function", "coroutine"))]
        if streams and singles:
            warnings.warn(
                f"step {step.id!r} zips {streams[0]!r} (a stream) with {singles[0]!r} (one "
                f"value), so only the first value of {streams[0]!r} is used; use "
                "join='latest' (a call per new value, with the latest of the others) or "
                "join='collect' (one call with every value as lists)",
                ZipWarning, stacklevel=stacklevel_outside_package(),
            )


def _cycle(steps: Mapping[str, Step], waiting: dict[str, int]) -> list[str]:
    """A cycle among the steps Kahn's algorithm left over (those still ``waiting``).

    Each of them waits on at least one other left-over step, so walking back from any
    of them along such dependencies must come round to a step already on the path;
    each step is visited once, O(V + E). Returned in edge direction (each step depends
    on the one before it), the first repeated last.
    """
    start = next(step_id for step_id, count in waiting.items() if count)
    path: list[str] = []
    seen: dict[str, int] = {}
    step_id = start
    while step_id not in seen:
        seen[step_id] = len(path)
        path.append(step_id)
        for dependency in steps[step_id].depends:
            if waiting.get(dependency):
                step_id = dependency
                break
    loop = path[seen[step_id]:]
    loop.reverse()
    return [*loop, loop[0]]
