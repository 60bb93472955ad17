"""DAG pictures: a step graph drawn left to right with matplotlib, optionally coloured
by how a run went.

Steps are rounded boxes, run inputs grey pills; columns are the graph's topological
generations (see :mod:`rxsteps.pictures.layout`). The figure is sized to the graph — a column
per generation, a row per box — so labels keep their size and never overlap. Given a
:class:`~rxsteps.RunResult`, boxes are coloured by state (see
:mod:`rxsteps.pictures.palette`, shared with the timeline), show how long each step
took, and the run's critical path is outlined.

A graph of more than :data:`~rxsteps.pictures.overview.OVERVIEW_ABOVE` steps is drawn
as an overview — repeated steps, name prefixes or layers gathered into groups (see
:mod:`rxsteps.pictures.overview`), each box counting its steps by state — unless
``overview=False`` asks for every step. With ``validate=False`` a graph is drawn as its
steps declare it, even one with a cycle (highlighted in vermillion) or a dependency
that names nothing (a dashed ``missing`` box): the picture a user needs to fix it.

matplotlib is optional (the draw extra: ``pip install -e '.[draw]'`` in a clone) and
imported only when a picture is drawn; figures are :class:`matplotlib.figure.Figure`
objects — no pyplot, no GUI, no global state — that Jupyter shows inline, saved as
PNG, SVG or PDF.

Example:
    >>> from rxsteps import Step, StepGraph
    >>> graph = StepGraph([Step("search", lambda q: q, ["query"]),
    ...                    Step("answer", lambda s: s, ["search"])], inputs=["query"])
    >>> figure = draw_graph(graph)
    >>> sorted(p.get_gid() for p in figure.axes[0].patches if p.get_gid().startswith("node"))
    ['node:answer', 'node:query', 'node:search']
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import networkx as nx

from ..critical import critical_edges
from ..errors import CycleError, GraphError
from .figures import (
    check_fonts,
    drawing_fonts,
    figure_of,
    format_seconds,
    new_figure,
    picture_format,
    require_matplotlib,
    save_figure,
    text_width,
    wrap_label,
)
from .layout import Layout, layered_layout
from .overview import OVERVIEW_ABOVE, group_dag
from .palette import CRITICAL_COLOR, INPUT, PALETTE, STEP, Style, state_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..graph import StepGraph
    from ..result import RunResult

__all__ = ["STATUS_STYLES", "Style", "draw_graph", "draws_overview"]

_FONT = 10.0  # points
_PAD_X, _PAD_Y = 0.12, 0.07  # inches inside a box
_GROUPS = 36  # groups in an overview, at most
_LAYER_GROUPS = 8  # or, when grouped by layer (each group is a wide box)
_STRIP = 0.09  # height of an overview box's state strip, inches
_EDGE_COLOR = "#8d99ae"
_CYCLE_COLOR = PALETTE["failed"].edge
_MISSING = Style("missing", "#ffffff", _CYCLE_COLOR, _CYCLE_COLOR, "dashed")

#: Box styles by state (the shared :data:`~rxsteps.pictures.palette.PALETTE`).
STATUS_STYLES: dict[str, Style] = PALETTE


@dataclass
class _Box:
    """One box to draw: a step, an input, a missing name, or a group of steps."""

    name: str
    lines: list[str]
    style: Style
    detail: str = ""
    pill: bool = False
    ring: str | None = None  # a thick outline: the critical path, or a cycle
    strip: list[tuple[str, int]] = field(default_factory=list)
    kind: str = "node"  # the gid prefix: node or group


@dataclass
class _Picture:
    """What :func:`draw_graph` draws: boxes, the DAG between them, and the extras."""

    boxes: dict[str, _Box]
    dag: nx.DiGraph
    pinned: list[str]
    hot_edges: set[tuple[str, str]] = field(default_factory=set)
    back_edges: list[tuple[str, str]] = field(default_factory=list)
    cycle_edges: set[tuple[str, str]] = field(default_factory=set)
    weights: dict[tuple[str, str], int] = field(default_factory=dict)
    title: str = ""
    states: list[str] = field(default_factory=list)


def draw_graph(
    graph: StepGraph,
    path: str | os.PathLike[str] | None = None,
    *,
    result: RunResult | None = None,
    ax: Axes | None = None,
    overview: bool | None = None,
    validate: bool = True,
) -> Figure:
    """Draw ``graph`` left to right; colour it by ``result`` if given.

    Args:
        graph: The step graph.
        path: Also write the picture here (``.png``, ``.svg`` or ``.pdf``).
        result: A run of this graph: boxes get state colours and timings, the
            critical path is outlined, and a legend and a summary title are added.
        ax: Draw into these axes instead of a new figure (fonts are scaled to fit).
        overview: ``True`` draws groups of steps, ``False`` every step; ``None`` (the
            default) draws an overview above
            :data:`~rxsteps.pictures.overview.OVERVIEW_ABOVE` steps.
        validate: ``False`` draws the steps as they are, without validating the
            graph: a cycle is drawn and outlined in vermillion, a dependency that
            names nothing is a dashed ``missing`` box.

    Returns:
        The figure (``ax.figure`` when ``ax`` is given).

    Raises:
        ImportError: matplotlib is not installed.
        GraphError: The graph is invalid (and ``validate`` is true).
        OptionError: ``path`` has an unsupported extension (also a ``ValueError``).

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"])])
        >>> figure = draw_graph(graph, result=run(graph))
        >>> [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
        ['succeeded', 'critical path']
    """
    require_matplotlib()
    if path is not None:
        picture_format(path)  # a bad extension is refused before drawing
    picture = _plan(graph, result, overview, validate)
    with drawing_fonts():
        figure = _render(picture, ax)
    check_fonts(figure)
    if path is not None:
        save_figure(figure, path)
    return figure


# -- what to draw -------------------------------------------------------------------------


def draws_overview(graph: StepGraph, overview: bool | None = None) -> bool:
    """Whether :func:`draw_graph` with this ``overview=`` draws groups of steps.

    Example:
        >>> from rxsteps import Step, StepGraph
        >>> graph = StepGraph([Step("a", lambda: 1)])
        >>> draws_overview(graph), draws_overview(graph, overview=True)
        (False, True)
    """
    return len(graph) > OVERVIEW_ABOVE if overview is None else overview


def _plan(graph: StepGraph, result: RunResult | None, overview: bool | None,
          validate: bool) -> _Picture:
    dag, back, missing = (graph.to_networkx(), [], set()) if validate else _as_declared(graph)
    overview = draws_overview(graph, overview)
    critical = result.critical_path()[0] if result is not None and validate else []
    if overview:
        return _overview(graph, dag, result, critical)
    details = _details(result) if result is not None else {}
    boxes: dict[str, _Box] = {}
    for node in dag:
        name = str(node)
        boxes[name] = _step_box(name, graph, result, details.get(name, ""), missing)
        if name in critical:
            boxes[name].ring = CRITICAL_COLOR
    picture = _Picture(boxes, dag, list(graph.inputs), critical_edges(critical))
    picture.states = [state_of(result, s) for s in graph] if result is not None else []
    if back or missing:
        _mark_cycles(picture, graph, back)
    elif result is not None:
        picture.title = _title(result, critical)
    return picture


def _as_declared(graph: StepGraph) -> tuple[nx.DiGraph, list[tuple[str, str]], set[str]]:
    """The graph as its steps declare it, made acyclic for the layout: the DAG, the
    edges taken out of it (one per cycle, at least), and the names that are missing."""
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.inputs)
    dag.add_nodes_from(graph)
    missing: set[str] = set()
    for name in graph:
        for dep in graph[name].depends:
            if dep not in dag:
                missing.add(dep)
            dag.add_edge(dep, name)
    back = _back_edges(dag)
    dag.remove_edges_from(back)
    return dag, back, missing


def _back_edges(dag: nx.DiGraph) -> list[tuple[str, str]]:
    """Edges that close a cycle in a depth-first search, in the graph's order."""
    state: dict[Hashable, int] = {}  # 1 on the stack, 2 done
    back: list[tuple[str, str]] = []
    for root in dag:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(dag.successors(root)))]
        while stack:
            node, successors = stack[-1]
            for nxt in successors:
                if state.get(nxt) == 1:
                    back.append((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(dag.successors(nxt))))
                    break
            else:
                state[node] = 2
                stack.pop()
    return back


