"""DAG pictures: files, SVG text, status colours, critical path, legibility at scale.

Run as a script to write the 5-, 50- and 200-step pictures for a look::

    python tests/pictures/test_drawing.py [FOLDER]   # default: a new temporary folder
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from rxsteps import Attempt, CycleError, Retry, RunResult, Step, StepGraph, StepStatus, run
from rxsteps.pictures.drawing import STATUS_STYLES, draw_graph
from rxsteps.pictures.figures import CRITICAL_COLOR, format_seconds, save_figure, wrap_label
from rxsteps.pictures.layout import layered_layout
from rxsteps.pictures.palette import PALETTE
from tests.support.isolated import tree_env

_VERBS = ["fetch", "parse", "search", "rank", "embed", "summarize", "classify", "merge",
          "validate", "score", "lookup", "plan", "route", "extract", "translate", "review"]
_NOUNS = ["docs", "web", "user", "query", "notes", "index", "answer", "facts", "code",
          "context", "profile", "history", "citations", "table"]


def random_dag(size: int, seed: int) -> StepGraph:
    """A random layered DAG of ``size`` steps with agent-like names and one input."""
    rng = random.Random(seed)
    names: list[str] = []
    while len(names) < size:
        name = f"{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}"
        if rng.random() < 0.15:
            name += f"_{rng.choice(_NOUNS)}_{rng.choice(_NOUNS)}"
        names.append(name if name not in names else f"{name}_{len(names)}")
    depth = max(2, round(size ** 0.5))
    layers: list[list[str]] = [[] for _ in range(depth)]
    for i, name in enumerate(names):
        layers[min(depth - 1, i * depth // size)].append(name)
    steps = []
    for i, layer in enumerate(layers):
        for name in layer:
            if i == 0:
                deps = ["query"] if rng.random() < 0.7 else []
            else:
                pool = [m for earlier in layers[max(0, i - 3):i] for m in earlier]
                deps = rng.sample(pool, min(rng.choice([1, 1, 2, 2, 3]), len(pool)))
            steps.append(Step(name, lambda *args: None, deps))
    return StepGraph(steps, inputs=["query"])


def _by_gid(artists: Any, prefix: str) -> dict[str, Any]:
    """Artists whose gid is ``prefix:name``, by name."""
    found = {}
    for artist in artists:
        kind, _, name = (artist.get_gid() or "").partition(":")
        if kind == prefix:
            found[name] = artist
    return found


def _patches(figure: Figure, prefix: str) -> dict[str, Any]:
    return _by_gid(figure.axes[0].patches, prefix)


def _texts(figure: Figure, prefix: str) -> dict[str, Any]:
    return _by_gid(figure.axes[0].texts, prefix)


def _legend(figure: Figure) -> list[str]:
    legend = figure.axes[0].get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


@pytest.fixture(scope="module")
def mixed_run() -> RunResult:
    """A keep-going run with a success chain, a retried failure and a skipped step, with
    made-up times (so the critical path is load -> parse -> store, whatever the load)."""
    graph = StepGraph([
        Step("load", lambda q: q, ["query"]),
        Step("parse", lambda d: d, ["load"]),
        Step("check", lambda d: d, ["load"], retry=Retry(attempts=2, backoff=0.01)),
        Step("report", lambda c: c, ["check"]),
        Step("store", lambda p: p, ["parse"]),
    ], inputs=["query"])
    error = ValueError("boom")
    attempts = [
        Attempt("load", 0, 1, 0.0, 0.1, "succeeded"),
        Attempt("check", 0, 1, 0.1, 0.2, "failed", error),
        Attempt("check", 0, 2, 0.25, 0.3, "failed", error),
        Attempt("parse", 0, 1, 0.1, 0.6, "succeeded"),
        Attempt("store", 0, 1, 0.6, 0.7, "succeeded"),
    ]
    ok = StepStatus.SUCCEEDED
    return RunResult(
        graph=graph, inputs={"query": 1}, emitted={"load": [1], "parse": [1], "store": [1]},
        status={"load": ok, "parse": ok, "store": ok, "check": StepStatus.FAILED,
                "report": StepStatus.SKIPPED},
        errors={"check": error}, reasons={"report": "dependency 'check' failed"},
        started={"load": 0.0, "check": 0.1, "parse": 0.1, "store": 0.6},
        ended={"load": 0.1, "check": 0.3, "report": 0.3, "parse": 0.6, "store": 0.7},
        attempts=attempts, start=0.0, end=0.7)


# -- files ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_writes_each_format(tmp_path: Path, suffix: str) -> None:
    graph = random_dag(5, seed=1)
    figure = graph.draw(tmp_path / f"dag{suffix}")
    assert isinstance(figure, Figure)
    data = (tmp_path / f"dag{suffix}").read_bytes()
    assert len(data) > 1000
    assert data[:4] in (b"\x89PNG", b"%PDF") or b"<svg" in data[:2000]


def test_svg_keeps_every_label_as_text(tmp_path: Path, mixed_run: RunResult) -> None:
    path = tmp_path / "dag.svg"
    draw_graph(mixed_run.graph, path, result=mixed_run)
    svg = path.read_text()
    for name in [*mixed_run.graph, *mixed_run.graph.inputs]:
        assert f">{name}<" in svg, name
    assert "<text" in svg
    assert "critical path" in svg and "succeeded" in svg


def test_dollar_signs_are_not_math(tmp_path: Path) -> None:
    graph = StepGraph([Step("cost_$usd$", lambda: 1), Step("b", lambda a: a, ["cost_$usd$"])])
    result = run(graph)
    graph.draw(tmp_path / "dag.svg", result=result)
    result.timeline(tmp_path / "run.svg")
    assert ">cost_$usd$<" in (tmp_path / "dag.svg").read_text()
    assert ">cost_$usd$<" in (tmp_path / "run.svg").read_text()


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        random_dag(3, seed=0).draw(tmp_path / "dag.gif")


# -- colours, legend, critical path -------------------------------------------------------


def test_status_colours_and_legend(mixed_run: RunResult) -> None:
    figure = draw_graph(mixed_run.graph, result=mixed_run)
    nodes = _patches(figure, "node")
    expected = {"load": "succeeded", "parse": "succeeded", "store": "succeeded",
                "check": "failed", "report": "skipped"}
    for name, status in expected.items():
        assert nodes[name].get_facecolor() == to_rgba(STATUS_STYLES[status].fill), name
    assert nodes["query"].get_facecolor() not in {to_rgba(s.fill) for s in STATUS_STYLES.values()}
    assert _legend(figure) == ["succeeded", "failed", "skipped", "input", "critical path"]
    details = _texts(figure, "detail")
    assert "2 tries" in details["check"].get_text()


def test_cancelled_and_not_run_colours() -> None:
    graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"]),
                       Step("c", lambda a: a, ["a"])])
    result = RunResult(
        graph=graph, inputs={}, emitted={"a": [1]},
        status={"a": StepStatus.SUCCEEDED, "b": StepStatus.CANCELLED, "c": StepStatus.PENDING},
        errors={}, reasons={"b": "run cancelled"}, started={"a": 0.0, "b": 1.0},
        ended={"a": 1.0, "b": 1.5}, attempts=[Attempt("a", 0, 1, 0.0, 1.0, "succeeded"),
                                              Attempt("b", 0, 1, 1.0, 1.5, "cancelled")],
        start=0.0, end=1.5)
    nodes = _patches(draw_graph(graph, result=result), "node")
    assert nodes["b"].get_facecolor() == to_rgba(STATUS_STYLES["cancelled"].fill)
    assert nodes["c"].get_facecolor() == to_rgba(STATUS_STYLES["not run"].fill)
    assert nodes["c"].get_linestyle() in ("--", "dashed")


def test_critical_path_is_highlighted(mixed_run: RunResult) -> None:
    path, _ = mixed_run.critical_path()
    assert path == ["load", "parse", "store"]
    figure = draw_graph(mixed_run.graph, result=mixed_run)
    edges = _patches(figure, "edge")
    hot = {"load->parse", "parse->store"}
    for name, patch in edges.items():
        if name in hot:
            assert patch.get_edgecolor() == to_rgba(CRITICAL_COLOR)
            assert patch.get_linewidth() > 2
        else:
            assert patch.get_edgecolor() != to_rgba(CRITICAL_COLOR)
            assert patch.get_linewidth() <= 1.2
    nodes = _patches(figure, "node")
    outlined = {n for n, p in nodes.items() if p.get_edgecolor() == to_rgba(CRITICAL_COLOR)}
    assert outlined == set(path)
    assert nodes["load"].get_linewidth() > nodes["check"].get_linewidth()


def test_without_a_result_steps_and_inputs_look_different() -> None:
    graph = random_dag(5, seed=3)
    figure = draw_graph(graph)
    nodes = _patches(figure, "node")
    assert nodes["query"].get_facecolor() != nodes[next(iter(graph))].get_facecolor()
    assert _legend(figure) == ["step", "input"]


def test_draws_into_given_axes() -> None:
    figure = Figure(figsize=(6, 4))
    ax = figure.add_subplot()
    assert draw_graph(random_dag(8, seed=2), ax=ax) is figure
    assert len(_patches(figure, "node")) == 9


# -- graphs that do not validate ------------------------------------------------------------


def cyclic_graph(ghost: bool = True) -> StepGraph:
    """load -> plan -> act -> check -> plan (a cycle); report also needs a missing 'ghost'."""
    graph = StepGraph(inputs=["query"])
    graph.add(Step("load", lambda q: q, ["query"]))
    graph.add(Step("plan", lambda a, c: a, ["load", "check"]))
    graph.add(Step("act", lambda p: p, ["plan"]))
    graph.add(Step("check", lambda a: a, ["act"]))
    graph.add(Step("report", lambda a, g: a, ["act", "ghost"] if ghost else ["act"]))
    return graph


def test_a_cycle_is_refused_unless_drawn_as_declared() -> None:
    with pytest.raises(CycleError):
        draw_graph(cyclic_graph(ghost=False))


def test_a_cycle_is_drawn_in_vermillion(tmp_path: Path) -> None:
    graph = cyclic_graph()
    figure = draw_graph(graph, tmp_path / "cycle.png", validate=False)
    red = to_rgba(PALETTE["failed"].edge)
    edges = _patches(figure, "edge")
    cycle = {"plan->act", "act->check", "check->plan"}
    assert {name for name, patch in edges.items() if patch.get_edgecolor() == red} == cycle
    nodes = _patches(figure, "node")
    assert {name for name, patch in nodes.items() if patch.get_edgecolor() == red} == {
        "plan", "act", "check", "ghost"}  # the cycle, and the missing name's dashed box
    assert nodes["ghost"].get_linestyle() in ("--", "dashed")
    assert {"load", "report", "query"} <= set(nodes)
    title = next(t.get_text() for t in figure.axes[0].texts if t.get_gid() == "title")
    with pytest.raises(CycleError) as refused:
        cyclic_graph(ghost=False).validate()
    assert set(title.removeprefix("cycle in step graph: ").split(" -> ")) == set(
        refused.value.cycle)
    assert _legend(figure)[-2:] == ["missing", "cycle"]


def test_the_title_names_the_cycle_as_the_error_does() -> None:
    # the same rotation: the picture said "plan -> act -> check -> plan", the error
    # "check -> plan -> act -> check"
    with pytest.raises(CycleError) as refused:
        cyclic_graph(ghost=False).validate()
    figure = draw_graph(cyclic_graph(ghost=False), validate=False)
    title = next(t.get_text() for t in figure.axes[0].texts if t.get_gid() == "title")
    assert title == str(refused.value)


def test_a_step_that_depends_on_itself_is_a_cycle_too() -> None:
    graph = StepGraph()
    graph.add(Step("again", lambda a: a, ["again"]))
    figure = draw_graph(graph, validate=False)
    assert _patches(figure, "edge")["again->again"].get_edgecolor() == to_rgba(
        PALETTE["failed"].edge)


# -- legibility -----------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "seed", "overview"),
                         [(5, 5, None), (50, 50, None), (200, 200, False), (300, 300, None)])
def test_labels_fit_their_boxes_and_boxes_never_overlap(size: int, seed: int,
                                                         overview: bool | None) -> None:
    graph = random_dag(size, seed)
    figure = draw_graph(graph, overview=overview)
    renderer = FigureCanvasAgg(figure).get_renderer()  # type: ignore[no-untyped-call]
    nodes = {**_patches(figure, "node"), **_patches(figure, "group")}
    boxes = {name: patch.get_window_extent(renderer) for name, patch in nodes.items()}
    for name, text in _texts(figure, "label").items():
        assert text.get_fontsize() >= 9
        inner = text.get_window_extent(renderer)
        outer = boxes[name]
        assert outer.x0 - 1 <= inner.x0 and inner.x1 <= outer.x1 + 1, name
        assert outer.y0 - 1 <= inner.y0 and inner.y1 <= outer.y1 + 1, name
    ordered = sorted(boxes.values(), key=lambda b: b.x0)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.x0 >= a.x1:
                break
            assert a.y1 <= b.y0 or b.y1 <= a.y0, "two boxes overlap"
    width, height = figure.get_size_inches()
    assert width < 12 * max(2, round(size ** 0.5)) and height < 0.9 * size + 4


def _bezier_samples(points: list[tuple[float, float]]) -> np.ndarray:
    t = np.linspace(0, 1, 12)[:, None]
    out = []
    for (x0, y0), (x1, y1) in pairwise(points):
        p0, p3 = np.array([x0, y0]), np.array([x1, y1])
        p1, p2 = np.array([(x0 + x1) / 2, y0]), np.array([(x0 + x1) / 2, y1])
        out.append((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2
                   + t ** 3 * p3)
    return np.vstack(out)


@pytest.mark.parametrize(("size", "seed"), [(50, 7), (200, 8)])
def test_edges_never_cross_a_box(size: int, seed: int) -> None:
    dag = random_dag(size, seed).to_networkx()
    sizes = {n: (0.4 + 0.02 * len(str(n)), 0.35) for n in dag}
    layout = layered_layout(dag, sizes, pinned=["query"])
    names = list(layout.positions)
    centre = np.array([layout.positions[n] for n in names])
    half = np.array([layout.sizes[n] for n in names]) / 2 - 0.01
    for (u, v), route in layout.routes.items():
        samples = _bezier_samples(route)
        inside = (np.abs(samples[:, None, :] - centre[None]) < half[None]).all(axis=2)
        hit = {names[j] for j in np.nonzero(inside.any(axis=0))[0]} - {u, v}
        assert not hit, f"edge {u}->{v} crosses {hit}"


def test_layers_run_left_to_right_and_inputs_come_first() -> None:
    graph = random_dag(60, seed=4)
    dag = graph.to_networkx()
    layout = layered_layout(dag, {n: (1.0, 0.4) for n in dag}, pinned=graph.inputs)
    x = {n: layout.positions[n][0] for n in dag}
    assert all(x[u] < x[v] for u, v in dag.edges)
    assert "query" in layout.layers[0]


def test_wrap_label() -> None:
    assert wrap_label("short") == ["short"]
    assert wrap_label("a_very_long_step_name_with_parts", width=12) == [
        "a_very_long_", "step_name_", "with_parts"]
    assert all(len(line) <= 10 for line in wrap_label("x" * 100, width=10))
    assert wrap_label("x" * 100, width=10)[-1].endswith("…")


def test_format_seconds() -> None:
    assert [format_seconds(s) for s in (0.0004, 1.5, 42.0, 61.0)] == [
        "0.000 s", "1.50 s", "42.0 s", "1m 01s"]


def test_save_figure_needs_a_format_for_file_objects() -> None:
    with pytest.raises(ValueError, match="format="):
        save_figure(Figure(), __import__("io").BytesIO())


# -- optional dependency ----------------------------------------------------------------------


def test_importing_rxsteps_does_not_import_matplotlib() -> None:
    code = "import sys, rxsteps, rxsteps.cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=tree_env())
    assert out.stdout.strip() == "False"


def test_drawing_without_matplotlib_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from rxsteps import Step, StepGraph\n"
        "try:\n    StepGraph([Step('a', lambda: 1)]).draw()\n"
        "except ImportError as e:\n    print(e)\n"
        "print(StepGraph([Step('a', lambda: 1)])._repr_png_())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=tree_env())
    assert out.stdout.splitlines() == [
        "drawing needs matplotlib: install the draw extra from your rxsteps clone: "
        "pip install -e '.[draw]'", "None"]


# -- pictures to look at --------------------------------------------------------------------


def test_renders_5_50_200_step_graphs(tmp_path: Path) -> None:
    folder = Path(os.environ.get("RXSTEPS_PICTURES", tmp_path))
    for path in render_pictures(folder):
        assert path.stat().st_size > 5000


def render_pictures(folder: Path) -> list[Path]:
    """Draw random 5-, 50- and 200-step DAGs into ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for size in (5, 50, 200):
        path = folder / f"dag-{size}.png"
        draw_graph(random_dag(size, seed=size), path, overview=False)
        paths.append(path)
    return paths


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="rxsteps-pictures-")
    for picture in render_pictures(Path(folder)):
        print(picture)
