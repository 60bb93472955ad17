"""Overviews of big graphs: steps gathered into a few groups a person can read.

Above :data:`OVERVIEW_ABOVE` steps a DAG drawing of every step is a hairball, and a
timeline with a lane per step is taller than any screen. Both pictures then draw
groups instead, chosen by the first of these that gives at most ``limit`` groups:

1. **repeated steps** — names that differ only in their numbers (``fetch_1`` …
   ``fetch_40``, ``chunk[7]``) become one group ``fetch_# ×40``;
2. **name prefixes** — names that share their first word (``fetch_docs``,
   ``fetch_web`` → ``fetch_… ×2``);
3. **layers** (DAG only) — the graph's topological generations, several per group if
   there are more layers than ``limit``.

For the DAG, a grouping is used only if the graph of groups has no cycle, so it still
reads left to right, and if it makes at least two groups (steps all named alike, such
as ``s0`` … ``s299``, would otherwise be one box); the layers always qualify. Groups
of one step keep the step's own name. Run inputs are never grouped.

Example:
    >>> import networkx as nx
    >>> dag = nx.DiGraph([(f"fetch_{i}", "merge") for i in range(30)])
    >>> groups = group_dag(dag, limit=10)
    >>> sorted(set(groups.values()))
    ['fetch_# ×30', 'merge']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable

import networkx as nx

__all__ = ["OVERVIEW_ABOVE", "group_dag", "group_names"]

#: Graphs with more steps than this are drawn as an overview unless asked otherwise.
OVERVIEW_ABOVE = 80

_DIGITS = re.compile(r"\d+")
_FIRST_WORD = re.compile(r"^(.+?)[_\-./: \[]")


def _repeated(name: str) -> str:
    return _DIGITS.sub("#", name)


def _prefix(name: str) -> str:
    found = _FIRST_WORD.match(name)
    return found.group(1) + "_…" if found else name


def _label(keys: dict[str, str]) -> dict[str, str]:
    """Step to its group's label: the key and a count, or the step's name if alone."""
    sizes = Counter(keys.values())
    return {name: f"{key} ×{sizes[key]}" if sizes[key] > 1 else name
            for name, key in keys.items()}


def group_names(names: Iterable[str], limit: int) -> dict[str, str]:
    """Group ``names`` by repeated numbers, else by first word, into ``limit`` groups.

    If neither keeps to ``limit``, the smallest groups of the prefix grouping are
    merged into one ``other steps`` group.

    Args:
        names: Step ids.
        limit: Groups, at most.

    Returns:
        Each name's group label.

    Example:
        >>> group_names(["fetch_docs", "fetch_web", "rank"], limit=2)
        {'fetch_docs': 'fetch_… ×2', 'fetch_web': 'fetch_… ×2', 'rank': 'rank'}
    """
    names = list(names)
    for key in (_repeated, _prefix):
        labels = _label({name: key(name) for name in names})
        if len(set(labels.values())) <= limit:
            return labels
    labels = _label({name: _prefix(name) for name in names})
    sizes = Counter(labels.values())
    keep = {label for label, _ in sizes.most_common(max(limit - 1, 1))}
    others = sum(n for label, n in sizes.items() if label not in keep)
    return {name: label if label in keep else f"other steps ×{others}"
            for name, label in labels.items()}


def group_dag(dag: nx.DiGraph, limit: int, *, pinned: Collection[str] = (),
              layers: int | None = None) -> dict[str, str]:
    """Group the nodes of ``dag`` into at most ``limit`` groups that keep it acyclic.

    Args:
        dag: A directed acyclic graph (nodes are names).
        limit: Groups, at most (``pinned`` nodes not counted).
        pinned: Nodes that stay alone (run inputs).
        layers: Groups, at most, when grouping by layers (default: ``limit``).

    Returns:
        Each node's group label (a pinned node's is its own name).

    Example:
        >>> import networkx as nx
        >>> chain = nx.DiGraph([(f"a{i}", f"b{i}") for i in range(5)] +
        ...                    [(f"b{i}", f"a{i + 1}") for i in range(4)])
        >>> sorted(set(group_dag(chain, limit=4).values()))  # a# and b# would cycle
        ['layer 10 · 1 step', 'layers 1–3 · 3 steps', 'layers 4–6 · 3 steps', \
'layers 7–9 · 3 steps']
    """
    steps = [n for n in dag if n not in pinned]
    keyings: list[Callable[[str], str]] = [_repeated, _prefix]
    for key in keyings:
        labels = _label({name: key(name) for name in steps})
        count = len(set(labels.values()))
        # One group of many steps (``s0`` … ``s299``) would draw as a single box that
        # shows nothing; the layers then give a picture of the graph's shape.
        if (count > 1 or len(steps) < 2) and count <= limit and _acyclic(dag, labels):
            return {**labels, **{n: n for n in pinned if n in dag}}
    alone = {n: n for n in pinned if n in dag}
    return {**_by_layers(dag, steps, limit if layers is None else layers), **alone}


def _acyclic(dag: nx.DiGraph, labels: dict[str, str]) -> bool:
    quotient = nx.DiGraph()
    quotient.add_edges_from(
        (labels[u], labels[v]) for u, v in dag.edges
        if u in labels and v in labels and labels[u] != labels[v]
    )
    return bool(nx.is_directed_acyclic_graph(quotient))


def _by_layers(dag: nx.DiGraph, steps: list[str], limit: int) -> dict[str, str]:
    layer: dict[str, int] = {}
    for depth, generation in enumerate(nx.topological_generations(dag.subgraph(steps))):
        for name in generation:
            layer[name] = depth
    count = max(layer.values(), default=-1) + 1
    per = max(1, -(-count // max(limit, 1)))
    chunk = {name: depth // per for name, depth in layer.items()}
    sizes = Counter(chunk.values())

    def label(k: int) -> str:
        first, last = k * per + 1, min(count, (k + 1) * per)
        span = f"layer {first}" if first == last else f"layers {first}–{last}"
        return f"{span} · {sizes[k]} step{'s' * (sizes[k] != 1)}"

    return {name: label(k) for name, k in chunk.items()}
