"""Run timelines: a Gantt chart of every attempt of every step of one run.

One lane per step, in the order the steps started (steps that never ran at the
bottom, saying why). Every attempt is its own bar, so retries show as separate bars
(and the items of a mapped step, ``map=``, too: items that overlap in time are stacked
on thinner tracks within the step's lane, each labelled ``[index]`` where that fits)
with the backoff between them dotted, and the time a step waited for a resource or a
rate limit before an attempt (:attr:`rxsteps.RunResult.waits`) as a thin hatched bar
in front of it; failed, timed-out and cancelled attempts get
their own colour, hatch and end marker, from the palette the DAG uses too
(:mod:`rxsteps.pictures.palette`). The run's critical path
(:meth:`rxsteps.RunResult.critical_path`) is outlined and its hand-offs joined by
dashed arrows. The x axis is seconds since the run started.

A run of more than :data:`MAX_LANES` steps is summarised, so the picture stays at
most about 16 inches tall: the steps of the critical path and those that failed, timed
out or were cancelled keep their own lanes; the others share a lane per group of
repeated steps or name prefix (:func:`rxsteps.pictures.overview.group_names`), where
their bars overlap, darker where more of them ran at once. ``overview=False`` draws a
lane for every step.

matplotlib is optional and imported only here, when a timeline is drawn.

Example:
    >>> from rxsteps import Step, StepGraph, run
    >>> graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"])])
    >>> figure = draw_timeline(run(graph))
    >>> [t.get_text() for t in figure.axes[0].get_yticklabels()]
    ['a', 'b']
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

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
from .overview import group_names
from .palette import CRITICAL_COLOR, OUTCOMES, PALETTE, Style, state_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..result import Attempt, RunResult

__all__ = ["MAX_LANES", "OUTCOME_STYLES", "draw_timeline", "draws_summary"]

_LANE = 0.34  # inches per lane
_BAR = 0.62  # bar height, in lanes
_FONT = 9.0
_OWN_LANES = 24  # lanes kept for critical and failed steps in a summary, at most

#: Runs of more steps than this are summarised in at most this many lanes.
MAX_LANES = 40

#: Bar styles by :attr:`rxsteps.Attempt.outcome` (entries of the shared palette).
OUTCOME_STYLES: dict[str, Style] = {outcome: PALETTE[state] for outcome, state in
                                    OUTCOMES.items()}


@dataclass(frozen=True)
class _Lane:
    """One lane: a step, or a group of steps that share it."""

    name: str
    steps: tuple[str, ...]

    @property
    def shared(self) -> bool:
        return len(self.steps) > 1 or self.steps[0] != self.name


def draw_timeline(
    result: RunResult,
    path: str | os.PathLike[str] | None = None,
    *,
    ax: Axes | None = None,
    overview: bool | None = None,
) -> Figure:
    """Draw a Gantt chart of ``result``: a lane per step, a bar per attempt.

    Args:
        result: A finished run.
        path: Also write the picture here (``.png``, ``.svg`` or ``.pdf``).
        ax: Draw into these axes instead of a new figure.
        overview: ``True`` summarises the run in at most :data:`MAX_LANES` lanes,
            ``False`` draws a lane per step; ``None`` (the default) summarises runs of
            more than :data:`MAX_LANES` steps.

    Returns:
        The figure.

    Raises:
        ImportError: matplotlib is not installed.
        OptionError: ``path`` has an unsupported extension (also a ``ValueError``).

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> figure = draw_timeline(run(StepGraph([Step("only", lambda: 1)])))
        >>> [p.get_gid() for p in figure.axes[0].patches]
        ['critical-lane:only', 'attempt:only:0:1']
    """
    require_matplotlib()
    if path is not None:
        picture_format(path)  # a bad extension is refused before drawing
    with drawing_fonts():
        figure = _draw(result, ax, overview)
    check_fonts(figure)
    if path is not None:
        save_figure(figure, path)
    return figure


def draws_summary(result: RunResult, overview: bool | None = None) -> bool:
    """Whether :func:`draw_timeline` with this ``overview=`` summarises the run.

    Example:
        >>> from rxsteps import Step, StepGraph, run
        >>> result = run(StepGraph([Step("only", lambda: 1)]))
        >>> draws_summary(result), draws_summary(result, overview=True)
        (False, True)
    """
    return len(_ordered(result)) > MAX_LANES if overview is None else overview


def _draw(result: RunResult, ax: Axes | None, overview: bool | None) -> Figure:
    critical, critical_seconds = result.critical_path()
    steps = _ordered(result)
    overview = draws_summary(result, overview)
    lanes = _summary_lanes(result, steps, critical) if overview else [
        _Lane(step, (step,)) for step in steps]
    labels = [_short(lane) for lane in lanes]
    label_w = max((len(label) for label in labels), default=4) * _FONT * 0.6 / 72 + 0.35
    width = max(8.0, label_w + 6.5)
    tall = len(lanes) > 25  # seconds on top too
    top, bottom = 0.85 + 0.25 * tall, 0.6
    height = top + bottom + max(len(lanes), 1) * _LANE
    if ax is None:
        figure = new_figure(width, height, min(100.0, 30000.0 / height))
        ax = figure.add_axes((label_w / width, bottom / height,
                              1 - (label_w + 0.3) / width, 1 - (top + bottom) / height))
    else:
        figure = figure_of(ax)
    span = max(result.duration, 1e-3)
    row = {step: i for i, lane in enumerate(lanes) for step in lane.steps}
    _draw_lanes(ax, result, lanes, set(critical), span)
    _draw_attempts(ax, result, row, {s for lane in lanes if lane.shared for s in lane.steps},
                   set(critical), span)
    _draw_handoffs(ax, result, critical, row)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_xlim(0.0, span * 1.03)
    ax.set_yticks(range(len(lanes)), labels, fontsize=_FONT, parse_math=False)
    for tick, lane in zip(ax.get_yticklabels(), lanes, strict=True):
        tick.set_gid(f"lane:{lane.name}")
        if lane.name in critical:
            tick.set_color(CRITICAL_COLOR)
            if lane.name.isascii():  # no bold CJK fallback font: keep those regular
                tick.set_fontfamily("sans-serif")
                tick.set_fontweight("bold")
        elif not any(step in result.started for step in lane.steps):
            tick.set_color("#868e96")
        elif lane.shared:
            tick.set_fontstyle("italic")
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", labelsize=_FONT, top=tall, labeltop=tall)
    ax.set_xlabel("seconds since the run started", fontsize=_FONT)
    ax.grid(axis="x", color="#e9ecef", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    summary = _summary(result, critical, critical_seconds, width - 0.3,
                       len(lanes) if overview else None)
    figure.text(0.01, 1 - 0.22 / height, summary, fontsize=_FONT * 1.15, va="center",
                color="#1f2933", parse_math=False, gid="summary")
    figure.legend(handles=_legend_handles(result, bool(critical), overview), loc="upper center",
                  bbox_to_anchor=(0.5, 1 - 0.38 / height), ncol=6, frameon=False,
                  fontsize=_FONT, handlelength=1.8, columnspacing=1.2)
    return figure


def _ordered(result: RunResult) -> list[str]:
    """Steps that ran, by first start; then the others, in graph order."""
    order = {step: i for i, step in enumerate(result.graph)}
    ran = sorted(result.started, key=lambda s: (result.started[s], order.get(s, 0)))
    return ran + [step for step in result.graph if step not in result.started]


def _summary_lanes(result: RunResult, steps: list[str], critical: list[str]) -> list[_Lane]:
    """At most :data:`MAX_LANES` lanes: critical and failed steps alone, the rest in
    groups; in the order their first step started."""
    troubled = [s for s in steps if state_of(result, s) in ("failed", "timed out", "cancelled")]
    own = list(dict.fromkeys([*critical, *troubled]))[:_OWN_LANES]
    rest = [s for s in steps if s not in own]
    groups = group_names(rest, MAX_LANES - len(own))
    members: dict[str, list[str]] = {}
    for step in rest:
        members.setdefault(groups[step], []).append(step)
    lanes = [_Lane(step, (step,)) for step in own]
    lanes += [_Lane(name, tuple(names)) for name, names in members.items()]
    position = {step: i for i, step in enumerate(steps)}
    return sorted(lanes, key=lambda lane: min(position[s] for s in lane.steps))


def _short(lane: _Lane) -> str:
    name = lane.name
    return wrap_label(name, width=28, lines=1)[0] if len(name) > 28 else name


def _draw_lanes(ax: Axes, result: RunResult, lanes: list[_Lane], critical: set[str],
                span: float) -> None:
    """Shade critical lanes; say why a step that never ran did not."""
    for i, lane in enumerate(lanes):
        step = lane.steps[0]
        if lane.name in critical:
            ax.axhspan(i - 0.5, i + 0.5, color=CRITICAL_COLOR, alpha=0.06, linewidth=0,
                       gid=f"critical-lane:{step}")
        waiting = [s for s in lane.steps if s not in result.started]
        if lane.shared and waiting:
            counts = Counter(state_of(result, s) for s in waiting)
            text = ", ".join(f"{n} {PALETTE[state].label}" for state, n in counts.items())
            if len(waiting) < len(lane.steps):
                text = f"and {text}"
            ax.text(span * 1.025, i, text, va="center", ha="right", fontsize=_FONT * 0.8,
                    color="#868e96", fontstyle="italic", gid=f"reason:{lane.name}",
                    parse_math=False, zorder=6)
        elif not lane.shared and waiting:
            text = PALETTE[state_of(result, step)].label
            why = result.reasons.get(step, "")
            text += f": {why}" if why and why != text else ""
            ax.text(span * 0.005, i, text, va="center", fontsize=_FONT * 0.9,
                    color="#868e96", fontstyle="italic", gid=f"reason:{step}",
                    parse_math=False)


def _draw_attempts(ax: Axes, result: RunResult, row: dict[str, int], shared: set[str],
                   critical: set[str], span: float) -> None:
    """A bar per attempt; dotted backoff between retries; markers on failures. Bars in
    a shared lane are drawn without outline or label, half transparent."""
    from matplotlib.patches import Rectangle

    smallest = span * 0.004
    box = ax.get_position()
    per_second = box.width * figure_of(ax).get_figwidth() / (span * 1.03)  # inches
    _draw_waits(ax, result, row, shared, smallest, per_second)
    retried = {(a.step, a.index) for a in result.attempts if a.attempt > 1}
    previous: dict[tuple[str, int], Attempt] = {}
    ordered = sorted(result.attempts, key=lambda a: a.start)
    tracks = _item_tracks(result, ordered, shared)
    for attempt in ordered:
        if attempt.step not in row:
            continue
        y: float = row[attempt.step]
        bar = _BAR
        track = tracks.get(id(attempt))
        if track is not None:  # an item of a mapped step, on its track of the lane
            bar = _BAR / track[1]
            y += -_BAR / 2 + bar * (track[0] + 0.5)
        style = OUTCOME_STYLES.get(attempt.outcome, OUTCOME_STYLES["cancelled"])
        start = attempt.start - result.start
        width = max(attempt.duration, smallest)
        gid = f"attempt:{attempt.step}:{attempt.index}:{attempt.attempt}"
        if attempt.step in shared:
            ax.add_patch(Rectangle((start, y - _BAR / 2), width, _BAR, facecolor=style.edge,
                                   alpha=0.35, linewidth=0, zorder=3, gid=gid))
            continue
        hot = attempt.step in critical
        ax.add_patch(Rectangle(
            (start, y - bar / 2), width, bar, facecolor=style.fill,
            edgecolor=CRITICAL_COLOR if hot else style.edge, linewidth=2.0 if hot else 0.8,
            hatch=style.hatch, zorder=3, gid=gid,
        ))
        if style.marker is not None:
            ax.plot([start + width], [y], marker=style.marker, color=style.edge,
                    markersize=13 if style.marker == "|" else 8, markeredgewidth=2.4,
                    markeredgecolor=style.edge if style.marker == "|" else "white",
                    zorder=4, linestyle="none", gid=f"marker:{attempt.outcome}")
        before = previous.get((attempt.step, attempt.index))
        if before is not None and attempt.start > before.end:
            ax.plot([before.end - result.start, start], [y, y], linestyle=":",
                    color="#6c757d", linewidth=1.2, zorder=2, gid=f"backoff:{attempt.step}")
        previous[(attempt.step, attempt.index)] = attempt
        label = _bar_label(attempt, (attempt.step, attempt.index) in retried, width * per_second,
                           item=track is not None and bar * _LANE * 72 >= _FONT * 0.75)
        if label:
            ax.text(start + width / 2, y, label, ha="center", va="center",
                    fontsize=_FONT * 0.75, color="#1f2933", zorder=5, clip_on=True,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.85,
                          "linewidth": 0})


def _draw_waits(ax: Axes, result: RunResult, row: dict[str, int], shared: set[str],
                smallest: float, per_second: float) -> None:
    """A thin hatched bar for each wait for capacity, labelled with what it waited
    for where that fits (``llm``, ``rate llm``)."""
    from matplotlib.patches import Rectangle

    style = PALETTE["waiting"]
    thin = _BAR * 0.45
    for wait in result.waits:
        if wait.step not in row:
            continue
        y, start = row[wait.step], wait.start - result.start
        width = max(wait.duration, smallest)
        ax.add_patch(Rectangle(
            (start, y - thin / 2), width, thin, facecolor=style.fill,
            edgecolor=style.edge, linewidth=0.0 if wait.step in shared else 0.8,
            hatch=style.hatch, alpha=0.6 if wait.step in shared else 1.0, zorder=2.5,
            gid=f"wait:{wait.step}:{wait.index}:{wait.attempt}",
        ))
        label = wait.resource or wait.reason.replace("'", "")
        if wait.step not in shared and text_width(label, _FONT * 0.7) + 0.1 < width * per_second:
            ax.text(start + width / 2, y, label, ha="center", va="center",
                    fontsize=_FONT * 0.7, color=style.edge, zorder=5, clip_on=True,
                    bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "alpha": 0.85,
                          "linewidth": 0})


def _item_tracks(result: RunResult, ordered: list[Attempt],
                 shared: set[str]) -> dict[int, tuple[int, int]]:
    """For each attempt of a mapped step's items (not in a shared lane): its track and
    the step's number of tracks, so that items running at once do not hide each other.
    Greedy by start time: an attempt takes the lowest track free when it starts. Keyed
    by ``id()`` of the attempt (attempts compare by value, and are not hashable)."""
    mapped = {name for name, step in result.graph.items()
              if step.map is not None and name not in shared}
    found: dict[int, tuple[int, int]] = {}
    for name in mapped:
        ends: list[float] = []  # per track, when its last attempt ended
        mine: dict[int, int] = {}
        for attempt in ordered:
            if attempt.step != name:
                continue
            free = next((i for i, end in enumerate(ends) if end <= attempt.start), None)
            if free is None:
                free = len(ends)
                ends.append(attempt.end)
            else:
                ends[free] = attempt.end
            mine[id(attempt)] = free
        found.update({key: (track, len(ends)) for key, track in mine.items()})
    return found


def _bar_label(attempt: Attempt, retried: bool, room: float, *, item: bool = False) -> str:
    """``[3] try 1 · ValueError``, ``timed out``, ``try 2``…: the longest that fits
    ``room`` inches, or nothing (a plain success says nothing but an ``item``'s index)."""
    short = f"try {attempt.attempt}" if retried else ""
    if item:
        short = f"[{attempt.index}] {short}".strip()
    why = ""
    if attempt.outcome == "timeout":
        why = "timed out"
    elif attempt.outcome == "failed" and attempt.error is not None:
        why = type(attempt.error).__name__
    for label in (" · ".join(p for p in (short, why) if p), short or why):
        if label and text_width(label, _FONT * 0.75) + 0.1 < room:
            return label
    return ""


def _draw_handoffs(ax: Axes, result: RunResult, critical: list[str],
                   row: dict[str, int]) -> None:
    """Dashed arrows from each critical step's end to the start of the next."""
    for before, after in pairwise(critical):
        x0 = result.ended[before] - result.start
        x1 = result.started[after] - result.start
        ax.annotate(
            "", xy=(x1, row[after] - _BAR / 2), xytext=(x0, row[before] + _BAR / 2),
            arrowprops={"arrowstyle": "->", "color": CRITICAL_COLOR, "linestyle": "--",
                        "linewidth": 1.2, "shrinkA": 0, "shrinkB": 0},
            zorder=6,
        )


def _summary(result: RunResult, critical: list[str], seconds: float, room: float,
             lanes: int | None) -> str:
    """One line: counts, duration, attempts, and as much of the critical path as fits;
    for a summarised run, also how many lanes its steps share."""
    counts = Counter(state_of(result, step) for step in result.status)
    short = ", ".join(f"{counts[state]} {PALETTE[state].label}" for state in PALETTE
                      if counts[state]) + f"  ·  {format_seconds(result.duration)}"
    text = f"{short}  ·  {len(result.attempts)} attempts"
    if lanes is not None:
        text += f"  ·  {len(result.status)} steps in {lanes} lanes"
    lines = []
    if critical:
        path = f"{text}  ·  critical path {format_seconds(seconds)}"
        for keep in (len(critical), 4, 2):
            chain = critical if keep >= len(critical) else [
                *critical[: keep // 2], "…", *critical[len(critical) - keep // 2:]
            ]
            lines.append(path + ": " + " → ".join(chain))
        lines.append(path)
    lines += [text, short, f"{counts.total()} steps  ·  {format_seconds(result.duration)}"]
    return next((line for line in lines if text_width(line, _FONT * 1.15) <= room), lines[-1])


def _legend_handles(result: RunResult, critical: bool, overview: bool) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    seen = {attempt.outcome for attempt in result.attempts} | {"succeeded"}
    handles: list[Any] = [
        Patch(facecolor=style.fill, edgecolor=style.edge, hatch=style.hatch, label=style.label)
        for outcome, style in OUTCOME_STYLES.items()
        if outcome in seen
    ]
    if result.waits:
        style = PALETTE["waiting"]
        handles.append(Patch(facecolor=style.fill, edgecolor=style.edge, hatch=style.hatch,
                             label="waiting (resource or rate)"))
    if any(a.attempt > 1 for a in result.attempts):
        handles.append(Line2D([], [], linestyle=":", color="#6c757d", label="retry backoff"))
    if critical:
        handles.append(Patch(facecolor="white", edgecolor=CRITICAL_COLOR, linewidth=2,
                             label="critical path"))
    if overview:
        handles.append(Patch(facecolor=PALETTE["succeeded"].edge, alpha=0.35, linewidth=0,
                             label="steps sharing a lane"))
    return handles
