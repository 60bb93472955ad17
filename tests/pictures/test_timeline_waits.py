"""The timeline draws the time a step waited for a resource, apart from running."""

from __future__ import annotations

import pytest

from rxsteps import Step, StepGraph, run

pytest.importorskip("matplotlib")

from rxsteps.pictures.palette import PALETTE
from rxsteps.pictures.timeline import draw_timeline


def test_waits_are_thin_hatched_bars_with_a_legend_entry():
    graph = StepGraph([Step("first", lambda: 1, uses="llm"),
                       Step("second", lambda: 2, uses="llm")])
    result = run(graph, limits={"llm": 1}, priority="fifo")
    figure = draw_timeline(result)
    ax = figure.axes[0]
    patches = {p.get_gid(): p for p in ax.patches}
    wait = patches["wait:second:0:1"]
    bar = patches["attempt:second:0:1"]
    assert wait.get_hatch() == PALETTE["waiting"].hatch
    assert wait.get_height() < bar.get_height()
    assert wait.get_x() <= bar.get_x()
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert "waiting (resource or rate)" in labels


def test_no_waiting_entry_without_waits():
    figure = draw_timeline(run(StepGraph([Step("a", lambda: 1)])))
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert not any(label.startswith("waiting") for label in labels)
    assert not any(str(p.get_gid()).startswith("wait:") for p in figure.axes[0].patches)
