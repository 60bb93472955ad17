"""Fonts for labels in any script: the default sans-serif, then a CJK font if one is
installed, and no missing-glyph warnings when none is.

matplotlib (3.6+) falls back glyph by glyph through a list of font families, so a
label like ``検索`` is drawn with a CJK font while ``search`` keeps the default one.
:func:`font_families` finds such a font once per process: by name among the fonts
matplotlib knows, else among the system's font files (matplotlib's font cache does not
see fonts installed after it was built — Debian's ``fonts-wqy-microhei`` or
``fonts-noto-cjk``, say). Without one, labels in those scripts show as empty boxes in
PNG and PDF (SVG keeps them as text, which a browser draws with its own fonts), and
:func:`quiet_glyphs` keeps matplotlib's "Glyph … missing" warnings out of the way.

Example:
    >>> font_families()[0]
    'sans-serif'
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

__all__ = ["font_families", "quiet_glyphs"]

#: Fonts with CJK glyphs, by family name: Linux, macOS, Windows.
_CJK_FAMILIES = (
    "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR",
    "Source Han Sans", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Droid Sans Fallback",
    "Hiragino Sans", "PingFang SC", "Apple SD Gothic Neo", "Microsoft YaHei", "Yu Gothic",
    "Malgun Gothic",
)
#: Font files worth registering when matplotlib's cache does not know them.
_CJK_FILES = re.compile(r"wqy|cjk|sourcehansans|droidsansfallback|msyh|yugoth|malgun", re.I)
_GLYPH_WARNING = r"Glyph \d+ .*missing from font"


@lru_cache(maxsize=1)
def font_families() -> tuple[str, ...]:
    """The font families labels are drawn with: ``sans-serif`` first, then any
    installed CJK fonts as fallbacks.

    Returns:
        Family names for matplotlib's ``font.family``.

    Example:
        >>> "sans-serif" in font_families()
        True
    """
    from matplotlib import font_manager

    found = _known_cjk(font_manager.fontManager)
    if not found:
        for path in font_manager.findSystemFonts():
            if _CJK_FILES.search(os.path.basename(path)):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # an unreadable font file
                    continue
        found = _known_cjk(font_manager.fontManager)
    return ("sans-serif", *found)


def _known_cjk(manager: object) -> list[str]:
    names = {entry.name for entry in getattr(manager, "ttflist", [])}
    return [family for family in _CJK_FAMILIES if family in names]


@contextmanager
def quiet_glyphs() -> Iterator[None]:
    """Silence matplotlib's "Glyph … missing from font(s)" warnings inside the block.

    Example:
        >>> with quiet_glyphs():
        ...     warnings.warn("Glyph 12345 (x) missing from font(s) DejaVu Sans.")
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_GLYPH_WARNING)
        yield