def _mark_cycles(picture: _Picture, graph: StepGraph, back: list[tuple[str, str]]) -> None:
    full = picture.dag.copy()
    full.add_edges_from(back)
    picture.back_edges = back
    cycles = [c for c in nx.strongly_connected_components(full)
              if len(c) > 1 or any(u == v for u, v in back if u in c)]
    for members in cycles:
        for name in members:
            picture.boxes[str(name)].ring = _CYCLE_COLOR
        picture.cycle_edges |= {(str(u), str(v)) for u, v in full.edges
                                if u in members and v in members}
    if cycles:
        picture.title = str(CycleError(_declared_cycle(graph, full)))
    else:
        picture.title = "missing dependencies"


def _declared_cycle(graph: StepGraph, full: nx.DiGraph) -> list[str]:
    """The cycle :meth:`~rxsteps.StepGraph.validate` reports, in its rotation, so the
    picture's title and the error name it alike; any cycle of ``full`` when a missing
    dependency is what validation reports first."""
    try:
        graph.validate()
    except CycleError as error:
        return error.cycle
    except GraphError:
        pass
    path = nx.find_cycle(full)
    return [str(u) for u, _ in path] + [str(path[0][0])]


def _step_box(name: str, graph: StepGraph, result: RunResult | None, detail: str,
              missing: set[str]) -> _Box:
    if name in missing:
        return _Box(name, wrap_label(name), _MISSING, "missing", kind="node")
    if name in graph.inputs:
        return _Box(name, wrap_label(name), INPUT, pill=True)
    if result is None:
        return _Box(name, wrap_label(name), STEP)
    state = state_of(result, name)
    words = "" if state == "succeeded" else PALETTE[state].label
    detail = " · ".join(part for part in (detail, words) if part)
    label = name
    if graph[name].map is not None:  # a mapped step: one box, with its item count
        items = result.partial(name)
        label = f"{name} ×{len(items)}" if items is not None else name
    return _Box(name, wrap_label(label), PALETTE[state], detail)


