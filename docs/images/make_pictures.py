"""Regenerate every picture the documentation uses, with rxsteps itself.

Run from the repository root, with the ``draw`` extra installed::

    python docs/images/make_pictures.py            # every picture
    python docs/images/make_pictures.py eager      # only those whose name has "eager"

The graphs are the ones the pages show, so a picture is what the page's code draws.
A graph drawn without a run is the same every time. A picture of a run is not quite:
its steps sleep for real, so bars move by a millisecond or two from one run to the
next; the durations are chosen large enough that this cannot be seen. The one
picture that is not a single rxsteps run is ``waves-timeline.png``: each wave of the
eager page's example is its own rxsteps run, the next starting when the whole wave
ended, and the three results are stitched into one ``RunResult`` to be drawn. The
picture says so.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rxsteps import Retry, RunResult, Step, StepGraph, StepStatus, current, routes, run
from rxsteps.cli.demo import build_graph as build_demo_graph
from rxsteps.cli.demo import demo_inputs

HERE = Path(__file__).resolve().parent


# -- getting-started.md ------------------------------------------------------------------


def getting_started_graph() -> StepGraph:
    """The research workflow of the getting-started page."""

    def plan(question: str) -> list[str]:
        return [f"{question} history", f"{question} benchmarks"]

    def web_search(queries: list[str]) -> list[str]:
        time.sleep(0.2)
        return [f"web: {q}" for q in queries]

    def paper_search(queries: list[str]) -> list[str]:
        time.sleep(0.3)
        return [f"paper: {q}" for q in queries]

    def answer(question: str, web: list[str], papers: list[str]) -> str:
        return f"{question}: {len(web) + len(papers)} sources"

    return StepGraph(
        [
            Step("plan", plan, ["question"]),
            Step("web", web_search, ["plan"]),
            Step("papers", paper_search, ["plan"]),
            Step("answer", answer, ["question", "web", "papers"]),
        ],
        inputs=["question"],
    )


def getting_started() -> None:
    graph = getting_started_graph()
    graph.draw(HERE / "getting-started-dag.png")
    result = run(graph, inputs={"question": "eager scheduling"})
    result.timeline(HERE / "getting-started-timeline.png")


# -- guides/drawing.md -------------------------------------------------------------------


def drawing_graph() -> StepGraph:
    """The agent of the drawing guide: a retried tool, a hung one, a broken one."""

    def plan(question: str) -> list[str]:
        current().wait(0.05)
        return [question, f"{question} 2024"]

    def web(queries: list[str]) -> list[str]:
        if current().attempt == 1:
            current().wait(10)  # a hung connection: the timeout abandons it
        current().wait(0.1)
        return [f"web: {q}" for q in queries]

    def papers(queries: list[str]) -> list[str]:
        current().wait(0.1)
        if current().attempt == 1:
            raise ConnectionError("503 from the paper index")
        current().wait(0.3)
        return [f"paper: {q}" for q in queries]

    def news(queries: list[str]) -> list[str]:
        current().wait(0.15)
        raise PermissionError("news API: key revoked")

    def headline(items: list[str]) -> str:
        return items[0]

    def answer(question: str, web: list[str], papers: list[str]) -> str:
        current().wait(0.05)
        return f"{question}: {len(web) + len(papers)} sources"

    return StepGraph(
        [
            Step("plan", plan, ["question"]),
            Step("web", web, ["plan"], timeout=0.15, retry=Retry(attempts=2, backoff=0)),
            Step("papers", papers, ["plan"], retry=Retry(attempts=3, backoff=0.05)),
            Step("news", news, ["plan"]),
            Step("headline", headline, ["news"]),
            Step("answer", answer, ["question", "web", "papers"]),
        ],
        inputs=["question"],
    )


def drawing() -> None:
    graph = drawing_graph()
    graph.draw(HERE / "drawing-dag.png")
    result = run(graph, inputs={"question": "eager scheduling"}, fail_fast=False)
    assert result.status["headline"] is StepStatus.SKIPPED, result.status
    graph.draw(HERE / "drawing-run-dag.png", result=result)
    result.timeline(HERE / "drawing-timeline.png")


def demo() -> None:
    """What ``rxsteps demo`` draws (the README shows it too)."""
    graph = build_demo_graph()
    result = run(graph, inputs=demo_inputs())
    graph.draw(HERE / "demo-dag.png", result=result)
    result.timeline(HERE / "demo-timeline.png")


# -- concepts/eager.md -------------------------------------------------------------------


SCALE = 0.65  # seconds on the x axis of both timelines


def takes(seconds: float) -> Callable[..., float]:
    def action(*_: Any) -> float:
        time.sleep(seconds)
        return seconds

    return action


def eager_graph() -> StepGraph:
    return StepGraph([
        Step("A", lambda: 0.0),
        Step("B", takes(0.1), ["A"]),
        Step("C", takes(0.3), ["A"]),
        Step("E", takes(0.3), ["B"]),
    ])


def eager() -> None:
    result = run(eager_graph())
    figure = result.timeline()
    figure.axes[0].set_xlim(0.0, SCALE)  # the scale of the waves picture, to compare
    figure.savefig(HERE / "eager-timeline.png")


def waves() -> None:
    """The same steps in waves: one rxsteps run per wave, stitched into one result."""
    graph = eager_graph()
    wave1 = run(StepGraph([Step("A", lambda: 0.0)]))
    wave2 = run(
        StepGraph([Step("B", takes(0.1), ["A"]), Step("C", takes(0.3), ["A"])], inputs=["A"]),
        inputs={"A": wave1["A"]},
    )
    wave3 = run(StepGraph([Step("E", takes(0.3), ["B"])], inputs=["B"]),
                inputs={"B": wave2["B"]})
    parts = [wave1, wave2, wave3]
    stitched = RunResult(
        graph=graph,
        inputs={},
        emitted={step: part.emitted(step) for part in parts for step in part.status},
        status={step: s for part in parts for step, s in part.status.items()},
        errors={},
        reasons={},
        started={step: t for part in parts for step, t in part.started.items()},
        ended={step: t for part in parts for step, t in part.ended.items()},
        attempts=[a for part in parts for a in part.attempts],
        start=wave1.start,
        end=wave3.end,
    )
    figure = stitched.timeline()
    figure.axes[0].set_xlim(0.0, SCALE)
    figure.text(0.99, 0.02, "waves: one rxsteps run per wave (A | B, C | E), stitched together",
                ha="right", va="bottom", fontsize=8, color="#52606d", style="italic")
    figure.savefig(HERE / "waves-timeline.png")


# -- guides/drawing.md: big graphs and cycles --------------------------------------------


def fan_out_graph(width: int = 60) -> StepGraph:
    """The big graph of the drawing guide: a plan fanned out to ``width`` fetches and
    summaries, ranked in pairs, then one answer."""

    def summarize(page: str) -> str:
        if page.endswith("7"):  # fetch_7, fetch_17, ... fail
            raise ValueError("unreadable page")
        return page

    steps = [Step("plan", lambda q: q, ["question"])]
    for i in range(width):
        steps.append(Step(f"fetch_{i}", lambda plan, i=i: f"{plan} {i}", ["plan"]))
        steps.append(Step(f"summarize_{i}", summarize, [f"fetch_{i}"]))
    for j in range(width // 2):
        steps.append(Step(f"rank_{j}", lambda a, b: a + b,
                          [f"summarize_{2 * j}", f"summarize_{2 * j + 1}"]))
    steps.append(Step("answer", lambda *ranked: len(ranked),
                      [f"rank_{j}" for j in range(width // 2)]))
    return StepGraph(steps, inputs=["question"])


def cyclic_graph() -> StepGraph:
    """The broken graph of the drawing guide: check feeds plan back."""
    graph = StepGraph(inputs=["question"])
    graph.add(Step("plan", lambda q, c: q, ["question", "check"]))
    graph.add(Step("act", lambda p: p, ["plan"]))
    graph.add(Step("check", lambda a: a, ["act"]))
    graph.add(Step("report", lambda a: a, ["act"]))
    return graph


def big() -> None:
    graph = fan_out_graph()
    result = run(graph, inputs={"question": "q"}, fail_fast=False)
    graph.draw(HERE / "drawing-overview.png", result=result)
    result.timeline(HERE / "drawing-overview-timeline.png")
    from rxsteps.pictures import draw_graph

    draw_graph(cyclic_graph(), HERE / "drawing-cycle.png", validate=False)


# -- guides/limits.md ----------------------------------------------------------------------


def limits_graph() -> StepGraph:
    """The agent of the limits guide: five model calls and a search behind a plan,
    then an answer; the model allows two calls at a time."""
    return StepGraph([
        Step("plan", takes(0.1), uses="llm"),
        *(Step(f"summarise {i}", takes(0.2), ["plan"], uses="llm") for i in range(1, 5)),
        Step("search", takes(0.15), ["plan"], uses="web"),
        Step("rank", takes(0.1), ["search"], uses="llm"),
        Step("answer", takes(0.1), [*(f"summarise {i}" for i in range(1, 5)), "rank"],
             uses="llm"),
    ])


def limits() -> None:
    result = run(limits_graph(), limits={"llm": 2, "web": 4})
    result.timeline(HERE / "limits-timeline.png")
# -- guides/control-flow.md ---------------------------------------------------------------


def control_flow_graph() -> StepGraph:
    """The guide's router: a plan picks the tools, the web branch cites each of its 12
    pages (a mapped step); the answer merges what ran."""

    def plan(question: str) -> list[str]:
        time.sleep(0.05)
        return ["web"] if "news" in question else ["maths"]

    def tool(name: str) -> Callable[..., str]:
        def action(question: str, route: Any) -> str:
            time.sleep(0.1)
            return f"{name}: {question}"

        return action

    def fail(question: str) -> str:
        raise ConnectionError("index offline")

    return StepGraph([
        Step("plan", plan, ["question"]),
        Step("web", tool("web"), ["question", "plan"], when=routes("plan", "web")),
        Step("maths", tool("maths"), ["question", "plan"], when=routes("plan", "maths")),
        Step("pages", lambda web: [f"page {i}" for i in range(12)], ["web"]),
        Step("cite", takes(0.05), ["pages"], map="pages"),
        Step("archive", fail, ["question"]),
        Step("quote", lambda found: found, ["archive"]),
        Step("answer", takes(0.05), ["web", "maths", "cite"],
             optional=["web", "maths", "cite"]),
    ], inputs=["question"])


def control_flow() -> None:
    graph = control_flow_graph()
    result = run(graph, inputs={"question": "today's news"}, fail_fast=False,
                 max_concurrency=4)
    assert result.reasons["maths"] == "condition false", result.reasons
    assert len(result["cite"]) == 12
    graph.draw(HERE / "control-flow-dag.png", result=result)


PICTURES: dict[str, Callable[[], None]] = {
    "getting-started": getting_started,
    "drawing": drawing,
    "demo": demo,
    "eager": eager,
    "waves": waves,
    "big": big,
    "limits": limits,
    "control-flow": control_flow,
}


def main(argv: list[str]) -> int:
    chosen = [name for name in PICTURES if not argv or any(word in name for word in argv)]
    for name in chosen:
        started = time.perf_counter()
        PICTURES[name]()
        print(f"{name}: {time.perf_counter() - started:.2f} s")
    print("written to", HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
