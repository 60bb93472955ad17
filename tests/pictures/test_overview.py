"""Big graphs: above a readable size the DAG is an overview of groups and the timeline
a bounded summary, both small and quick; the full pictures on request.

Run as a script to write the 300-step pictures for a look::

    python tests/pictures/test_overview.py [FOLDER]   # default: a new temporary folder
"""

from __future__ import annotations

import io
import random
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from rxsteps import Attempt, RunResult, Step, StepGraph, StepStatus
from rxsteps.pictures.drawing import draw_graph
from rxsteps.pictures.overview import OVERVIEW_ABOVE, group_dag, group_names
from rxsteps.pictures.timeline import MAX_LANES, draw_timeline

_VERBS = ["fetch", "parse", "search", "rank", "embed", "summarize", "classify", "merge"]
_NOUNS = ["docs", "web", "user", "query", "notes", "index", "answer", "facts"]


def tangled(size: int, seed: int) -> StepGraph:
    """``size`` steps with distinct agent-like names and random links to earlier steps."""
    rng = random.Random(seed)
    steps: list[Step] = []
    for i in range(size):
        name = f"{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}_{i}"
        pool = [s.id for s in steps[-40:]]
        deps = rng.sample(pool, min(len(pool), rng.choice([1, 2, 3]))) if pool else ["query"]
        steps.append(Step(name, lambda *a: None, deps))
    return StepGraph(steps, inputs=["query"])


def fan_out(width: int) -> StepGraph:
    """plan → fetch_i → summarize_i → answer: ``2 * width + 2`` steps."""
    steps = [Step("plan", lambda q: q, ["query"])]
    for i in range(width):
        steps += [Step(f"fetch_{i}", lambda p: p, ["plan"]),
                  Step(f"summarize_{i}", lambda f: f, [f"fetch_{i}"])]
    steps.append(Step("answer", lambda *s: s, [f"summarize_{i}" for i in range(width)]))
    return StepGraph(steps, inputs=["query"])


def finished(graph: StepGraph, failing: int = 7) -> RunResult:
    """A made-up run of ``graph``: every step 10 ms after its latest dependency, one in
    ``failing`` failed (and its dependents skipped)."""
    start: dict[str, float] = {}
    status: dict[str, StepStatus] = {}
    attempts = []
    for k, name in enumerate(graph.order()):
        deps = [d for d in graph[name].depends if d in graph]
        if any(status[d] is not StepStatus.SUCCEEDED for d in deps):
            status[name] = StepStatus.SKIPPED
            continue
        start[name] = max((start[d] + 0.01 for d in deps), default=0.0)
        ok = k % failing != 3
        status[name] = StepStatus.SUCCEEDED if ok else StepStatus.FAILED
        attempts.append(Attempt(name, 0, 1, start[name], start[name] + 0.01,
                                "succeeded" if ok else "failed", None if ok else ValueError()))
    end = max(start.values()) + 0.01
    return RunResult(
        graph=graph, inputs={"query": 1}, emitted={}, status=status,
        errors={n: ValueError() for n, s in status.items() if s is StepStatus.FAILED},
        reasons={n: "dependency failed" for n, s in status.items() if s is StepStatus.SKIPPED},
        started=start, ended={n: start.get(n, 0.0) + 0.01 for n in status},
        attempts=attempts, start=0.0, end=end)


def png(figure: object) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")  # type: ignore[attr-defined]
    return buffer.getvalue()


