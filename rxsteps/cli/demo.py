"""The bundled demo: a simulated research agent, offline, done in about 1.5 seconds.

``rxsteps demo`` runs it with live progress and writes its pictures; this module only
builds the workflow. Nothing here touches the network: every "tool" sleeps for a
made-up latency and returns canned text. What it shows:

- **fan-out** — ``plan`` feeds five tool calls that run in parallel;
- **retry** — ``arxiv_search`` fails once with a 503 and succeeds on its second attempt
  (:class:`~rxsteps.Retry`);
- **timeout** — ``fetch_pages`` hangs on its first attempt, is abandoned after 0.5 s
  and answers on the next one;
- **streaming** — ``draft`` is a generator yielding the answer token by token, while
  ``cite`` runs beside it;
- **join** — ``answer`` collects every token (``join="collect"``) and the citations.

Every action waits with :meth:`rxsteps.StepContext.wait`, so a cancelled run (Ctrl-C)
stops at once.

Example:
    >>> from rxsteps import run
    >>> graph = build_graph()
    >>> sorted(graph.inputs), len(graph)
    (['question'], 10)
    >>> result = run(graph, inputs={"question": QUESTION})  # doctest: +SKIP
    >>> result["answer"].startswith("Eager")  # doctest: +SKIP
    True
"""

from __future__ import annotations

from typing import Any

from ..context import current
from ..graph import StepGraph
from ..retry import Retry
from ..step import Step

__all__ = ["QUESTION", "build_graph", "demo_inputs"]

#: The question the demo agent researches.
QUESTION = "Why do eager step graphs finish sooner than staged pipelines?"

_SOURCES = {
    "web_search": ["blog: 'Stop waiting for the slowest stage'", "docs: reactivex operators"],
    "wiki_lookup": ["wiki: Critical path method", "wiki: Dataflow programming"],
    "arxiv_search": ["arXiv: Scheduling DAGs of LLM calls", "arXiv: Speculative tool use"],
    "fetch_pages": ["page: rxsteps README", "page: makespan and list scheduling"],
}
_ANSWER = (
    "Eager graphs start every step the moment its own inputs exist, so independent "
    "tool calls overlap and the run takes as long as its critical path, not the sum "
    "of its stages."
)


def _pause(seconds: float) -> None:
    """Simulated latency that ends early if the run is cancelled or times out."""
    current().wait(seconds)


def _plan(question: str) -> list[str]:
    _pause(0.15)
    return [f"{question} ({angle})" for angle in ("theory", "practice", "tools")]


def _tool(name: str, latency: float) -> Any:
    def call(queries: list[str]) -> list[str]:
        _pause(latency)
        return list(_SOURCES[name])

    call.__name__ = call.__qualname__ = name
    return call


def _arxiv_search(queries: list[str]) -> list[str]:
    _pause(0.15)
    if current().attempt == 1:
        raise ConnectionError("arxiv.org answered 503 Service Unavailable")
    _pause(0.3)
    return list(_SOURCES["arxiv_search"])


def _fetch_pages(queries: list[str]) -> list[str]:
    if current().attempt == 1:
        _pause(30.0)  # a hung connection: the step's timeout abandons it
    _pause(0.1)
    return list(_SOURCES["fetch_pages"])


def _rank(*found: list[str]) -> list[str]:
    _pause(0.1)
    return sorted({source for sources in found for source in sources})[:5]


def _draft(question: str, ranked: list[str]) -> Any:
    for token in _ANSWER.split(" "):
        _pause(0.02)
        yield token


def _cite(ranked: list[str]) -> list[str]:
    _pause(0.12)
    return [f"[{n}] {source}" for n, source in enumerate(ranked, 1)]


def _answer(tokens: list[str], citations: list[list[str]]) -> str:
    _pause(0.05)
    return " ".join(tokens) + "\n" + "\n".join(citations[-1])


def build_graph() -> StepGraph:
    """The research agent's step graph (input: ``question``).

    Returns:
        A new, validated :class:`~rxsteps.StepGraph` of 10 steps.

    Example:
        >>> build_graph().order()[:2]
        ['plan', 'web_search']
    """
    tools = ["web_search", "wiki_lookup", "arxiv_search", "fetch_pages"]
    return StepGraph(
        [
            Step("plan", _plan, ["question"], description="split the question"),
            Step("web_search", _tool("web_search", 0.5), ["plan"], description="web search"),
            Step("wiki_lookup", _tool("wiki_lookup", 0.35), ["plan"]),
            Step("arxiv_search", _arxiv_search, ["plan"],
                 retry=Retry(attempts=3, backoff=0.1), description="flaky: fails once"),
            Step("fetch_pages", _fetch_pages, ["plan"], timeout=0.5,
                 retry=Retry(attempts=2, backoff=0.05), description="hangs once"),
            Step("code_search", _tool("web_search", 0.25), ["plan"]),
            Step("rank", _rank, [*tools, "code_search"], description="merge and rank"),
            Step("draft", _draft, ["question", "rank"], description="streams tokens"),
            Step("cite", _cite, ["rank"]),
            Step("answer", _answer, ["draft", "cite"], join="collect"),
        ],
        inputs=["question"],
    )


def demo_inputs() -> dict[str, Any]:
    """The inputs of a demo run.

    Returns:
        ``{"question": QUESTION}``.

    Example:
        >>> list(demo_inputs())
        ['question']
    """
    return {"question": QUESTION}
