"""Run timelines: a lane per step, a bar per attempt, failures marked, critical path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from rxsteps import Attempt, Retry, RunResult, Step, StepGraph, StepStatus, current, run
from rxsteps.errors import StepTimeoutError
from rxsteps.pictures.figures import CRITICAL_COLOR
from rxsteps.pictures.timeline import OUTCOME_STYLES, draw_timeline


def _bars(figure: Figure) -> dict[str, Any]:
    bars = {}
    for patch in figure.axes[0].patches:
        gid = patch.get_gid() or ""
        if gid.startswith("attempt:"):
            bars[gid.removeprefix("attempt:")] = patch
    return bars


@pytest.fixture(scope="module")
def synthetic() -> RunResult:
    """Exact times: a retried step (fail, then succeed), a timeout, a skipped step."""
    graph = StepGraph([
        Step("plan", lambda q: q, ["q"]),
        Step("flaky", lambda p: p, ["plan"], retry=Retry(attempts=2)),
        Step("slow", lambda p: p, ["plan"], timeout=1.0),
        Step("answer", lambda f: f, ["flaky"]),
        Step("never", lambda s: s, ["slow"]),
    ], inputs=["q"])
    t0 = 50.0
    attempts = [
        Attempt("plan", 0, 1, t0, t0 + 1, "succeeded"),
        Attempt("flaky", 0, 1, t0 + 1, t0 + 2, "failed", ValueError("503")),
        Attempt("slow", 0, 1, t0 + 1, t0 + 2, "timeout", StepTimeoutError("slow", 1.0)),
        Attempt("flaky", 0, 2, t0 + 2.5, t0 + 4, "succeeded"),
        Attempt("answer", 0, 1, t0 + 4, t0 + 5, "succeeded"),
    ]
    return RunResult(
        graph=graph, inputs={"q": 1}, emitted={"answer": [1]},
        status={"plan": StepStatus.SUCCEEDED, "flaky": StepStatus.SUCCEEDED,
                "slow": StepStatus.FAILED, "answer": StepStatus.SUCCEEDED,
                "never": StepStatus.SKIPPED},
        errors={"slow": StepTimeoutError("slow", 1.0)},
        reasons={"never": "dependency 'slow' failed"},
        started={"plan": t0, "flaky": t0 + 1, "slow": t0 + 1, "answer": t0 + 4},
        ended={"plan": t0 + 1, "flaky": t0 + 4, "slow": t0 + 2, "answer": t0 + 5,
               "never": t0 + 2},
        attempts=attempts, start=t0, end=t0 + 5)


def test_one_lane_per_step_in_start_order(synthetic: RunResult) -> None:
    figure = draw_timeline(synthetic)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels == ["plan", "flaky", "slow", "answer", "never"]


def test_every_attempt_is_its_own_bar_at_its_own_time(synthetic: RunResult) -> None:
    bars = _bars(draw_timeline(synthetic))
    assert set(bars) == {"plan:0:1", "flaky:0:1", "flaky:0:2", "slow:0:1", "answer:0:1"}
    first, second = bars["flaky:0:1"], bars["flaky:0:2"]
    assert (first.get_x(), first.get_width()) == pytest.approx((1.0, 1.0))
    assert (second.get_x(), second.get_width()) == pytest.approx((2.5, 1.5))
    assert first.get_y() == second.get_y()  # same lane


def test_failures_and_timeouts_are_marked(synthetic: RunResult) -> None:
    figure = draw_timeline(synthetic)
    bars = _bars(figure)
    failed, timeout, ok = bars["flaky:0:1"], bars["slow:0:1"], bars["plan:0:1"]
    assert failed.get_hatch() == OUTCOME_STYLES["failed"].hatch
    assert failed.get_facecolor() == to_rgba(OUTCOME_STYLES["failed"].fill)
    assert timeout.get_hatch() == OUTCOME_STYLES["timeout"].hatch
    assert timeout.get_facecolor() == to_rgba(OUTCOME_STYLES["timeout"].fill)
    assert ok.get_hatch() is None
    markers = {line.get_gid() for line in figure.axes[0].lines}
    assert {"marker:failed", "marker:timeout", "backoff:flaky"} <= markers
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend == ["succeeded", "failed", "timed out", "retry backoff", "critical path"]


def test_critical_path_is_highlighted(synthetic: RunResult) -> None:
    assert synthetic.critical_path() == (["plan", "flaky", "answer"], 5.0)
    figure = draw_timeline(synthetic)
    bars = _bars(figure)
    for gid, bar in bars.items():
        hot = gid.split(":")[0] in {"plan", "flaky", "answer"}
        assert (bar.get_edgecolor() == to_rgba(CRITICAL_COLOR)) is hot, gid
        assert (bar.get_linewidth() > 1.5) is hot, gid
    ticks = {t.get_text(): t for t in figure.axes[0].get_yticklabels()}
    assert ticks["flaky"].get_color() == CRITICAL_COLOR
    assert ticks["slow"].get_color() != CRITICAL_COLOR
    lanes = [p.get_gid() for p in figure.axes[0].patches if "critical-lane" in (p.get_gid() or "")]
    assert len(lanes) == 3


def test_axis_is_seconds_since_the_run_started(synthetic: RunResult) -> None:
    ax = draw_timeline(synthetic).axes[0]
    assert ax.get_xlim()[0] == 0.0
    assert ax.get_xlim()[1] == pytest.approx(5.0 * 1.03)
    assert "seconds" in ax.get_xlabel()


def test_steps_that_never_ran_say_why(synthetic: RunResult) -> None:
    texts = {t.get_gid(): t.get_text() for t in draw_timeline(synthetic).axes[0].texts}
    assert texts["reason:never"] == "skipped: dependency 'slow' failed"


def test_a_real_run_with_retries_and_a_timeout(tmp_path: Path) -> None:
    def flaky(q: int) -> int:
        if current().attempt == 1:
            raise ConnectionError("503")
        return q

    def hangs(q: int) -> int:
        if current().attempt == 1:
            current().wait(5)
        return q

    graph = StepGraph([
        Step("flaky", flaky, ["q"], retry=Retry(attempts=3, backoff=0.02)),
        Step("hangs", hangs, ["q"], timeout=0.5, retry=Retry(attempts=2, backoff=0.01)),
        Step("answer", lambda a, b: a + b, ["flaky", "hangs"]),
    ], inputs=["q"])
    result = run(graph, {"q": 1})
    figure = result.timeline(tmp_path / "run.png")
    assert (tmp_path / "run.png").stat().st_size > 5000
    outcomes = {gid: bar.get_hatch() for gid, bar in _bars(figure).items()}
    assert outcomes["flaky:0:1"] == OUTCOME_STYLES["failed"].hatch
    assert outcomes["hangs:0:1"] == OUTCOME_STYLES["timeout"].hatch
    assert outcomes["flaky:0:2"] is None and outcomes["hangs:0:2"] is None
    result.timeline(tmp_path / "run.svg")
    svg = (tmp_path / "run.svg").read_text()
    assert all(f">{name}<" in svg for name in graph)


def test_draws_into_given_axes(synthetic: RunResult) -> None:
    figure = Figure(figsize=(8, 3))
    ax = figure.add_subplot()
    assert draw_timeline(synthetic, ax=ax) is figure
    assert len(_bars(figure)) == 5