def _overview(graph: StepGraph, dag: nx.DiGraph, result: RunResult | None,
              critical: list[str]) -> _Picture:
    groups = group_dag(dag, _GROUPS, pinned=graph.inputs, layers=_LAYER_GROUPS)
    members: dict[str, list[str]] = {}
    for node in dag:
        members.setdefault(groups[node], []).append(str(node))
    quotient = nx.DiGraph()
    quotient.add_nodes_from(members)
    weights: Counter[tuple[str, str]] = Counter(
        (groups[u], groups[v]) for u, v in dag.edges if groups[u] != groups[v]
    )
    quotient.add_edges_from(weights)
    hot = {groups[step] for step in critical}
    details = _details(result) if result is not None else {}
    boxes = {label: _group_box(label, names, graph, result, details) for label, names
             in members.items()}
    for label in hot:
        boxes[label].ring = CRITICAL_COLOR
    hot_edges = {(groups[a], groups[b]) for a, b in pairwise(critical)
                 if groups[a] != groups[b]}
    picture = _Picture(boxes, quotient, list(graph.inputs), hot_edges, weights=dict(weights))
    picture.states = [state_of(result, s) for s in graph] if result is not None else []
    count = len(members) - len(graph.inputs)
    # the hint names no switch: overview=False in Python, --full on the command line
    words = (f"overview of {len(graph)} step{'s' * (len(graph) != 1)} in {count} "
             f"group{'s' * (count != 1)} (every step on request)")
    run = _title(result, critical) if result is not None else ""
    picture.title = f"{run}  ·  {words}" if run else words
    return picture


def _group_box(label: str, names: list[str], graph: StepGraph, result: RunResult | None,
               details: dict[str, str]) -> _Box:
    if len(names) == 1:
        return _step_box(names[0], graph, result, details.get(names[0], ""), set())
    lines = wrap_label(label, width=24)
    if result is None:
        shown = f"{names[0]}, … {names[-1]}" if len(names) > 2 else ", ".join(names)
        detail = shown if label.startswith("layer") else ""
        return _Box(label, lines, STEP, detail, kind="group")
    counts = Counter(state_of(result, name) for name in names)
    strip = [(state, counts[state]) for state in PALETTE if counts[state]]
    style = PALETTE[strip[0][0]] if len(strip) == 1 else Style("mixed", "#ffffff", "#5f6b7a")
    detail = " · ".join(f"{n} {PALETTE[state].label}" for state, n in strip)
    return _Box(label, lines, style, detail, strip=strip, kind="group")


def _details(result: RunResult) -> dict[str, str]:
    """A second line per step that ran: its time, and retries or calls if any."""
    tries: dict[str, int] = {}
    calls: dict[str, int] = {}
    for attempt in result.attempts:
        tries[attempt.step] = max(tries.get(attempt.step, 0), attempt.attempt)
        calls[attempt.step] = max(calls.get(attempt.step, 0), attempt.index + 1)
    out: dict[str, str] = {}
    for step, began in result.started.items():
        if step in result.ended:
            text = format_seconds(result.ended[step] - began)
            if tries.get(step, 1) > 1:
                text += f" · {tries[step]} tries"
            if calls.get(step, 1) > 1:
                text += f" · {calls[step]} calls"
            out[step] = text
    return out


