"""Pictures of graphs and runs (the ``draw`` extra): DAG drawings, timelines, Mermaid,
terminal text and the Jupyter representations.

Everything here draws what the model holds — a :class:`~rxsteps.StepGraph`, a
:class:`~rxsteps.RunResult` — and nothing in the engine depends on it. The model reaches
it through one door, :mod:`rxsteps._pictures` (``graph.draw()``, ``result.timeline()``,
the ``_repr_*_`` methods), imported on first use because matplotlib is optional.

- :mod:`.drawing` — :func:`draw_graph`, the DAG with matplotlib;
- :mod:`.timeline` — :func:`draw_timeline`, a Gantt chart of every attempt;
- :mod:`.renderings` — :func:`to_mermaid`, :func:`to_text`, :func:`repr_png`,
  :func:`repr_svg`;
- :mod:`.layout` — the layered layout both pictures use;
- :mod:`.figures` — matplotlib plumbing: the optional import, saving, text metrics.

Example:
    >>> from rxsteps import Step, StepGraph
    >>> from rxsteps import pictures
    >>> print(pictures.to_mermaid(StepGraph([Step("a", lambda: 1)])))
    flowchart LR
        s_a["a"]
"""

from .drawing import STATUS_STYLES, Style, draw_graph
from .renderings import repr_png, repr_svg, to_mermaid, to_text
from .timeline import draw_timeline

__all__ = [
    "STATUS_STYLES",
    "Style",
    "draw_graph",
    "draw_timeline",
    "repr_png",
    "repr_svg",
    "to_mermaid",
    "to_text",
]
