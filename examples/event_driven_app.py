"""An event-driven rxsteps app: a Starlette service that runs an agent graph per request.

Endpoints:

- ``GET /`` — one HTML page (inline CSS and JS, no build step, nothing from a CDN):
  the graph's DAG (an inline SVG when matplotlib is installed), one element per step
  (``data-step`` / ``data-state``), a Start button, and the answer as it streams.
- ``GET /run?question=...`` — runs the graph for one question and streams every step
  event as server-sent events (``event: step``), then ``event: done`` with the
  outcome. Built on :func:`rxsteps.astream`: a client that disconnects cancels its run.
- ``POST /batch`` with ``{"questions": [...]}`` — runs them all through
  :func:`rxsteps.apipeline` (a few at a time, in order; a failing question is a
  result with an error, not a failed request) and returns ``{"results": [...]}``.

The agent is simulated — a planner, a search tool, a document reader, a model
streaming its draft token by token, and an answer step collecting the tokens — so
everything runs offline in a fraction of a second. A question containing "fail"
makes the search tool fail, one containing "slow" makes it time out.

The page's colours are those of every rxsteps picture (:mod:`rxsteps.pictures.palette`),
written into its CSS and script when the page is built, so they cannot drift apart.

Run it with ``python examples/event_driven_app.py [port]`` (uvicorn on 127.0.0.1,
port 8000 by default) and open the page; tests import ``app``.
"""

from __future__ import annotations

import asyncio
import html
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from io import BytesIO
from typing import Any

import reactivex
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from rxsteps import (
    RunResult,
    Step,
    StepEvent,
    StepFailedError,
    StepGraph,
    StepTimeoutError,
    apipeline,
    astream,
)
from rxsteps.pictures.palette import INPUT, PALETTE, STEP, Style

PAUSE = 0.03  # seconds of simulated work per unit, so the page shows progress
SEARCH_TIMEOUT = 0.5  # seconds; a "slow" search takes longer and times out


# -- the agent ---------------------------------------------------------------------------


def plan(question: str) -> list[str]:
    """Split the question into search queries."""
    time.sleep(PAUSE)
    words = [w.strip("?!.,").lower() for w in question.split()]
    return [w for w in words if len(w) > 3][:3] or [question.lower()]


async def search(queries: list[str]) -> list[str]:
    """A simulated web search tool."""
    await asyncio.sleep(PAUSE)
    if "fail" in queries:
        raise ConnectionError("search service unavailable")
    if "slow" in queries:
        await asyncio.sleep(4 * SEARCH_TIMEOUT)  # cancelled by the step's timeout
    return [f"https://example.org/{q}" for q in queries]


def read(queries: list[str]) -> Iterator[str]:
    """Read one document per query (streams: a value per document)."""
    for query in queries:
        time.sleep(PAUSE)
        yield f"notes on {query}"


async def draft(links: list[list[str]], notes: list[str]) -> AsyncIterator[str]:
    """A simulated model streaming its draft token by token (``join="collect"``: every
    value of each dependency, as lists)."""
    text = f"Found {len(links[0])} sources. " + " ".join(n.capitalize() + "." for n in notes)
    for token in text.split(" "):
        await asyncio.sleep(PAUSE / 3)
        yield token + " "


def answer(tokens: list[str]) -> str:
    """The full answer, once the draft is complete."""
    return "".join(tokens).strip()


def build_graph() -> StepGraph:
    """The agent graph: plan → search, read → draft (streams) → answer."""
    return StepGraph(
        [
            Step("plan", plan, ["question"], description="split into queries"),
            Step("search", search, ["plan"], timeout=SEARCH_TIMEOUT,
                 description="web search tool"),
            Step("read", read, ["plan"], description="read documents"),
            Step("draft", draft, ["search", "read"], join="collect",
                 description="model streams tokens"),
            Step("answer", answer, ["draft"], join="collect", description="final text"),
        ],
        inputs=["question"],
    )


graph = build_graph()


# -- serialization -----------------------------------------------------------------------


def event_json(event: StepEvent) -> dict[str, Any]:
    """A step event as plain JSON (``timed_out``: its error is a timeout)."""
    return {
        "step": event.step,
        "kind": event.kind.value,
        "value": event.value,
        "error": repr(event.error) if event.error is not None else None,
        "timed_out": isinstance(event.error, StepTimeoutError),
        "reason": event.reason,
        "index": event.index,
        "attempt": event.attempt,
        "time": event.time,
    }


