"""Matplotlib plumbing shared by the pictures: the optional import, saving, text.

:mod:`rxsteps.pictures.drawing` (DAG pictures) and :mod:`rxsteps.pictures.timeline`
(Gantt charts) build plain :class:`matplotlib.figure.Figure` objects — no pyplot, no
GUI backend, no global state — and rely on this module to:

- import matplotlib only when a picture is drawn, or say how to install it
  (:func:`require_matplotlib`);
- make the figure a picture is drawn on — one that Jupyter shows and that saves SVG
  with text and step titles (:func:`new_figure`, :mod:`rxsteps.pictures.canvas`) —
  with fonts for any script (:func:`drawing_fonts`);
- write PNG, SVG (text kept as text) or PDF (:func:`save_figure`);
- measure and wrap labels so boxes and lanes can be sized before drawing
  (:func:`text_width`, :func:`wrap_label`), and format durations (:func:`format_seconds`).

Example:
    >>> wrap_label("summarize_search_results", width=12)
    ['summarize_', 'search_', 'results']
    >>> format_seconds(0.25)
    '0.250 s'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import OptionError
from . import fonts
from .palette import CRITICAL_COLOR

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "CRITICAL_COLOR",
    "check_fonts",
    "drawing_fonts",
    "figure_of",
    "format_seconds",
    "new_figure",
    "picture_format",
    "require_matplotlib",
    "save_figure",
    "text_width",
    "wrap_label",
]

_MISSING = ("drawing needs matplotlib: install the draw extra from your rxsteps clone: "
            "pip install -e '.[draw]'")
_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def require_matplotlib() -> None:
    """Import matplotlib or raise an ``ImportError`` that says how to install it.

    Raises:
        ImportError: matplotlib is not installed.

    Example:
        >>> require_matplotlib()  # matplotlib is installed here
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(_MISSING) from error


def save_figure(
    figure: Figure, target: str | os.PathLike[str] | IO[bytes], *, format: str | None = None
) -> None:
    """Write ``figure`` as PNG, SVG or PDF, chosen by the file extension or ``format``.

    SVG keeps text as text (``svg.fonttype = "none"``), so labels stay searchable and
    selectable, and every step's group gets a ``<title>`` with its full name.

    Args:
        figure: The figure to write.
        target: A path (its extension picks the format) or a binary file object.
        format: ``"png"``, ``"svg"`` or ``"pdf"``; needed for a file object.

    Raises:
        OptionError: The format is not PNG, SVG or PDF (or unknown for a file object);
            also a ``ValueError``.
        OSError: The file cannot be written.

    Example:
        >>> import tempfile, os
        >>> from matplotlib.figure import Figure
        >>> path = os.path.join(tempfile.mkdtemp(), "blank.svg")
        >>> save_figure(Figure(figsize=(1, 1)), path)
        >>> os.path.getsize(path) > 0
        True
    """
    from .canvas import write_figure

    write_figure(figure, target, format=picture_format(target, format))


def picture_format(target: str | os.PathLike[str] | IO[bytes], format: str | None = None) -> str:
    """The format a picture is written in: ``format``, else the path's extension.

    The drawing functions call it before drawing, so a bad path is refused at once.

    Args:
        target: A path or a binary file object.
        format: ``"png"``, ``"svg"``, ``"pdf"`` or ``None`` (from the path).

    Returns:
        ``"png"``, ``"svg"`` or ``"pdf"``.

    Raises:
        OptionError: An unknown format or extension, or a file object without
            ``format`` (``.option`` names the argument: ``"path"`` or ``"format"``).

    Example:
        >>> picture_format("run.SVG")
        'svg'
        >>> picture_format("run.jpg")
        Traceback (most recent call last):
        ...
        rxsteps.errors.OptionError: cannot write 'run.jpg': pictures are PNG, SVG or PDF; \
give the path a .png, .svg or .pdf extension
    """
    if format is not None:
        if format not in _FORMATS.values():
            raise OptionError(f"cannot write format {format!r}: use format='png', 'svg' or "
                              "'pdf'", "format")
        return format
    if not isinstance(target, str | os.PathLike):
        raise OptionError("save_figure needs format= ('png', 'svg' or 'pdf') to write to a "
                          "file object", "format")
    found = _FORMATS.get(Path(target).suffix.lower())
    if found is None:
        raise OptionError(f"cannot write {os.fspath(target)!r}: pictures are PNG, SVG or PDF; "
                          "give the path a .png, .svg or .pdf extension", "path")
    return found


def new_figure(width: float, height: float, dpi: float) -> Figure:
    """A :class:`~rxsteps.pictures.canvas.Picture` of ``width`` × ``height`` inches.

    Args:
        width, height: Size in inches.
        dpi: Pixels per inch.

    Returns:
        The figure: shown inline by Jupyter, saved with text and titles in SVG.

    Example:
        >>> new_figure(2, 1, 50)._repr_png_()[:4]
        b'\\x89PNG'
    """
    from .canvas import Picture

    return Picture(figsize=(width, height), dpi=dpi)