def pixels(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def test_a_300_step_graph_is_a_small_quick_overview() -> None:
    graph = tangled(300, seed=1)
    began = time.perf_counter()
    data = png(draw_graph(graph))
    seconds = time.perf_counter() - began
    width, height = pixels(data)
    assert width <= 2600 and height <= 1200, (width, height)  # was 4983 × 4083
    assert len(data) < 400_000, len(data)  # was 6-7 MB
    assert seconds < 3.0, seconds  # was about 3 s on this kind of machine, generous bound
    figure = draw_graph(graph)
    groups = [p for p in figure.axes[0].patches if (p.get_gid() or "").startswith("group:")]
    assert 2 <= len(groups) <= 12
    title = next(t.get_text() for t in figure.axes[0].texts if t.get_gid() == "title")
    assert title == f"overview of 300 steps in {len(groups)} groups (every step on request)"


def test_an_overview_of_one_group_says_group() -> None:
    graph = StepGraph([Step(f"fetch_{i}", lambda q: q, ["query"]) for i in range(2)],
                      inputs=["query"])
    figure = draw_graph(graph, overview=True)
    title = next(t.get_text() for t in figure.axes[0].texts if t.get_gid() == "title")
    assert title == "overview of 2 steps in 1 group (every step on request)"  # was "1 groups"


def layered(size: int, width: int) -> StepGraph:
    """``size`` steps ``s0`` … in layers of ``width``, each on two of the layer before."""
    rng = random.Random(size)
    steps = [Step(f"s{i}", lambda *a: None,
                  [f"s{j}" for j in rng.sample(range(i // width * width - width,
                                                     i // width * width), 2)]
                  if i >= width else ["query"]) for i in range(size)]
    return StepGraph(steps, inputs=["query"])


def _group_boxes(figure: object) -> list[str]:
    return [p.get_gid() for p in figure.axes[0].patches  # type: ignore[attr-defined]
            if (p.get_gid() or "").startswith("group:")]


def test_steps_all_named_alike_are_drawn_in_layers_not_one_box() -> None:
    chain = StepGraph([Step(f"step_{i}", lambda x: x, [f"step_{i - 1}" if i else "query"])
                       for i in range(100)], inputs=["query"])
    for graph in (layered(300, width=30), chain):
        groups = set(group_dag(graph.to_networkx(), 10, pinned=graph.inputs).values())
        assert len(groups - {"query"}) >= 2, groups  # was {"s# ×300"}, {"step_# ×100"}
        boxes = _group_boxes(draw_graph(graph))
        assert len(boxes) >= 2 and all(b.startswith("group:layer") for b in boxes), boxes


def test_the_full_picture_on_request() -> None:
    graph = fan_out(45)
    figure = draw_graph(graph, overview=False)
    nodes = [p for p in figure.axes[0].patches if (p.get_gid() or "").startswith("node:")]
    assert len(nodes) == len(graph) + 1  # and the input
    small = draw_graph(fan_out(10), overview=True)
    assert any((p.get_gid() or "").startswith("group:") for p in small.axes[0].patches)


def test_repeated_steps_collapse_into_one_box_each() -> None:
    graph = fan_out(60)
    assert len(graph) > OVERVIEW_ABOVE
    result = finished(graph)
    figure = draw_graph(graph, result=result)
    boxes = {p.get_gid() for p in figure.axes[0].patches
             if (p.get_gid() or "").startswith(("group:", "node:"))}
    assert boxes == {"node:query", "node:plan", "group:fetch_# ×60", "group:summarize_# ×60",
                     "node:answer"}
    texts = {t.get_gid(): t.get_text() for t in figure.axes[0].texts}
    fetches = [result.status[f"fetch_{i}"] for i in range(60)]
    assert texts["detail:fetch_# ×60"] == (
        f"{fetches.count(StepStatus.SUCCEEDED)} succeeded · "
        f"{fetches.count(StepStatus.FAILED)} failed")
    strips = {p.get_gid() for p in figure.axes[0].patches
              if (p.get_gid() or "").startswith("strip:fetch")}
    assert strips == {"strip:fetch_# ×60:succeeded", "strip:fetch_# ×60:failed"}


def test_groupings() -> None:
    assert group_names(["a_1", "a_2", "b"], limit=5) == {"a_1": "a_# ×2", "a_2": "a_# ×2",
                                                          "b": "b"}
    many = [f"{verb}_{i}x" for i, verb in enumerate(_VERBS * 3)]
    labels = group_names(many, limit=4)
    assert len(set(labels.values())) == 4 and "other steps ×" in "".join(labels.values())
    dag = tangled(120, seed=2).to_networkx()
    grouped = group_dag(dag, 30, pinned=["query"], layers=6)
    assert grouped["query"] == "query"
    assert len(set(grouped.values()) - {"query"}) <= 6
    assert all(label.startswith("layer") for name, label in grouped.items() if name != "query")


def test_a_300_step_timeline_has_a_bounded_height() -> None:
    graph = tangled(300, seed=3)
    result = finished(graph)
    figure = draw_timeline(result)
    width, height = pixels(png(figure))
    assert height <= 1700 and width <= 1000, (width, height)  # was 800 × 10,370
    ax = figure.axes[0]
    lanes = [t.get_gid() for t in ax.get_yticklabels()]
    assert len(lanes) <= MAX_LANES
    bars = [p for p in ax.patches if (p.get_gid() or "").startswith("attempt:")]
    assert len(bars) == len(result.attempts)  # every attempt is still drawn
    critical = result.critical_path()[0]
    failed = [s for s, st in result.status.items() if st is StepStatus.FAILED]
    own = {gid.removeprefix("lane:") for gid in lanes}
    assert set(critical) <= own and set(failed[:10]) <= own
    summary = next(t.get_text() for t in figure.texts if t.get_gid() == "summary")
    assert f"300 steps in {len(lanes)} lanes" in summary
    full = draw_timeline(result, overview=False)
    assert len(full.axes[0].get_yticklabels()) == 300


def test_result_timeline_draws_every_lane_on_request() -> None:
    result = finished(tangled(300, seed=3))
    assert len(result.timeline(overview=False).axes[0].get_yticklabels()) == 300
    assert len(result.timeline().axes[0].get_yticklabels()) <= MAX_LANES
    assert len(result.timeline(overview=True).axes[0].get_yticklabels()) <= MAX_LANES


def render_pictures(folder: Path) -> list[Path]:
    """The 300-step overviews, with and without a run, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    graph = tangled(300, seed=1)
    result = finished(graph)
    paths = [folder / "dag-300.png", folder / "run-dag-300.png",
             folder / "fan-out-run-dag.png", folder / "timeline-300.png"]
    draw_graph(graph, paths[0])
    draw_graph(graph, paths[1], result=result)
    draw_graph(fan_out(60), paths[2], result=finished(fan_out(60)))
    draw_timeline(result, paths[3])
    return paths


def test_renders_big_pictures(tmp_path: Path) -> None:
    assert all(path.stat().st_size > 5000 for path in render_pictures(tmp_path))


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="rxsteps-big-")
    for path in render_pictures(Path(folder)):
        print(path)
