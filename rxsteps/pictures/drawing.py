"""DAG pictures: a step graph drawn left to right with matplotlib, optionally coloured
by how a run went.

Steps are rounded boxes, run inputs grey pills; columns are the graph's topological
generations (see :mod:`rxsteps.pictures.layout`). The figure is sized to the graph — a column
per generation, a row per box — so labels keep their size and never overlap, whether
the graph has 2 steps or 200. Given a :class:`~rxsteps.RunResult`, boxes are coloured
by status, show how long each step took, and the run's critical path is outlined.

matplotlib is optional (``pip install 'rxsteps[draw]'``) and imported only when a
picture is drawn; figures are plain :class:`matplotlib.figure.Figure` objects — no
pyplot, no GUI, no global state — saved as PNG, SVG or PDF.

Example:
    >>> from rxsteps import Step, StepGraph
    >>> graph = StepGraph([Step("search", lambda q: q, ["query"]),
    ...                    Step("answer", lambda s: s, ["search"])], inputs=["query"])
    >>> figure = draw_graph(graph)
    >>> sorted(p.get_gid() for p in figure.axes[0].patches if p.get_gid().startswith("node"))
    ['node:answer', 'node:query', 'node:search']
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

from ..critical import critical_edges
from .figures import (
    CRITICAL_COLOR,
    figure_of,
    format_seconds,
    require_matplotlib,
    save_figure,
    text_width,
    wrap_label,
)
from .layout import Layout, layered_layout

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..graph import StepGraph
    from ..result import RunResult

__all__ = ["STATUS_STYLES", "Style", "draw_graph"]

_FONT = 10.0  # points
_PAD_X, _PAD_Y = 0.12, 0.07  # inches inside a box


@dataclass(frozen=True)
class Style:
    """How a box of one kind is painted.

    Attributes:
        fill, edge, text: Fill, outline and label colours.
        dashes: ``"solid"`` or ``"dashed"`` outline.

    Example:
        >>> STATUS_STYLES["failed"].fill
        '#f5b7b1'
    """

    fill: str
    edge: str
    text: str = "#1f2933"
    dashes: Literal["solid", "dashed"] = "solid"


#: Box styles by status name; ``"not run"`` covers steps that never finished.
STATUS_STYLES: dict[str, Style] = {
    "succeeded": Style("#c3e6cb", "#2b8a3e"),
    "failed": Style("#f5b7b1", "#c0392b"),
    "skipped": Style("#e9ecef", "#868e96", "#6c757d", "dashed"),
    "cancelled": Style("#ffe3a3", "#c77c02"),
    "not run": Style("#ffffff", "#adb5bd", "#6c757d", "dashed"),
}
_STEP = Style("#dbe9f8", "#35618f")
_INPUT = Style("#eceff4", "#5f6b7a", "#37414d")
_EDGE_COLOR = "#8d99ae"


def draw_graph(
    graph: StepGraph,
    path: str | os.PathLike[str] | None = None,
    *,
    result: RunResult | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw ``graph`` left to right; colour it by ``result`` if given.

    Args:
        graph: The step graph (validated first).
        path: Also write the picture here (``.png``, ``.svg`` or ``.pdf``).
        result: A run of this graph: boxes get status colours and timings, the
            critical path is outlined, and a legend and a summary title are added.
        ax: Draw into these axes instead of a new figure (fonts are scaled to fit).

    Returns:
        The figure (``ax.figure`` when ``ax`` is given).

    Raises:
        ImportError: matplotlib is not installed.
        GraphError: The graph is invalid.
        ValueError: ``path`` has an unsupported extension.

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"])])
        >>> figure = draw_graph(graph, result=run(graph))
        >>> [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
        ['succeeded', 'critical path']
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    dag = graph.to_networkx()
    critical = result.critical_path()[0] if result is not None else []
    details = _details(result) if result is not None else {}
    sizes = {n: _box_size(n, details.get(n)) for n in dag}
    layout = layered_layout(dag, sizes, pinned=graph.inputs)
    title = _title(result, critical) if result is not None else ""
    handles = _legend_handles(graph, result, bool(critical))
    legend_w, legend_h, columns = _legend_size(handles, layout.width)
    width = max(layout.width, legend_w, _text_width([title], _FONT * 1.1) + 0.5, 2.0)
    top = 0.45 if title else 0.0
    height = layout.height + legend_h + top
    if ax is None:
        figure = Figure(figsize=(width, height), dpi=min(100.0, 30000.0 / max(width, height)))
        ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
        scale = 1.0
    else:
        figure = figure_of(ax)
        box = ax.get_position()
        scale = min(box.width * figure.get_figwidth() / width,
                    box.height * figure.get_figheight() / height)
        ax.set_aspect("equal")
    ax.set_xlim(0.0, width)
    ax.set_ylim(0.0, height)
    ax.set_axis_off()
    shift = ((width - layout.width) / 2, legend_h)
    _draw_edges(ax, layout, critical_edges(critical), shift, scale)
    _draw_nodes(ax, graph, layout, result, set(critical), details, shift, scale)
    if title:
        ax.text(0.2, height - 0.25, title, fontsize=_FONT * 1.1 * scale, va="center",
                color="#1f2933", gid="title", parse_math=False)
    if handles:
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0),
                  ncol=columns,
                  frameon=False, fontsize=_FONT * 0.9 * scale, handlelength=1.8,
                  columnspacing=1.4)
    if path is not None:
        save_figure(figure, path)
    return figure


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


def _text_width(lines: list[str], size: float) -> float:
    return max((text_width(line, size) for line in lines), default=0.0)


def _box_size(name: Hashable, detail: str | None) -> tuple[float, float]:
    lines = wrap_label(str(name))
    width = max(_text_width(lines, _FONT), _text_width([detail or ""], _FONT * 0.8))
    height = len(lines) * _FONT * 1.2 / 72 + (_FONT * 0.8 * 1.25 / 72 if detail else 0.0)
    return max(width + 2 * _PAD_X, 0.7), height + 2 * _PAD_Y


def _style_of(name: str, graph: StepGraph, result: RunResult | None) -> Style:
    if name in graph.inputs:
        return _INPUT
    if result is None:
        return _STEP
    status = result.status.get(name)
    if status is None or not status.done:
        return STATUS_STYLES["not run"]
    return STATUS_STYLES[status.value]


def _draw_nodes(
    ax: Axes,
    graph: StepGraph,
    layout: Layout,
    result: RunResult | None,
    critical: set[str],
    details: Mapping[str, str],
    shift: tuple[float, float],
    scale: float,
) -> None:
    from matplotlib.patches import FancyBboxPatch

    for key, (x, y) in layout.positions.items():
        name = str(key)
        width, height = layout.sizes[key]
        x, y = x + shift[0], y + shift[1]
        style = _style_of(name, graph, result)
        is_input = name in graph.inputs
        hot = name in critical
        rounding = height / 2 if is_input else 0.08
        ax.add_patch(FancyBboxPatch(
            (x - width / 2, y - height / 2), width, height,
            boxstyle=f"round,pad=0,rounding_size={rounding}",
            facecolor=style.fill, edgecolor=CRITICAL_COLOR if hot else style.edge,
            linewidth=(2.6 if hot else 1.2) * scale, linestyle=style.dashes,
            zorder=3, gid=f"node:{name}",
        ))
        lines = wrap_label(name)
        detail = details.get(name)
        label_h = len(lines) * _FONT * 1.2 / 72
        detail_h = _FONT * 0.8 * 1.25 / 72 if detail else 0.0
        top = y + (label_h + detail_h) / 2
        ax.text(x, top - label_h / 2, "\n".join(lines), ha="center", va="center",
                fontsize=_FONT * scale, color=style.text, linespacing=1.2, zorder=4,
                fontstyle="italic" if is_input else "normal", gid=f"label:{name}", parse_math=False)
        if detail:
            ax.text(x, top - label_h - detail_h / 2, detail, ha="center", va="center",
                    fontsize=_FONT * 0.8 * scale, color="#52606d", zorder=4,
                    gid=f"detail:{name}", parse_math=False)


def _draw_edges(
    ax: Axes,
    layout: Layout,
    critical: set[tuple[str, str]],
    shift: tuple[float, float],
    scale: float,
) -> None:
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path as MplPath

    for (u, v), points in layout.routes.items():
        pts = [(x + shift[0], y + shift[1]) for x, y in points]
        vertices = [pts[0]]
        for (x0, y0), (x1, y1) in pairwise(pts):
            middle = (x0 + x1) / 2
            vertices += [(middle, y0), (middle, y1), (x1, y1)]
        codes = [MplPath.MOVETO] + [MplPath.CURVE4] * (len(vertices) - 1)
        hot = (str(u), str(v)) in critical
        ax.add_patch(FancyArrowPatch(
            path=MplPath(vertices, codes), arrowstyle="-|>,head_length=0.6,head_width=0.3",
            mutation_scale=(11 if hot else 9) * scale, shrinkA=0, shrinkB=0,
            color=CRITICAL_COLOR if hot else _EDGE_COLOR, linewidth=(2.4 if hot else 1.0) * scale,
            zorder=2 if hot else 1, gid=f"edge:{u}->{v}",
        ))


def _title(result: RunResult, critical: list[str]) -> str:
    counts: dict[str, int] = {}
    for status in result.status.values():
        name = status.value if status.done else "not run"
        counts[name] = counts.get(name, 0) + 1
    order = [name for name in STATUS_STYLES if name in counts]
    text = ", ".join(f"{counts[name]} {name}" for name in order)
    text += f"  ·  {format_seconds(result.duration)}"
    if critical:
        text += f"  ·  critical path {format_seconds(result.critical_path()[1])}"
    return text


def _legend_handles(graph: StepGraph, result: RunResult | None, critical: bool) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = []
    if result is not None:
        seen = {s.value if s.done else "not run" for s in result.status.values()}
        for name, style in STATUS_STYLES.items():
            if name in seen:
                handles.append(Patch(facecolor=style.fill, edgecolor=style.edge,
                                     linestyle=style.dashes, label=name))
    if graph.inputs:
        if result is None:
            handles.append(Patch(facecolor=_STEP.fill, edgecolor=_STEP.edge, label="step"))
        handles.append(Patch(facecolor=_INPUT.fill, edgecolor=_INPUT.edge, label="input"))
    if critical:
        handles.append(Line2D([], [], color=CRITICAL_COLOR, linewidth=2.6, label="critical path"))
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
