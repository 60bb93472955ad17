"""Step graphs as text and rich output: Mermaid, terminal trees, and Jupyter pictures.

- :func:`to_mermaid` — a ``flowchart LR`` to paste into Markdown (GitHub, GitLab and
  many docs tools render it); run inputs are parallelograms, ids are made safe.
- :func:`to_text` — a tree for terminals, drawn by ``networkx.generate_network_text``;
  a step reached again from another branch shows as ``╾ its other parent``.
- :func:`repr_png` / :func:`repr_svg` — what ``StepGraph._repr_png_`` and friends return,
  so Jupyter shows a graph (or a run) as a picture; ``None`` when matplotlib is missing
  or the graph is invalid, so the notebook falls back to the text repr.

Example:
    >>> from rxsteps import Step, StepGraph
    >>> graph = StepGraph([Step("search", lambda q: q, ["query"])], inputs=["query"])
    >>> print(to_text(graph))
    ╙── query (input)
        └─╼ search
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from ..errors import GraphError

if TYPE_CHECKING:
    from ..graph import StepGraph
    from ..result import RunResult
    from ..step import Step

__all__ = ["repr_png", "repr_svg", "to_mermaid", "to_text"]

_MERMAID_ESCAPES = str.maketrans({
    '"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;",
    "\n": " ", "\r": " ",
})


def to_mermaid(graph: StepGraph) -> str:
    """The graph as a Mermaid ``flowchart LR``.

    Every node gets a safe Mermaid id (``s_`` + the step id, ``in_`` + the input name,
    other characters replaced by ``_``, made unique); the real name is the quoted label,
    with Mermaid's entity codes for ``"``, ``#``, ``<``, ``>``, ``&`` and backticks.
    Inputs are parallelograms and get an ``input`` class.

    Args:
        graph: The step graph (validated first).

    Returns:
        The Mermaid source, without a trailing newline.

    Raises:
        GraphError: The graph is invalid.

    Example:
        >>> from rxsteps import Step, StepGraph
        >>> graph = StepGraph([Step('say "hi"', lambda q: q, ["q"])], inputs=["q"])
        >>> print(to_mermaid(graph))
        flowchart LR
            in_q[/"q"/]
            s_say__hi_["say #quot;hi#quot;"]
            in_q --> s_say__hi_
            classDef input fill:#eceff4,stroke:#5f6b7a,font-style:italic
            class in_q input
    """
    order = graph.order()
    ids = _mermaid_ids(graph.inputs, order)
    lines = ["flowchart LR"]
    lines += [f'    {ids[name]}[/"{_escape(name)}"/]' for name in graph.inputs]
    lines += [f'    {ids[name]}["{_escape(name)}"]' for name in order]
    for name in order:
        for dep in dict.fromkeys(graph[name].depends):
            lines.append(f"    {ids[dep]} --> {ids[name]}")
    if graph.inputs:
        lines.append("    classDef input fill:#eceff4,stroke:#5f6b7a,font-style:italic")
        lines.append("    class " + ",".join(ids[name] for name in graph.inputs) + " input")
    return "\n".join(lines)


def to_text(graph: StepGraph, *, ascii_only: bool = False) -> str:
    """The graph as a tree of text lines, for terminals.

    Inputs are marked ``(input)``; steps with a timeout, a retry policy or a streaming
    action carry a short note in brackets.

    Args:
        graph: The step graph (validated first).
        ascii_only: Draw with ASCII characters only.

    Returns:
        The lines, joined by newlines (``"(empty graph)"`` for an empty graph).

    Raises:
        GraphError: The graph is invalid.

    Example:
        >>> from rxsteps import Retry, Step, StepGraph
        >>> graph = StepGraph([Step("a", lambda: 1, timeout=2, retry=Retry(attempts=3))])
        >>> print(to_text(graph, ascii_only=True))
        +-- a  [timeout 2 s, 3 attempts]
    """
    import networkx as nx

    dag = graph.to_networkx()
    if not dag:
        return "(empty graph)"
    for name in dag:
        dag.nodes[name]["label"] = (
            f"{name} (input)" if name in graph.inputs else name + _notes(graph[name])
        )
    return "\n".join(nx.generate_network_text(dag, with_labels=True, ascii_only=ascii_only))


def repr_png(graph: StepGraph, result: RunResult | None = None) -> bytes | None:
    """The drawing of ``graph`` (coloured by ``result``) as PNG bytes.

    Args:
        graph: The step graph.
        result: A run of it, or ``None``.

    Returns:
        The PNG, or ``None`` if matplotlib is missing or the graph is invalid.

    Example:
        >>> from rxsteps import Step, StepGraph
        >>> repr_png(StepGraph([Step("a", lambda: 1)]))[:4]
        b'\\x89PNG'
    """
    data = _encode(graph, result, "png")
    return data


def repr_svg(graph: StepGraph, result: RunResult | None = None) -> str | None:
    """The drawing of ``graph`` (coloured by ``result``) as SVG text.

    Args:
        graph: The step graph.
        result: A run of it, or ``None``.

    Returns:
        The SVG document, or ``None`` if matplotlib is missing or the graph is invalid.

    Example:
        >>> from rxsteps import Step, StepGraph
        >>> "<svg" in repr_svg(StepGraph([Step("a", lambda: 1)]))
        True
    """
    data = _encode(graph, result, "svg")
    return None if data is None else data.decode("utf-8")


def _encode(graph: StepGraph, result: RunResult | None, fmt: str) -> bytes | None:
    try:
        from .drawing import draw_graph
        from .figures import save_figure

        figure = draw_graph(graph, result=result)
    except (ImportError, GraphError, TypeError):
        return None
    buffer = io.BytesIO()
    save_figure(figure, buffer, format=fmt)
    return buffer.getvalue()


def _notes(step: Step) -> str:
    notes = []
    if step.timeout is not None:
        notes.append(f"timeout {step.timeout:g} s")
    if step.retry is not None and step.retry.attempts > 1:
        notes.append(f"{step.retry.attempts} attempts")
    if step.streaming:
        notes.append("streams")
    return f"  [{', '.join(notes)}]" if notes else ""


def _escape(name: str) -> str:
    return name.translate(_MERMAID_ESCAPES)


def _mermaid_ids(inputs: tuple[str, ...], steps: list[str]) -> dict[str, str]:
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for prefix, names in (("in_", inputs), ("s_", steps)):
        for name in names:
            base = prefix + re.sub(r"[^0-9A-Za-z_]", "_", name)
            candidate, n = base, 1
            while candidate in taken:
                n += 1
                candidate = f"{base}_{n}"
            taken.add(candidate)
            ids[name] = candidate
    return ids