def sse(name: str, data: Any) -> str:
    """One server-sent event."""
    return f"event: {name}\ndata: {json.dumps(data, default=repr)}\n\n"


def result_json(result: RunResult) -> dict[str, Any]:
    """A pipeline result as plain JSON."""
    failure = result.failure
    return {
        "sequence": result.sequence,
        "question": result.inputs["question"],
        "ok": result.ok,
        "answer": result.get("answer"),
        "status": {step: status.value for step, status in result.status.items()},
        "error": str(failure) if failure is not None else None,
    }


# -- endpoints ---------------------------------------------------------------------------


async def stream_run(question: str) -> AsyncIterator[str]:
    """The SSE body of one run; leaving early (a disconnect) cancels the run."""
    try:
        async with astream(graph, {"question": question}) as events:
            async for event in events:
                yield sse("step", event_json(event))
    except StepFailedError as error:
        yield sse("done", {"ok": False, "error": str(error)})
        return
    yield sse("done", {"ok": True})


async def run_endpoint(request: Request) -> Response:
    question = request.query_params.get("question", "").strip()
    if not question:
        return JSONResponse({"error": "question is required"}, status_code=400)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream_run(question), media_type="text/event-stream",
                             headers=headers)


async def batch_endpoint(request: Request) -> Response:
    try:
        questions = (await request.json())["questions"]
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": 'expected {"questions": [...]}'}, status_code=400)
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        return JSONResponse({"error": "questions must be a list of strings"}, status_code=400)
    source = reactivex.from_iterable(questions)
    results = [result_json(r) async for r in apipeline(graph, {"question": source},
                                                        max_in_flight=4)]
    return JSONResponse({"results": results})


def graph_svg() -> str | None:
    """The DAG as inline SVG, or ``None`` without matplotlib or ``graph.draw``."""
    try:
        figure = graph.draw()
        buffer = BytesIO()
        figure.savefig(buffer, format="svg")
    except Exception:  # no matplotlib, or no drawing support in this rxsteps
        return None
    svg = buffer.getvalue().decode("utf-8")
    return svg[svg.index("<svg"):]  # drop the XML prolog and doctype


async def page(_request: Request) -> Response:
    items = "\n".join(
        f'<li class="step" data-step="{html.escape(s.id)}" data-state="pending">'
        f'<b>{html.escape(s.id)}</b> <span class="state">pending</span>'
        f' <small>{html.escape(s.description)}</small> <code class="value"></code></li>'
        for s in (graph[i] for i in graph.order())
    )
    svg = _SVG if _SVG is not None else "<p>(install matplotlib to see the DAG)</p>"
    body = _PAGE.replace("{{svg}}", svg).replace("{{steps}}", items)
    return HTMLResponse(body)


# -- the page's colours: rxsteps.pictures.palette ---------------------------------------

#: The page's states, in legend order, and the legend's words for them.
LEGEND = {
    "pending": "pending",
    "waiting": "waiting (for a resource or a rate)",
    "running": "running",
    "retrying": "retrying",
    "succeeded": "succeeded",
    "failed": "failed",
    "timed out": "timed out",
    "skipped": "skipped (a dependency failed)",
    "cancelled": "cancelled",
    "input": "input",
}
#: The state each event kind paints its step in ("timed out": a FAILED event whose
#: ``timed_out`` is true).
STATE = {"started": "running", "emitted": "running", "waiting": "waiting",
         "retrying": "retrying", "succeeded": "succeeded", "failed": "failed",
         "skipped": "skipped", "cancelled": "cancelled"}


def page_style(state: str) -> Style:
    """The palette's style of a page state (``pending``: a step not run yet)."""
    return {"pending": STEP, "input": INPUT}.get(state) or PALETTE[state]


def state_css() -> str:
    """A CSS rule per state: the list's steps and the legend's swatches."""
    rules = []
    for state in LEGEND:
        style = page_style(state)
        where = f'[data-key="{state}"] i'
        if state != "input":  # inputs are not in the list of steps
            where = f'[data-state="{state}"], {where}'
        rules.append(f" {where} {{ background: {style.fill}; "
                     f"border: 1.5px {style.dashes} {style.edge}; color: {style.text}; }}")
    return "\n".join(rules)


def state_script() -> str:
    """The script's colour and state maps (``pending`` restores the drawing's own)."""
    painted = [state for state in LEGEND if state not in ("pending", "input")]
    fill = {state: page_style(state).fill for state in painted}
    edge = {state: page_style(state).edge for state in painted}
    return (f"const FILL = {json.dumps(fill)};\nconst EDGE = {json.dumps(edge)};\n"
            f"const STATE = {json.dumps(STATE)};")


