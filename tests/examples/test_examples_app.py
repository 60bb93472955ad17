"""The example apps: the Starlette service (page, SSE runs, batch) over httpx's ASGI
transport, several requests at once, and the streaming-tokens script."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from rxsteps import EventKind, Step, StepGraph
from rxsteps.pictures.palette import INPUT, PALETTE, STEP, Style
from tests.support import STEPS, load_example

T = TypeVar("T")
app_module = load_example("event_driven_app")


def drive(main: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(main(), 20)

    return asyncio.run(bounded())


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app_module.app),
                             base_url="http://app")


def parse_sse(body: str) -> list[tuple[str, Any]]:
    """``(event name, decoded data)`` for each server-sent event."""
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def run_sse(http: httpx.AsyncClient, question: str) -> list[tuple[str, Any]]:
    response = await http.get("/run", params={"question": question})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


def check_run(events: list[tuple[str, Any]], question: str) -> None:
    """A successful run: every step ends SUCCEEDED, tokens make up the answer."""
    assert events[-1] == ("done", {"ok": True})
    steps = [data for name, data in events if name == "step"]
    ended = {e["step"]: e["kind"] for e in steps if e["kind"] in ("succeeded", "failed")}
    assert ended == dict.fromkeys(STEPS, "succeeded")
    tokens = "".join(e["value"] for e in steps if e["step"] == "draft" and e["kind"] == "emitted")
    final = next(e["value"] for e in steps if e["step"] == "answer" and e["kind"] == "succeeded")
    assert tokens.strip() == final
    assert steps[0]["value"] is None and steps[1]["value"] == app_module.plan(question)


# -- page ----------------------------------------------------------------------------------


def test_the_page_lists_every_step_and_needs_nothing_from_outside() -> None:
    async def main() -> str:
        async with client() as http:
            response = await http.get("/")
            assert response.status_code == 200
            return response.text

    page = drive(main)
    for step in STEPS:
        assert f'data-step="{step}" data-state="pending"' in page
    assert "new EventSource" in page and 'id="start"' in page
    assert "<script src" not in page and "<link" not in page  # inline only, no CDN
    if app_module.graph_svg() is not None:
        assert "<svg" in page and 'id="node:search"' in page


def _page() -> str:
    async def main() -> str:
        async with client() as http:
            return (await http.get("/")).text

    return drive(main)


def _script_map(page: str, name: str) -> dict[str, str]:
    """``const NAME = {...};`` of the page's script."""
    found = re.search(rf"^const {name} = (\{{.*?\}});$", page, re.M)
    assert found, name
    return dict(json.loads(found.group(1)))


def _css_rules(page: str) -> dict[str, tuple[str, str, str]]:
    """State to ``(fill, outline style, edge)`` of the page's legend swatch rules."""
    rules = re.findall(r'\[data-key="([^"]+)"\] i \{ background: (#\w+); '
                       r"border: 1\.5px (\w+) (#\w+);", page)
    return {state: (fill, dashes, edge) for state, fill, dashes, edge in rules}


def _palette(state: str) -> Style:
    return {"pending": STEP, "input": INPUT}.get(state) or PALETTE[state]


PAGE_STATES = ["pending", "waiting", "running", "retrying", "succeeded", "failed",
               "timed out", "skipped", "cancelled", "input"]


def test_the_pages_colours_are_the_palettes() -> None:
    page = _page()
    rules = _css_rules(page)
    assert list(rules) == PAGE_STATES
    for state, (fill, dashes, edge) in rules.items():
        style = _palette(state)
        assert (fill, dashes, edge) == (style.fill, style.dashes, style.edge), state
        if state != "input":  # the list's steps get the same colours as the swatches
            assert f'[data-state="{state}"], [data-key="{state}"] i {{' in page
    painted = [state for state in PAGE_STATES if state not in ("pending", "input")]
    assert _script_map(page, "FILL") == {state: PALETTE[state].fill for state in painted}
    assert _script_map(page, "EDGE") == {state: PALETTE[state].edge for state in painted}


def test_every_event_kind_paints_a_state_the_legend_names() -> None:
    # an unknown kind painted its step "undefined"
    page = _page()
    state = _script_map(page, "STATE")
    assert set(state) == {kind.value for kind in EventKind}
    legend = page[page.index('<p id="legend"'):]
    legend = legend[:legend.index("</p>")]
    keys = re.findall(r'data-key="([^"]+)"><i></i>([^<]+)</span>', legend)
    assert [key for key, _ in keys] == PAGE_STATES
    assert all(words.startswith(key) for key, words in keys)  # the legend says each state
    assert set(state.values()) | {"pending", "timed out"} <= set(_css_rules(page))
    assert 'event.kind === "failed" && event.timed_out ? "timed out"' in page