def _title(result: RunResult, critical: list[str]) -> str:
    counts = Counter(state_of(result, step) for step in result.status)
    text = ", ".join(f"{counts[state]} {PALETTE[state].label}" for state in PALETTE
                     if counts[state])
    text += f"  ·  {format_seconds(result.duration)}"
    if critical:
        text += f"  ·  critical path {format_seconds(result.critical_path()[1])}"
    return text


# -- drawing ------------------------------------------------------------------------------


def _text_width(lines: list[str], size: float) -> float:
    return max((text_width(line, size) for line in lines), default=0.0)


def _box_size(box: _Box) -> tuple[float, float]:
    width = max(_text_width(box.lines, _FONT), _text_width([box.detail], _FONT * 0.8))
    height = len(box.lines) * _FONT * 1.2 / 72 + (_FONT * 0.8 * 1.25 / 72 if box.detail else 0)
    return max(width + 2 * _PAD_X, 0.7), height + 2 * _PAD_Y + (_STRIP if box.strip else 0.0)


def _render(picture: _Picture, ax: Axes | None) -> Figure:
    sizes: dict[Hashable, tuple[float, float]] = {
        name: _box_size(box) for name, box in picture.boxes.items()}
    layout = layered_layout(picture.dag, sizes, pinned=picture.pinned)
    handles = _legend_handles(picture)
    legend_w, legend_h, columns = _legend_size(handles, layout.width)
    title = picture.title
    width = max(layout.width, legend_w, _text_width([title], _FONT * 1.1) + 0.5, 2.0)
    top = (0.45 if title else 0.0) + (0.45 if picture.back_edges else 0.0)
    height = layout.height + legend_h + top
    if ax is None:
        figure = new_figure(width, height, min(100.0, 30000.0 / max(width, height)))
        ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
        scale = 1.0
    else:
        figure = figure_of(ax)
        where = ax.get_position()
        scale = min(where.width * figure.get_figwidth() / width,
                    where.height * figure.get_figheight() / height)
        ax.set_aspect("equal")
    ax.set_xlim(0.0, width)
    ax.set_ylim(0.0, height)
    ax.set_axis_off()
    shift = ((width - layout.width) / 2, legend_h)
    _draw_edges(ax, picture, layout, shift, scale)
    _draw_back_edges(ax, picture, layout, shift, scale)
    for name, box in picture.boxes.items():
        x, y = layout.positions[name]
        _draw_box(ax, box, (x + shift[0], y + shift[1]), layout.sizes[name], scale)
    if title:
        ax.text(0.2, height - 0.25, title, fontsize=_FONT * 1.1 * scale, va="center",
                color=_CYCLE_COLOR if picture.back_edges else "#1f2933", gid="title",
                parse_math=False)
    if handles:
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0),
                  ncol=columns, frameon=False, fontsize=_FONT * 0.9 * scale,
                  handlelength=1.8, columnspacing=1.4)
    return figure


def _draw_box(ax: Axes, box: _Box, centre: tuple[float, float], size: tuple[float, float],
              scale: float) -> None:
    from matplotlib.patches import FancyBboxPatch, Rectangle

    x, y = centre
    width, height = size
    rounding = height / 2 if box.pill else 0.08
    ax.add_patch(FancyBboxPatch(
        (x - width / 2, y - height / 2), width, height,
        boxstyle=f"round,pad=0,rounding_size={rounding}",
        facecolor=box.style.fill, edgecolor=box.ring or box.style.edge,
        linewidth=(2.6 if box.ring else 1.2) * scale,
        linestyle=box.style.dashes, zorder=3, gid=f"{box.kind}:{box.name}",
    ))
    label_h = len(box.lines) * _FONT * 1.2 / 72
    detail_h = _FONT * 0.8 * 1.25 / 72 if box.detail else 0.0
    strip_h = _STRIP if box.strip else 0.0
    top = y + (label_h + detail_h + strip_h) / 2
    ax.text(x, top - label_h / 2, "\n".join(box.lines), ha="center", va="center",
            fontsize=_FONT * scale, color=box.style.text, linespacing=1.2, zorder=4,
            fontstyle="italic" if box.pill else "normal", gid=f"label:{box.name}",
            parse_math=False)
    if box.detail:
        ax.text(x, top - label_h - detail_h / 2, box.detail, ha="center", va="center",
                fontsize=_FONT * 0.8 * scale, color="#52606d", zorder=4,
                gid=f"detail:{box.name}", parse_math=False)
    if box.strip:
        total = sum(n for _, n in box.strip)
        left, inner = x - width / 2 + _PAD_X, width - 2 * _PAD_X
        bottom = top - label_h - detail_h - strip_h + 0.015
        for state, n in box.strip:
            part = inner * n / total
            ax.add_patch(Rectangle((left, bottom), part, strip_h - 0.03,
                                   facecolor=PALETTE[state].edge, linewidth=0, zorder=4,
                                   gid=f"strip:{box.name}:{state}"))
            left += part