def legend_html() -> str:
    """The legend: a swatch and the words for each state."""
    return "\n".join(f' <span class="key" data-key="{html.escape(state)}"><i></i>'
                      f"{html.escape(words)}</span>" for state, words in LEGEND.items())


_SVG = graph_svg()

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rxsteps agent</title>
<style>
 body { font: 15px system-ui, sans-serif; margin: 2em; max-width: 60em; color: #222; }
 #dag svg { max-width: 100%; height: auto; }
 ul#steps { list-style: none; padding: 0; }
 li.step { padding: .4em .7em; margin: .3em 0; border-radius: .4em; }
 .key i { border-radius: .2em; }
 /* the colours of rxsteps.pictures.palette (Okabe-Ito), the same as the pictures' */
{{state_css}}
 [data-key=input] i { border-radius: .45em; }
 #legend { font-size: 13px; color: #444; }
 .key { margin-right: 1.1em; white-space: nowrap; }
 .key i { display: inline-block; width: 1.6em; height: .9em; margin-right: .35em;
   vertical-align: -0.1em; }
 .state { font-weight: 600; margin: 0 .5em; }
 code.value { color: #555; }
 #answer { white-space: pre-wrap; background: #f7f7f7; padding: 1em; min-height: 2em; }
</style></head>
<body>
<h1>rxsteps agent</h1>
<p><input id="question" size="50" value="How do reactive streams handle backpressure?">
<button id="start">Start</button> <span id="status"></span></p>
<div id="dag">{{svg}}</div>
<p id="legend" aria-label="what the colours mean">
{{legend}}
</p>
<ul id="steps">
{{steps}}
</ul>
<h2>Answer</h2>
<div id="answer"></div>
<script>
// The pictures' palette; "pending" puts back the colours the SVG was drawn with.
{{state_script}}
let source = null;

function stateOf(event) {
  return event.kind === "failed" && event.timed_out ? "timed out" : STATE[event.kind];
}

function paint(step, state, detail) {
  const item = document.querySelector(`li[data-step="${step}"]`);
  if (!item) return;
  item.dataset.state = state;
  item.querySelector(".state").textContent = state;
  if (state === "pending") item.querySelector(".value").textContent = "";
  if (detail !== undefined && detail !== null) {
    const text = typeof detail === "string" ? detail : JSON.stringify(detail);
    item.querySelector(".value").textContent = text.slice(0, 80);
  }
  const node = document.getElementById("node:" + step);
  if (!node) return;
  node.querySelectorAll("path").forEach(p => {
    if (p.dataset.fill === undefined) {  // first paint: keep the drawing's own colours
      p.dataset.fill = p.style.fill;
      p.dataset.stroke = p.style.stroke;
    }
    p.style.fill = FILL[state] || p.dataset.fill;
    p.style.stroke = EDGE[state] || p.dataset.stroke;
  });
}

document.getElementById("start").addEventListener("click", () => {
  if (source) source.close();
  document.querySelectorAll("li.step").forEach(li => paint(li.dataset.step, "pending"));
  document.getElementById("answer").textContent = "";
  document.getElementById("status").textContent = "running…";
  const question = document.getElementById("question").value;
  source = new EventSource("/run?question=" + encodeURIComponent(question));
  source.addEventListener("step", (message) => {
    const event = JSON.parse(message.data);
    paint(event.step, stateOf(event), event.error || event.reason || event.value);
    if (event.step === "draft" && event.kind === "emitted") {
      document.getElementById("answer").textContent += event.value;
    }
  });
  source.addEventListener("done", (message) => {
    const done = JSON.parse(message.data);
    document.getElementById("status").textContent = done.ok ? "done" : done.error;
    source.close();
  });
  source.onerror = () => { source.close(); };
});
</script>
</body></html>
"""

_PAGE = (_PAGE.replace("{{state_css}}", state_css()).replace("{{legend}}", legend_html())
         .replace("{{state_script}}", state_script()))

app = Starlette(routes=[
    Route("/", page),
    Route("/run", run_endpoint),
    Route("/batch", batch_endpoint, methods=["POST"]),
])


def main() -> None:
    """Serve the app with uvicorn on 127.0.0.1."""
    import uvicorn

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    print(f"rxsteps agent on http://127.0.0.1:{port}/")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