# -- SSE runs ------------------------------------------------------------------------------


def test_one_run_streams_every_step_event() -> None:
    async def main() -> list[tuple[str, Any]]:
        async with client() as http:
            return await run_sse(http, "Why do reactive streams matter?")

    check_run(drive(main), "Why do reactive streams matter?")


def test_five_concurrent_streams_are_isolated_and_overlap() -> None:
    questions = [f"question number {n} about topic{n}" for n in range(5)]

    async def main() -> list[list[tuple[str, Any]]]:
        async with client() as http:
            return await asyncio.gather(*(run_sse(http, q) for q in questions))

    runs = drive(main)
    for question, events in zip(questions, runs, strict=True):
        check_run(events, question)
    spans = [(steps[0]["time"], steps[-1]["time"])
             for steps in ([d for n, d in events if n == "step"] for events in runs)]
    assert max(start for start, _ in spans) < min(end for _, end in spans)  # ran at once


def test_a_failing_run_reports_the_failure_in_the_stream() -> None:
    async def main() -> list[tuple[str, Any]]:
        async with client() as http:
            return await run_sse(http, "please fail")

    events = drive(main)
    name, done = events[-1]
    assert name == "done" and done["ok"] is False and "search" in done["error"]
    kinds = {(d["step"], d["kind"]) for n, d in events if n == "step"}
    assert ("search", "failed") in kinds and ("answer", "cancelled") in kinds


def test_a_timed_out_step_is_marked_in_the_stream() -> None:
    async def main() -> list[tuple[str, Any]]:
        async with client() as http:
            return await run_sse(http, "a slow search")

    events = [data for name, data in drive(main) if name == "step"]
    failed = [e for e in events if e["kind"] == "failed"]
    assert [(e["step"], e["timed_out"]) for e in failed] == [("search", True)]
    assert "StepTimeoutError" in failed[0]["error"]
    assert not any(e["timed_out"] for e in events if e["kind"] != "failed")


def test_a_question_is_required() -> None:
    async def main() -> int:
        async with client() as http:
            return (await http.get("/run")).status_code

    assert drive(main) == 400


def test_leaving_the_stream_cancels_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        cancelled, entered = asyncio.Event(), asyncio.Event()

        async def hang(question: str) -> str:
            try:
                entered.set()
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return question

        hanging = StepGraph([Step("hang", hang, ["question"])], inputs=["question"])
        monkeypatch.setattr(app_module, "graph", hanging)
        body = app_module.stream_run("q")
        assert "started" in await body.__anext__()
        await entered.wait()
        await body.aclose()  # what Starlette does when the client goes away
        await cancelled.wait()

    drive(main)


# -- batch ---------------------------------------------------------------------------------


def test_batch_runs_every_question_in_order_with_failures_as_results() -> None:
    questions = ["what is backpressure", "please fail", "why zip streams", "how to cancel"]

    async def main() -> Any:
        async with client() as http:
            response = await http.post("/batch", json={"questions": questions})
            assert response.status_code == 200
            return response.json()["results"]

    results = drive(main)
    assert [r["sequence"] for r in results] == [0, 1, 2, 3]
    assert [r["question"] for r in results] == questions
    assert [r["ok"] for r in results] == [True, False, True, True]
    assert results[1]["status"]["search"] == "failed" and "search" in results[1]["error"]
    assert all(r["answer"].startswith("Found") for r in results if r["ok"])


@pytest.mark.parametrize("body", [{"q": []}, {"questions": "one"}, {"questions": [1]}])
def test_batch_rejects_malformed_bodies(body: Any) -> None:
    async def main() -> int:
        async with client() as http:
            return (await http.post("/batch", json=body)).status_code

    assert drive(main) == 400


# -- the streaming-tokens script -----------------------------------------------------------


def test_streaming_tokens_example_prints_tokens_as_they_arrive(
        capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example("streaming_tokens")
    tokens: list[str] = []
    final = drive(lambda: example.stream_answer("what streams", tokens))
    assert len(tokens) > 5 and final == "".join(tokens).strip()
    assert capsys.readouterr().out.startswith("You asked: what streams")
