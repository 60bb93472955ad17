"""A layered, left-to-right layout for DAG pictures, in plain Python (no matplotlib).

The classic Sugiyama recipe, kept small:

1. **Layers** come from ``networkx.topological_generations``; a step with no
   dependencies is then pulled right, next to its first dependent, so it does not drag
   a long edge across the picture. Pinned nodes (run inputs) stay in the first layer.
2. **Long edges** get one invisible waypoint per layer they cross, so they are routed
   around boxes instead of through them.
3. **Order within a layer** is improved by barycenter sweeps (left to right, then back),
   keeping the order with the fewest edge crossings seen.
4. **Vertical positions** are pulled towards the mean of each node's neighbours, then
   separated by the least-squares placement that keeps every box apart (pool adjacent
   violators), so edges run as straight as the boxes allow.
5. **Columns** are as wide as their widest box, and the gap between two columns grows
   with how far their edges must climb.

Coordinates are in inches, ``y`` pointing up, with the origin at the bottom-left corner
of a ``width`` × ``height`` picture.

Example:
    >>> import networkx as nx
    >>> dag = nx.DiGraph([("q", "search"), ("q", "docs"), ("search", "answer"),
    ...                   ("docs", "answer")])
    >>> layout = layered_layout(dag, {n: (1.0, 0.4) for n in dag})
    >>> layout.layers
    [['q'], ['search', 'docs'], ['answer']]
    >>> layout.positions["search"][1] > layout.positions["docs"][1]  # search on top
    True
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise

import networkx as nx

__all__ = ["Layout", "layered_layout"]

_MARGIN = 0.25  # inches around the picture
_GAP_REAL = 0.28  # vertical space between two boxes
_GAP_DUMMY = 0.16  # between a box and a passing edge
_GAP_TWO_DUMMIES = 0.1  # between two passing edges
_SWEEPS = 24
_ROUNDS = 8

Point = tuple[float, float]


@dataclass(frozen=True)
class Layout:
    """Where every node and edge of a layered drawing goes.

    Attributes:
        positions: Node to the centre of its box.
        sizes: Node to its box's ``(width, height)``.
        routes: Edge ``(u, v)`` to the points of its polyline, from the right side of
            ``u``'s box to the left side of ``v``'s; consecutive points are meant to be
            joined by horizontal S-curves.
        layers: Real nodes per layer, top to bottom.
        width, height: Size of the whole picture, margins included.

    Example:
        >>> import networkx as nx
        >>> layout = layered_layout(nx.DiGraph([("a", "b")]), {"a": (1, 0.5), "b": (1, 0.5)})
        >>> [(round(x, 2), round(y, 2)) for x, y in layout.routes[("a", "b")]]
        [(1.25, 0.5), (1.95, 0.5)]
    """

    positions: dict[Hashable, Point]
    sizes: dict[Hashable, Point]
    routes: dict[tuple[Hashable, Hashable], list[Point]]
    layers: list[list[Hashable]]
    width: float
    height: float


@dataclass
class _Node:
    key: Hashable | None  # None for a waypoint
    layer: int
    width: float
    height: float
    preds: list[int] = field(default_factory=list)
    succs: list[int] = field(default_factory=list)


def layered_layout(
    dag: nx.DiGraph, sizes: Mapping[Hashable, Point], *, pinned: Collection[Hashable] = ()
) -> Layout:
    """Lay ``dag`` out left to right, one column per layer.

    Args:
        dag: A directed acyclic graph; edges point left to right.
        sizes: ``(width, height)`` of every node's box, in inches.
        pinned: Nodes kept in the first layer (say, run inputs).

    Returns:
        The :class:`Layout`.

    Raises:
        networkx.NetworkXUnfeasible: ``dag`` has a cycle.

    Example:
        >>> import networkx as nx
        >>> layout = layered_layout(nx.DiGraph([("a", "b")]), {"a": (1, 0.5), "b": (1, 0.5)})
        >>> [round(layout.positions[n][0], 2) for n in "ab"]
        [0.75, 2.45]
    """
    nodes, chains = _build(dag, sizes, set(pinned))
    layers = _order(nodes)
    ys = _assign_y(nodes, layers)
    xs, column_widths, width = _assign_x(nodes, layers, ys)
    low = min((ys[n] - nodes[n].height / 2 for layer in layers for n in layer), default=0.0)
    high = max((ys[n] + nodes[n].height / 2 for layer in layers for n in layer), default=0.0)
    height = high - low + 2 * _MARGIN

    def up(n: int) -> float:
        return high + _MARGIN - ys[n]

    positions = {nodes[n].key: (xs[nodes[n].layer], up(n)) for n in ys if nodes[n].key is not None}
    routes: dict[tuple[Hashable, Hashable], list[Point]] = {}
    out_ports = _ports(nodes, chains, ys, outgoing=True)
    in_ports = _ports(nodes, chains, ys, outgoing=False)
    for edge, chain in chains.items():
        head, tail = nodes[chain[0]], nodes[chain[-1]]
        y_out, y_in = up(chain[0]) - out_ports[edge], up(chain[-1]) - in_ports[edge]
        points = [(xs[head.layer] + head.width / 2, y_out)]
        _extend(points, (xs[head.layer] + column_widths[head.layer] / 2, y_out))
        for n in chain[1:-1]:
            x, half = xs[nodes[n].layer], column_widths[nodes[n].layer] / 2
            points += [(x - half, up(n)), (x + half, up(n))]
        points.append((xs[tail.layer] - column_widths[tail.layer] / 2, y_in))
        _extend(points, (xs[tail.layer] - tail.width / 2, y_in))
        routes[edge] = points
    real = [[nodes[n].key for n in layer if nodes[n].key is not None] for layer in layers]
    return Layout(
        positions=positions,
        sizes={key: (float(w), float(h)) for key, (w, h) in sizes.items()},
        routes=routes,
        layers=[layer for layer in real if layer],
        width=width,
        height=height,
    )


def _extend(points: list[Point], point: Point) -> None:
    """Append ``point`` unless it is where the route already is (no empty segments)."""
    if abs(points[-1][0] - point[0]) > 1e-6 or abs(points[-1][1] - point[1]) > 1e-6:
        points.append(point)


def _build(
    dag: nx.DiGraph, sizes: Mapping[Hashable, Point], pinned: set[Hashable]
) -> tuple[list[_Node], dict[tuple[Hashable, Hashable], list[int]]]:
    """Layer the nodes and split long edges into chains through waypoints."""
    layer: dict[Hashable, int] = {}
    for depth, generation in enumerate(nx.topological_generations(dag)):
        for key in generation:
            layer[key] = depth
    for key in dag:
        if dag.in_degree(key) == 0 and dag.out_degree(key) and key not in pinned:
            layer[key] = min(layer[s] for s in dag.successors(key)) - 1
    nodes: list[_Node] = []
    index: dict[Hashable, int] = {}
    for key in nx.topological_sort(dag):  # a stable first order within each layer
        width, height = sizes[key]
        index[key] = len(nodes)
        nodes.append(_Node(key, layer[key], float(width), float(height)))
    chains: dict[tuple[Hashable, Hashable], list[int]] = {}
    for u, v in dag.edges:
        chain = [index[u]]
        for depth in range(layer[u] + 1, layer[v]):
            chain.append(len(nodes))
            nodes.append(_Node(None, depth, 0.0, 0.0))
        chain.append(index[v])
        for a, b in pairwise(chain):
            nodes[a].succs.append(b)
            nodes[b].preds.append(a)
        chains[(u, v)] = chain
    return nodes, chains


def _order(nodes: list[_Node]) -> list[list[int]]:
    """Order every layer by barycenter sweeps; keep the order with fewest crossings."""
    count = max((node.layer for node in nodes), default=-1) + 1
    layers: list[list[int]] = [[] for _ in range(count)]
    for n, node in enumerate(nodes):
        layers[node.layer].append(n)
    best, fewest = [list(layer) for layer in layers], _crossings(nodes, layers)
    for sweep in range(_SWEEPS):
        if fewest == 0:
            break
        down = sweep % 2 == 0
        for i in range(1, count) if down else range(count - 2, -1, -1):
            where = {n: k for k, n in enumerate(layers[i - 1 if down else i + 1])}
            here = {n: k for k, n in enumerate(layers[i])}

            def barycenter(n: int, where: dict[int, int] = where, here: dict[int, int] = here,
                           down: bool = down) -> float:
                near = nodes[n].preds if down else nodes[n].succs
                if not near:
                    return float(here[n])
                return sum(where[m] for m in near) / len(near)

            layers[i].sort(key=barycenter)
        _transpose(nodes, layers)
        crossings = _crossings(nodes, layers)
        if crossings < fewest:
            best, fewest = [list(layer) for layer in layers], crossings
    return best


def _transpose(nodes: list[_Node], layers: list[list[int]]) -> None:
    """Swap neighbours within a layer while that removes crossings (a few passes)."""
    for _ in range(4):
        changed = False
        for i, layer in enumerate(layers):
            above = {n: k for k, n in enumerate(layers[i - 1])} if i else {}
            below = {n: k for k, n in enumerate(layers[i + 1])} if i + 1 < len(layers) else {}
            near = {
                n: ([above[m] for m in nodes[n].preds], [below[m] for m in nodes[n].succs])
                for n in layer
            }
            for k in range(len(layer) - 1):
                (up_a, down_a), (up_b, down_b) = near[layer[k]], near[layer[k + 1]]
                keep = _pair_crossings(up_a, up_b) + _pair_crossings(down_a, down_b)
                swap = _pair_crossings(up_b, up_a) + _pair_crossings(down_b, down_a)
                if swap < keep:
                    layer[k], layer[k + 1] = layer[k + 1], layer[k]
                    changed = True
        if not changed:
            return


def _pair_crossings(first: list[int], second: list[int]) -> int:
    """Crossings between the edges of two neighbours, the one with ``first`` on top."""
    return sum(1 for a in first for b in second if a > b)


def _crossings(nodes: list[_Node], layers: list[list[int]]) -> int:
    """Edge crossings between consecutive layers (inversion count, O(E log E))."""
    total = 0
    for upper, lower in pairwise(layers):
        where = {n: k for k, n in enumerate(lower)}
        ends = sorted(
            (k, where[s]) for k, n in enumerate(upper) for s in nodes[n].succs
        )
        seen: list[int] = []
        for _, target in ends:
            total += len(seen) - bisect.bisect_right(seen, target)
            bisect.insort(seen, target)
    return total


def _gap(a: _Node, b: _Node) -> float:
    if a.key is not None and b.key is not None:
        extra = _GAP_REAL
    elif a.key is None and b.key is None:
        extra = _GAP_TWO_DUMMIES
    else:
        extra = _GAP_DUMMY
    return (a.height + b.height) / 2 + extra


def _assign_y(nodes: list[_Node], layers: list[list[int]]) -> dict[int, float]:
    """Vertical centres (pointing down): pull towards neighbours, keep boxes apart."""
    ys: dict[int, float] = {}
    for layer in layers:
        gaps = [_gap(nodes[a], nodes[b]) for a, b in pairwise(layer)]
        stacked = _pack([0.0] * len(layer), gaps)
        middle = (stacked[0] + stacked[-1]) / 2 if stacked else 0.0
        ys.update((n, y - middle) for n, y in zip(layer, stacked, strict=True))
    for round_ in range(_ROUNDS):
        both = round_ >= _ROUNDS - 2
        for down in (True, False):
            for layer in layers if down else reversed(layers):
                desired = []
                for n in layer:
                    near = nodes[n].preds + nodes[n].succs if both else (
                        nodes[n].preds if down else nodes[n].succs
                    )
                    desired.append(sum(ys[m] for m in near) / len(near) if near else ys[n])
                gaps = [_gap(nodes[a], nodes[b]) for a, b in pairwise(layer)]
                ys.update(zip(layer, _pack(desired, gaps), strict=True))
    return ys


def _pack(desired: list[float], gaps: list[float]) -> list[float]:
    """Positions closest to ``desired`` (least squares) with ``p[i+1] - p[i] >= gaps[i]``."""
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    blocks: list[list[float]] = []  # [mean, size] of pooled runs
    for value, offset in zip(desired, offsets, strict=True):
        blocks.append([value - offset, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, size = blocks.pop()
            total = blocks[-1][1] + size
            blocks[-1][0] = (blocks[-1][0] * blocks[-1][1] + mean * size) / total
            blocks[-1][1] = total
    flat = [mean for mean, size in blocks for _ in range(int(size))]
    return [z + offset for z, offset in zip(flat, offsets, strict=True)]


def _assign_x(
    nodes: list[_Node], layers: list[list[int]], ys: Mapping[int, float]
) -> tuple[list[float], list[float], float]:
    """Column centres and widths; the gap between columns grows with the edges' climb."""
    widths = [max((nodes[n].width for n in layer), default=0.0) or 0.2 for layer in layers]
    xs: list[float] = []
    x = _MARGIN
    for i in range(len(layers)):
        if i:
            climb = max(
                (abs(ys[s] - ys[n]) for n in layers[i - 1] for s in nodes[n].succs), default=0.0
            )
            x += min(1.8, max(0.7, 0.55 + 0.12 * climb))
        xs.append(x + widths[i] / 2)
        x += widths[i]
    return xs, widths, x + _MARGIN


def _ports(
    nodes: list[_Node],
    chains: Mapping[tuple[Hashable, Hashable], list[int]],
    ys: Mapping[int, float],
    *,
    outgoing: bool,
) -> dict[tuple[Hashable, Hashable], float]:
    """Spread the edges leaving (or entering) a box along its side, in target order."""
    by_node: dict[int, list[tuple[float, tuple[Hashable, Hashable]]]] = {}
    for edge, chain in chains.items():
        own, other = (chain[0], chain[1]) if outgoing else (chain[-1], chain[-2])
        by_node.setdefault(own, []).append((ys[other], edge))
    ports: dict[tuple[Hashable, Hashable], float] = {}
    for n, ends in by_node.items():
        ends.sort(key=lambda end: end[0])
        step = min(0.07, 0.6 * nodes[n].height / max(len(ends) - 1, 1))
        for k, (_, edge) in enumerate(ends):
            ports[edge] = (k - (len(ends) - 1) / 2) * step
    return ports