@contextmanager
def drawing_fonts() -> Iterator[None]:
    """Inside: text is created with :func:`~rxsteps.pictures.fonts.font_families`
    and missing glyphs do not warn.

    Example:
        >>> from matplotlib.figure import Figure
        >>> with drawing_fonts():
        ...     text = Figure().text(0, 0, "検索")
        >>> text.get_fontfamily()[0]
        'sans-serif'
    """
    import matplotlib

    families = list(fonts.font_families())
    with matplotlib.rc_context({"font.family": families}), fonts.quiet_glyphs():
        yield


def check_fonts(figure: Figure) -> None:
    """Warn (once per process) if ``figure`` has CJK text and no font can draw it.

    See :func:`~rxsteps.pictures.fonts.warn_missing_cjk`.

    Example:
        >>> from matplotlib.figure import Figure
        >>> figure = Figure()
        >>> _ = figure.text(0, 0, "search")
        >>> check_fonts(figure)
    """
    from matplotlib.text import Text

    fonts.warn_missing_cjk(_whole_text(text) for text in figure.findobj(Text))


def _whole_text(text: Any) -> str:
    """A step's whole name for its (wrapped or shortened) label, else the text."""
    kind, _, name = (text.get_gid() or "").partition(":")
    return str(name if kind in ("label", "lane") and name else text.get_text())


def wrap_label(text: str, width: int = 18, lines: int = 3) -> list[str]:
    """Break a step id into at most ``lines`` lines of about ``width`` characters.

    Breaks at spaces, and after ``_``, ``-``, ``.``, ``/`` and ``:`` inside long ids;
    what does not fit ends with an ellipsis.

    Args:
        text: The label.
        width: Characters per line, at most.
        lines: Lines, at most.

    Returns:
        The lines.

    Example:
        >>> wrap_label("fetch_customer_profile_and_history", width=14, lines=4)
        ['fetch_', 'customer_', 'profile_and_', 'history']
        >>> wrap_label("fetch_customer_profile_and_history", width=14)
        ['fetch_', 'customer_', 'profile_and_…']
        >>> wrap_label("x" * 40, width=10, lines=2)
        ['xxxxxxxxxx', 'xxxxxxxxx…']
    """
    spaced = text.replace(" ", " \0")
    for mark in "_-./:":
        spaced = spaced.replace(mark, mark + "\0")
    out = _greedy([chunk for chunk in spaced.split("\0") if chunk], width)
    if len(out) > lines:
        out = [*out[: lines - 1], out[lines - 1][: width - 1] + "…"]
    return out or [""]


def _greedy(chunks: list[str], width: int) -> list[str]:
    out: list[str] = []
    line = ""
    for chunk in chunks:
        while len(chunk) > width:
            if line:
                out.append(line.rstrip())
                line = ""
            out.append(chunk[:width])
            chunk = chunk[width:]
        if len(line) + len(chunk.rstrip()) > width and line:
            out.append(line.rstrip())
            line = ""
        line += chunk
    if line.strip():
        out.append(line.rstrip())
    return out


def figure_of(ax: Axes) -> Figure:
    """The top-level figure that ``ax`` is drawn in (through any subfigures).

    Args:
        ax: Matplotlib axes.

    Returns:
        Its :class:`~matplotlib.figure.Figure`.

    Raises:
        OptionError: The axes belong to no figure.

    Example:
        >>> from matplotlib.figure import Figure
        >>> figure = Figure()
        >>> figure_of(figure.subfigures(1, 2)[0].add_subplot()) is figure
        True
    """
    figure: Any = ax.get_figure()
    while figure is not None and not hasattr(figure, "get_figwidth"):
        figure = figure.get_figure()
    if figure is None:
        raise OptionError("ax: the axes belong to no figure; pass axes of one "
                          "(figure.add_subplot())", "ax")
    result: Figure = figure
    return result


def format_seconds(seconds: float) -> str:
    """Seconds as a short human string.

    Args:
        seconds: A duration.

    Returns:
        ``"0.042 s"``, ``"2.31 s"``, ``"12.4 s"`` or ``"3m 05s"``.

    Example:
        >>> format_seconds(0.0421), format_seconds(2.314), format_seconds(185)
        ('0.042 s', '2.31 s', '3m 05s')
    """
    if seconds < 1:
        return f"{seconds:.3f} s"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def text_width(text: str, size: float) -> float:
    """Width in inches of one line of ``text`` at ``size`` points (default font).

    Args:
        text: One line.
        size: Font size in points.

    Returns:
        The width in inches, as matplotlib lays it out.

    Example:
        >>> 0.3 < text_width("critical", 10) < 0.6
        True
    """
    return _line_width(text, size)


@lru_cache(maxsize=4096)
def _line_width(line: str, size: float) -> float:
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    with fonts.quiet_glyphs():
        width, _, _ = TextToPath().get_text_width_height_descent(
            line, FontProperties(family=list(fonts.font_families()), size=size), ismath=False
        )
    return float(width) / 72.0
