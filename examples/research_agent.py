"""A research agent as a step graph: run it, watch it, and look at the pictures.

    python examples/research_agent.py [OUTPUT_DIR]

Everything is simulated (no network): each "tool" waits a made-up latency. The graph
shows the usual shapes of an agent workflow:

- ``plan`` turns the question into search queries;
- three tools run in parallel as soon as the plan exists — ``search_arxiv`` fails
  once and is retried, ``fetch_pages`` hangs once and is cut off by its timeout;
- ``summarize`` streams its summary token by token while ``cite`` runs beside it;
- ``answer`` waits for the whole summary (``join="collect"``) and the citations.

The script prints every event as it happens, then writes ``dag.png`` (the graph,
coloured by how the run went, critical path outlined) and ``timeline.png`` (one bar
per attempt) into OUTPUT_DIR, or a temporary folder.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rxsteps import EventKind, Retry, StepEvent, StepGraph, current, run

graph = StepGraph(inputs=["question"])


def wait(seconds: float) -> None:
    """Pretend to work; stop early if the run gives up on this attempt."""
    current().wait(seconds)


@graph.step
def plan(question: str) -> list[str]:
    """Split the question into search queries."""
    wait(0.1)
    return [f"{question} - background", f"{question} - recent results"]


@graph.step(depends=["plan"])
def search_web(queries: list[str]) -> list[str]:
    """Search the web."""
    wait(0.4)
    return [f"web hit for {q!r}" for q in queries]


@graph.step(depends=["plan"], retry=Retry(attempts=3, backoff=0.1))
def search_arxiv(queries: list[str]) -> list[str]:
    """Search arXiv; the first attempt fails like a flaky API."""
    wait(0.1)
    if current().attempt == 1:
        raise ConnectionError("503 Service Unavailable")
    wait(0.25)
    return [f"paper about {q!r}" for q in queries]


@graph.step(depends=["plan"], timeout=0.5, retry=Retry(attempts=2, backoff=0.05))
def fetch_pages(queries: list[str]) -> list[str]:
    """Fetch pages; the first attempt hangs until the timeout abandons it."""
    wait(10 if current().attempt == 1 else 0.1)
    return ["page: eager scheduling", "page: critical paths"]


@graph.step(depends=["search_web", "search_arxiv", "fetch_pages"])
def rank(web: list[str], papers: list[str], pages: list[str]) -> list[str]:
    """Keep the best five sources."""
    wait(0.05)
    return (papers + pages + web)[:5]


@graph.step(depends=["question", "rank"])
def summarize(question: str, sources: list[str]) -> Iterator[str]:
    """Stream a summary, one token at a time."""
    for token in f"{len(sources)} sources agree: start each step when its inputs exist.".split():
        wait(0.03)
        yield token


@graph.step(depends=["rank"])
def cite(sources: list[str]) -> list[str]:
    """Number the sources."""
    wait(0.08)
    return [f"[{n}] {source}" for n, source in enumerate(sources, 1)]


@graph.step(depends=["summarize", "cite"], join="collect")
def answer(tokens: list[str], citations: list[list[str]]) -> str:
    """Put the summary and the citations together."""
    return " ".join(tokens) + "\n" + "\n".join(citations[-1])


def show(event: StepEvent, start: float) -> None:
    """Print one event as a line a person can follow."""
    if event.kind is EventKind.EMITTED and event.step != "summarize":
        return
    at = f"{event.time - start:6.2f}s"
    if event.kind is EventKind.EMITTED:
        print(f"{at}  {event.step:<13} streamed {event.value!r}")
    elif event.kind is EventKind.RETRYING:
        print(f"{at}  {event.step:<13} attempt {event.attempt} failed ({event.error}); "
              f"retrying in {event.delay:.2f}s")
    elif event.kind is EventKind.STARTED and event.attempt > 1:
        print(f"{at}  {event.step:<13} started attempt {event.attempt}")
    else:
        print(f"{at}  {event.step:<13} {event.kind.value}")


def main() -> int:
    """Run the agent, print its events, write the pictures."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="rxsteps-"))
    out.mkdir(parents=True, exist_ok=True)
    print("The workflow:")
    print(graph.to_text())
    print("\nRunning it:")
    start = time.monotonic()
    result = run(graph, {"question": "Why run agent steps eagerly?"},
                 on_event=lambda event: show(event, start))
    path, seconds = result.critical_path()
    print(f"\nDone in {result.duration:.2f}s. The critical path, which set that time, "
          f"is {' -> '.join(path)} ({seconds:.2f}s).")
    print("\nAnswer:\n" + result["answer"])
    graph.draw(out / "dag.png", result=result)
    result.timeline(out / "timeline.png")
    print(f"\nPictures: {out / 'dag.png'} (the graph) and {out / 'timeline.png'} (the run).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
