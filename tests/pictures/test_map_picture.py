"""The DAG picture draws a mapped step as one box that says how many items it had."""

from __future__ import annotations

from rxsteps import Step, StepGraph, run
from rxsteps.pictures.drawing import _step_box


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
