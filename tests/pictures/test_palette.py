"""One palette for the DAG and the timeline: the same colours and words for a state in
both pictures, apart for colour-blind eyes, with timed out, skipped by a condition and
cached as states of their own."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import to_rgb, to_rgba
from matplotlib.figure import Figure

from rxsteps import Attempt, RunResult, Step, StepGraph, StepStatus
from rxsteps.errors import StepTimeoutError
from rxsteps.pictures.drawing import draw_graph
from rxsteps.pictures.palette import CONDITION_FALSE, OUTCOMES, PALETTE, state_of
from rxsteps.pictures.timeline import draw_timeline
from tests.support.colours import VISIONS, contrast, delta_e

RUN_STATES = ["succeeded", "failed", "timed out", "cancelled", "skipped", "condition false"]


@pytest.fixture(scope="module")
def every_state() -> RunResult:
    """A run with a step in each state: made-up times, real statuses and errors."""
    names = ["ok", "boom", "slow", "stopped", "after", "unless", "later"]
    graph = StepGraph([Step(name, lambda: 1) for name in names])
    s = StepStatus
    timeout = StepTimeoutError("slow", 1.0)
    attempts = [Attempt("ok", 0, 1, 0.0, 1.0, "succeeded"),
                Attempt("boom", 0, 1, 0.0, 0.5, "failed", ValueError("x")),
                Attempt("slow", 0, 1, 0.0, 1.0, "timeout", timeout),
                Attempt("stopped", 0, 1, 0.0, 0.8, "cancelled")]
    return RunResult(
        graph=graph, inputs={}, emitted={"ok": [1]},
        status={"ok": s.SUCCEEDED, "boom": s.FAILED, "slow": s.FAILED, "stopped": s.CANCELLED,
                "after": s.SKIPPED, "unless": s.SKIPPED, "later": s.PENDING},
        errors={"boom": ValueError("x"), "slow": timeout},
        reasons={"after": "dependency 'boom' failed", "unless": CONDITION_FALSE,
                 "stopped": "run cancelled"},
        started={"ok": 0.0, "boom": 0.0, "slow": 0.0, "stopped": 0.0},
        ended={"ok": 1.0, "boom": 0.5, "slow": 1.0, "stopped": 0.8, "after": 0.5,
               "unless": 0.0},
        attempts=attempts, start=0.0, end=1.0)


def _by_gid(figure: Figure, prefix: str) -> dict[str, Any]:
    return {p.get_gid().split(":")[1]: p for p in figure.axes[0].patches
            if (p.get_gid() or "").startswith(prefix + ":")}


def test_state_of_names_timeouts_and_false_conditions(every_state: RunResult) -> None:
    assert {step: state_of(every_state, step) for step in every_state.graph} == {
        "ok": "succeeded", "boom": "failed", "slow": "timed out", "stopped": "cancelled",
        "after": "skipped", "unless": "condition false", "later": "not run"}


def test_dag_boxes_and_timeline_bars_share_colours_and_words(every_state: RunResult) -> None:
    dag = draw_graph(every_state.graph, result=every_state)
    timeline = draw_timeline(every_state)
    boxes, bars = _by_gid(dag, "node"), _by_gid(timeline, "attempt")
    for step, state in [("ok", "succeeded"), ("boom", "failed"), ("slow", "timed out"),
                        ("stopped", "cancelled")]:
        assert boxes[step].get_facecolor() == to_rgba(PALETTE[state].fill), step
        assert bars[step].get_facecolor() == to_rgba(PALETTE[state].fill), step
    dag_words = [t.get_text() for t in dag.axes[0].get_legend().get_texts()]
    bar_words = [t.get_text() for t in timeline.legends[0].get_texts()]
    assert dag_words == ["succeeded", "failed", "timed out", "cancelled", "skipped",
                         "condition false", "not run", "critical path"]
    assert bar_words == ["succeeded", "failed", "timed out", "cancelled", "critical path"]
    assert set(OUTCOMES.values()) <= set(PALETTE)


def test_a_timed_out_step_is_not_drawn_as_failed(every_state: RunResult) -> None:
    figure = draw_graph(every_state.graph, result=every_state)
    boxes = _by_gid(figure, "node")
    assert boxes["slow"].get_facecolor() != boxes["boom"].get_facecolor()
    assert boxes["slow"].get_edgecolor() == to_rgba(PALETTE["timed out"].edge)
    details = {t.get_gid(): t.get_text() for t in figure.axes[0].texts}
    assert details["detail:slow"].endswith("timed out")
    assert details["detail:boom"].endswith("failed")


def test_skipped_by_a_condition_looks_unlike_skipped_by_a_failure(every_state: RunResult
                                                                   ) -> None:
    boxes = _by_gid(draw_graph(every_state.graph, result=every_state), "node")
    condition, failure = boxes["unless"], boxes["after"]
    assert condition.get_facecolor() == to_rgba(PALETTE["condition false"].fill)
    assert condition.get_facecolor() != failure.get_facecolor()
    assert condition.get_edgecolor() != failure.get_edgecolor()
    assert condition.get_linestyle() != failure.get_linestyle()


def test_cached_has_its_own_marker_and_words() -> None:
    cached = PALETTE["cached"]
    assert cached.label == "cached" and cached.marker is not None
    assert all(cached.marker != PALETTE[s].marker for s in RUN_STATES)


@pytest.mark.parametrize("vision", sorted(VISIONS))
def test_state_colours_stay_apart_with_colour_blindness(vision: str) -> None:
    # CIE76 distance of the outlines (the strong colours) of every pair of run states.
    closest = min(delta_e(PALETTE[a].edge, PALETTE[b].edge, vision)
                  for a, b in combinations(RUN_STATES, 2))
    assert closest > 15, vision


@pytest.mark.parametrize("vision", sorted(VISIONS))
def test_state_fills_stay_apart_with_colour_blindness(vision: str) -> None:
    # the fills alone (a box's or a bar's area): cancelled and skipped were 4.2 apart
    # with deuteranopia, failed and timed out 5.1 with tritanopia
    fills = [*RUN_STATES, "not run"]
    closest = min(delta_e(PALETTE[a].fill, PALETTE[b].fill, vision)
                  for a, b in combinations(fills, 2))
    assert closest > 7, vision


@pytest.mark.parametrize("state", [*RUN_STATES, "waiting"])
def test_fills_are_tints_of_their_outlines(state: str) -> None:
    # Okabe-Ito colours mixed with white: fill = white - t * (white - edge), one t
    style = PALETTE[state]
    fill, edge = np.array(to_rgb(style.fill)), np.array(to_rgb(style.edge))
    room = 1 - edge
    strength = float(np.sum((1 - fill) * room) / np.sum(room * room))
    assert 0.1 < strength < 0.5, state
    assert np.abs(1 - strength * room - fill).max() * 255 < 2.5, state


def test_fills_keep_dark_labels_readable() -> None:
    for state in RUN_STATES:
        style = PALETTE[state]
        assert contrast(style.text, style.fill) > 6.5, state  # WCAG AA asks 4.5


def test_states_that_did_not_run_differ_in_more_than_colour() -> None:
    solid = {s for s in PALETTE.values() if s.dashes == "solid"}
    for name in ("skipped", "condition false", "not run"):
        assert PALETTE[name] not in solid
    assert len({PALETTE[n].dashes for n in ("succeeded", "skipped", "condition false")}) == 3
    hatches = [PALETTE[n].hatch for n in ("failed", "timed out", "cancelled")]
    assert None not in hatches and len(set(hatches)) == 3
