"""Mermaid, terminal text, and the Jupyter reprs of graphs and results."""

from __future__ import annotations

import re

import pytest

from rxsteps import Retry, Step, StepGraph, run
from rxsteps.pictures.renderings import repr_png, repr_svg, to_mermaid, to_text


@pytest.fixture
def graph() -> StepGraph:
    return StepGraph([
        Step("plan", lambda q: q, ["query"]),
        Step("search-web", lambda p: p, ["plan"], timeout=2),
        Step("search_web", lambda p: p, ["plan"], retry=Retry(attempts=3)),
        Step('say "hi" #1 <b>', lambda a, b, q: a, ["search-web", "search_web", "query"]),
    ], inputs=["query"])


def test_mermaid_is_a_left_to_right_flowchart(graph: StepGraph) -> None:
    text = graph.to_mermaid()
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    in_query[/"query"/]' in lines  # inputs are parallelograms
    assert '    s_plan["plan"]' in lines
    assert sum("-->" in line for line in lines) == 6


def test_mermaid_ids_are_safe_and_unique(graph: StepGraph) -> None:
    lines = to_mermaid(graph).splitlines()
    ids = [re.match(r"\s+(\S+?)[\[(]", line).group(1)  # type: ignore[union-attr]
           for line in lines[1:] if "-->" not in line and not line.strip().startswith("class")]
    assert len(ids) == len(set(ids)) == 5
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", i) for i in ids)
    assert "s_search_web" in ids and "s_search_web_2" in ids


def test_mermaid_labels_are_escaped(graph: StepGraph) -> None:
    text = to_mermaid(graph)
    assert '["say #quot;hi#quot; #35;1 #lt;b#gt;"]' in text
    label_lines = [line for line in text.splitlines() if "[" in line]
    assert all(line.count('"') == 2 for line in label_lines)


def test_mermaid_marks_inputs_with_a_class(graph: StepGraph) -> None:
    assert to_mermaid(graph).splitlines()[-1] == "    class in_query input"
    assert "classDef" not in StepGraph([Step("a", lambda: 1)]).to_mermaid()


def test_text_names_every_node_and_marks_inputs(graph: StepGraph) -> None:
    text = graph.to_text()
    for name in graph:
        assert name in text
    assert "query (input)" in text
    assert "[timeout 2 s]" in text and "[3 attempts]" in text


def test_text_ascii_only(graph: StepGraph) -> None:
    text = to_text(graph, ascii_only=True)
    assert text.isascii()
    assert text.splitlines()[0] == "+-- query (input)"


def test_text_of_an_empty_graph() -> None:
    assert StepGraph().to_text() == "(empty graph)"


def test_streaming_steps_are_marked() -> None:
    def tokens():  # type: ignore[no-untyped-def]
        yield "a"

    assert "[streams]" in to_text(StepGraph([Step("tokens", tokens)]))


def test_jupyter_reprs_of_a_graph(graph: StepGraph) -> None:
    png = graph._repr_png_()
    svg = graph._repr_svg_()
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")
    assert isinstance(svg, str) and "<svg" in svg and ">plan<" in svg


def test_jupyter_reprs_of_a_result() -> None:
    graph = StepGraph([Step("a", lambda: 1), Step("b", lambda a: a, ["a"])])
    result = run(graph)
    assert result._repr_png_().startswith(b"\x89PNG")  # type: ignore[union-attr]
    svg = result._repr_svg_()
    assert svg is not None and "succeeded" in svg and "critical path" in svg


def test_reprs_of_an_invalid_graph_are_none() -> None:
    graph = StepGraph()
    graph.add(Step("a", lambda b: b, ["b"]))
    graph.add(Step("b", lambda a: a, ["a"]))
    assert graph._repr_png_() is None
    assert repr_svg(graph) is None


def test_reprs_without_matplotlib_are_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    graph = StepGraph([Step("a", lambda: 1)])
    assert repr_png(graph) is None
    assert graph._repr_svg_() is None
