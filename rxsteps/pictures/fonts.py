"""Fonts for labels in any script: the default sans-serif, then a CJK font if one is
installed, and one warning that says which to install when none is.

matplotlib (3.6+) falls back glyph by glyph through a list of font families, so a
label like ``検索`` is drawn with a CJK font while ``search`` keeps the default one.
:func:`font_families` finds such a font once per process: by name among the fonts
matplotlib knows, else among the system's font files (matplotlib's font cache does not
see fonts installed after it was built — Debian's ``fonts-wqy-microhei`` or
``fonts-noto-cjk``, say). Without one, labels in those scripts show as empty boxes in
PNG and PDF (SVG keeps them as text, which a browser draws with its own fonts):
:func:`warn_missing_cjk` says so once per process, naming fonts to install, and
:func:`quiet_glyphs` keeps matplotlib's many "Glyph … missing" warnings out of the way.

Example:
    >>> font_families()[0]
    'sans-serif'
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from ..errors import RxStepsWarning, stacklevel_outside_package

__all__ = ["font_families", "has_cjk_font", "quiet_glyphs", "warn_missing_cjk"]

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
#: Hangul Jamo; CJK radicals to Unified Ideographs (kana, bopomofo, Hangul Jamo…);
#: Hangul syllables; compatibility ideographs and forms; full-width forms; planes 2-3.
_CJK = re.compile("[\u1100-\u11ff\u2e80-\u9fff\ua960-\ua97f\uac00-\ud7ff"
                  "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]")
_NO_CJK_FONT = (
    "no installed font has the CJK characters of {label!r}, so pictures show them as "
    "empty boxes: install one (apt-get install fonts-noto-cjk or fonts-wqy-microhei, "
    "or any font with these glyphs) and restart Python"
)
#: What :func:`warn_missing_cjk` has warned about in this process.
_WARNED: set[str] = set()


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


def has_cjk_font() -> bool:
    """Whether :func:`font_families` found a font with CJK glyphs.

    Example:
        >>> has_cjk_font() in (True, False)
        True
    """
    return any(family in _CJK_FAMILIES for family in font_families())


def warn_missing_cjk(labels: Iterable[str]) -> None:
    """Give an :class:`~rxsteps.errors.RxStepsWarning`, once per process, when a
    label has CJK characters and no font with them is installed.

    Args:
        labels: The texts of a picture.

    Example:
        >>> warn_missing_cjk(["search", "answer"])  # no CJK: never a warning
    """
    if "cjk" in _WARNED:
        return
    label = next((text for text in labels if _CJK.search(text)), None)
    if label is None or has_cjk_font():
        return
    _WARNED.add("cjk")
    warnings.warn(_NO_CJK_FONT.format(label=label), RxStepsWarning,
                  stacklevel=stacklevel_outside_package())


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
