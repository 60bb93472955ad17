"""The figure every picture is drawn on: a plain matplotlib ``Figure`` that also shows
itself in Jupyter and saves the rxsteps way, however it is saved.

:class:`Picture` adds three things to :class:`matplotlib.figure.Figure`:

- ``_repr_png_``, so a notebook cell that ends with ``result.timeline()`` or
  ``graph.draw()`` shows the picture even in a fresh kernel, where nothing has set up
  matplotlib's inline backend (which only knows pyplot's figures);
- ``savefig`` keeps SVG text as text and gives every step's group a ``<title>`` with
  the step's full name (the label may be wrapped or shortened, the title never is:
  a browser shows it on hover, and a search of the file finds it);
- drawing never warns about glyphs no installed font has (see
  :mod:`rxsteps.pictures.fonts`).

This module imports matplotlib; the rest of the package imports it only when a
picture is drawn.

Example:
    >>> picture = Picture(figsize=(1, 1))
    >>> picture._repr_png_()[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import io
import os
import re
from typing import IO, Any
from xml.sax.saxutils import escape, unescape

import matplotlib
from matplotlib.figure import Figure

from .fonts import quiet_glyphs

__all__ = ["Picture", "write_figure"]

#: Groups whose id names a step: ``<g id="node:NAME">``, ``<g id="lane:NAME">``…
_NAMED_GROUP = re.compile(r"""(<g id=(["'])(?:node|lane|group):(.*?)\2>)""")
_ENTITIES = {"&quot;": '"', "&apos;": "'", "&#x27;": "'", "&#34;": '"', "&#39;": "'"}
_SETTINGS: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "rxsteps"}


class Picture(Figure):
    """A :class:`~matplotlib.figure.Figure` that Jupyter displays and that saves SVG
    with text and step titles; otherwise the same figure.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "blank.svg")
        >>> Picture(figsize=(1, 1)).savefig(path)
        >>> "<svg" in open(path).read()
        True
    """

    def _repr_png_(self) -> bytes:
        """The figure as PNG bytes: what Jupyter shows for it."""
        buffer = io.BytesIO()
        write_figure(self, buffer, format="png")
        return buffer.getvalue()

    def savefig(self, fname: Any, *args: Any, **kwargs: Any) -> None:
        """:meth:`matplotlib.figure.Figure.savefig`, with SVG text kept as text and a
        ``<title>`` per step; a white background unless ``facecolor`` is given."""
        write_figure(self, fname, *args, **kwargs)

    def draw(self, renderer: Any) -> None:
        """Draw as matplotlib does, without missing-glyph warnings."""
        with quiet_glyphs():
            super().draw(renderer)


def write_figure(figure: Figure, target: str | os.PathLike[str] | IO[Any], *args: Any,
                 **kwargs: Any) -> None:
    """Save ``figure`` as :meth:`~matplotlib.figure.Figure.savefig` would, the rxsteps
    way: SVG text stays text, named groups get a ``<title>``, the background is white.

    Args:
        figure: Any figure.
        target: A path or a file object.
        *args, **kwargs: As for ``savefig`` (``format=``, ``dpi=``…).

    Example:
        >>> buffer = io.BytesIO()
        >>> write_figure(Picture(figsize=(1, 1)), buffer, format="svg")
        >>> buffer.getvalue().startswith(b"<?xml")
        True
    """
    kwargs.setdefault("facecolor", "white")
    with matplotlib.rc_context(_SETTINGS), quiet_glyphs():
        if _format(target, kwargs) != "svg":
            Figure.savefig(figure, target, *args, **kwargs)
            return
        buffer = io.BytesIO()
        Figure.savefig(figure, buffer, *args, **{**kwargs, "format": "svg"})
    svg = _add_titles(buffer.getvalue().decode("utf-8"))
    if isinstance(target, str | os.PathLike):
        with open(target, "w", encoding="utf-8") as file:
            file.write(svg)
    elif isinstance(target, io.TextIOBase):
        target.write(svg)
    else:
        target.write(svg.encode("utf-8"))


def _format(target: object, kwargs: dict[str, Any]) -> str:
    if kwargs.get("format"):
        return str(kwargs["format"]).lower()
    if isinstance(target, str | os.PathLike):
        suffix = os.path.splitext(os.fspath(target))[1].lower().lstrip(".")
        if suffix:
            return suffix
    return str(matplotlib.rcParams["savefig.format"]).lower()


def _add_titles(svg: str) -> str:
    """A ``<title>`` with the full name in every group whose id names a step."""
    return _NAMED_GROUP.sub(
        lambda m: f"{m.group(1)}<title>{escape(unescape(m.group(3), _ENTITIES))}</title>", svg
    )
