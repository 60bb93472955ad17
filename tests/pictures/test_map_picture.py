"""The DAG picture draws a mapped step as one box that says how many items it had;
the timeline draws each item as its own bar, on its own track when items overlap."""

from __future__ import annotations

import pytest

from rxsteps import Attempt, RunResult, Step, StepGraph, StepStatus, run
from rxsteps.pictures.drawing import _step_box
from rxsteps.pictures.timeline import draw_timeline


def _half(x: int) -> float:
    if x == 3:
        raise ValueError("three")
    return x / 2


def test_a_mapped_step_is_one_box_with_its_item_count() -> None:
    graph = StepGraph([Step("docs", lambda: list(range(12))),
                       Step("summaries", lambda d: d, ["docs"], map="docs"),
                       Step("halves", _half, ["docs"], map="docs"),
                       Step("plain", lambda d: d, ["docs"])])
    result = run(graph, fail_fast=False)
    assert _step_box("summaries", graph, result, "", set()).lines == ["summaries ×12"]
    assert _step_box("halves", graph, result, "", set()).lines == ["halves ×12"]  # failed too
    assert _step_box("plain", graph, result, "", set()).lines == ["plain"]
    assert _step_box("summaries", graph, None, "", set()).lines == ["summaries"]  # no run


def test_the_timeline_stacks_overlapping_items_of_a_mapped_step_on_tracks() -> None:
    graph = StepGraph([Step("docs", lambda: [1, 2, 3]),
                       Step("sizes", lambda d: d, ["docs"], map="docs"),
                       Step("plain", lambda s: s, ["sizes"])])
    t0 = 10.0
    attempts = [
        Attempt("docs", 0, 1, t0, t0 + 1, "succeeded"),
        Attempt("sizes", 0, 1, t0 + 1, t0 + 3, "succeeded"),  # 0 and 1 at once
        Attempt("sizes", 1, 1, t0 + 1, t0 + 2, "succeeded"),
        Attempt("sizes", 2, 1, t0 + 2, t0 + 4, "failed", ValueError("x")),  # reuses 1's track
        Attempt("plain", 0, 1, t0 + 4, t0 + 5, "succeeded"),
    ]
    result = RunResult(
        graph=graph, inputs={}, emitted={"docs": [[1, 2, 3]], "sizes": [[1, 2, 3]]},
        status=dict.fromkeys(graph, StepStatus.SUCCEEDED), errors={}, reasons={},
        started={"docs": t0, "sizes": t0 + 1, "plain": t0 + 4},
        ended={"docs": t0 + 1, "sizes": t0 + 4, "plain": t0 + 5},
        attempts=attempts, start=t0, end=t0 + 5)
    figure = draw_timeline(result)
    bars = {p.get_gid(): p for p in figure.axes[0].patches
            if (p.get_gid() or "").startswith("attempt:")}
    docs, plain = bars["attempt:docs:0:1"], bars["attempt:plain:0:1"]
    first, second, third = (bars[f"attempt:sizes:{i}:1"] for i in range(3))
    assert first.get_height() == second.get_height() == pytest.approx(docs.get_height() / 2)
    assert first.get_y() != second.get_y()  # side by side, not hiding each other
    assert third.get_y() == second.get_y()  # the track 1 freed
    assert plain.get_height() == docs.get_height()  # not mapped: one full bar
    labels = {t.get_text() for t in figure.axes[0].texts}
    assert {"[0]", "[1]", "[2] · ValueError"} <= labels