def _draw_edges(ax: Axes, picture: _Picture, layout: Layout, shift: tuple[float, float],
                scale: float) -> None:
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path as MplPath

    for (u, v), points in layout.routes.items():
        pts = [(x + shift[0], y + shift[1]) for x, y in points]
        vertices = [pts[0]]
        for (x0, y0), (x1, y1) in pairwise(pts):
            middle = (x0 + x1) / 2
            vertices += [(middle, y0), (middle, y1), (x1, y1)]
        codes = [MplPath.MOVETO] + [MplPath.CURVE4] * (len(vertices) - 1)
        edge = (str(u), str(v))
        hot = edge in picture.hot_edges
        cycle = edge in picture.cycle_edges
        thick = 1.0 + 0.6 * math.log2(picture.weights.get(edge, 1))
        color = _CYCLE_COLOR if cycle else CRITICAL_COLOR if hot else _EDGE_COLOR
        ax.add_patch(FancyArrowPatch(
            path=MplPath(vertices, codes), arrowstyle="-|>,head_length=0.6,head_width=0.3",
            mutation_scale=(11 if hot or cycle else 9) * scale, shrinkA=0, shrinkB=0,
            color=color, linewidth=(2.4 if hot or cycle else thick) * scale,
            zorder=2 if hot or cycle else 1, gid=f"edge:{u}->{v}",
        ))


def _draw_back_edges(ax: Axes, picture: _Picture, layout: Layout,
                     shift: tuple[float, float], scale: float) -> None:
    """The edges that close a cycle: dashed vermillion curves over the top of the picture."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path as MplPath

    top = layout.height + shift[1] + 0.3
    for u, v in picture.back_edges:
        (xu, yu), (xv, yv) = layout.positions[u], layout.positions[v]
        quarter = layout.sizes[u][0] / 4 if u == v else 0.0
        start = (xu + shift[0] + quarter, yu + shift[1] + layout.sizes[u][1] / 2)
        end = (xv + shift[0] - quarter, yv + shift[1] + layout.sizes[v][1] / 2)
        curve = MplPath([start, (start[0], top), (end[0], top), end],
                        [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4])
        ax.add_patch(FancyArrowPatch(
            path=curve, arrowstyle="-|>,head_length=0.6,head_width=0.3",
            mutation_scale=11 * scale, shrinkA=0, shrinkB=0, color=_CYCLE_COLOR,
            linewidth=2.4 * scale, linestyle="dashed", zorder=5, gid=f"edge:{u}->{v}",
        ))


def _legend_handles(picture: _Picture) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [
        Patch(facecolor=style.fill, edgecolor=style.edge, linestyle=style.dashes,
              label=style.label)
        for name, style in PALETTE.items() if name in picture.states
    ]
    rings = {box.ring for box in picture.boxes.values()}
    if picture.pinned and not picture.states:
        handles.append(Patch(facecolor=STEP.fill, edgecolor=STEP.edge, label=STEP.label))
    if picture.pinned:
        handles.append(Patch(facecolor=INPUT.fill, edgecolor=INPUT.edge, label=INPUT.label))
    if any(box.style is _MISSING for box in picture.boxes.values()):
        handles.append(Patch(facecolor=_MISSING.fill, edgecolor=_MISSING.edge,
                             linestyle="dashed", label="missing"))
    if CRITICAL_COLOR in rings:
        handles.append(Line2D([], [], color=CRITICAL_COLOR, linewidth=2.6,
                              label="critical path"))
    if picture.cycle_edges:
        handles.append(Line2D([], [], color=_CYCLE_COLOR, linewidth=2.4, linestyle="dashed",
                              label="cycle"))
    return handles


def _legend_size(handles: list[Any], width: float) -> tuple[float, float, int]:
    """The legend's width, the height of the strip it needs, and its columns."""
    if not handles:
        return 0.0, 0.0, 1
    entries = [text_width(h.get_label(), _FONT * 0.9) + 0.6 for h in handles]
    room = max(width, 2.0) - 0.3
    if sum(entries) <= room:
        return sum(entries) + 0.3, 0.45, len(handles)
    columns = max(1, int(room / max(entries)))
    rows = -(-len(handles) // columns)
    return room + 0.3, rows * 0.26 + 0.2, columns
