"""Colour arithmetic for palette tests: how colours look with colour blindness.

:func:`simulate` applies the Machado, Oliveira and Fernandes (2009) matrices for full
protanopia, deuteranopia and tritanopia in linear RGB; :func:`delta_e` is the CIE76
distance in CIELAB (about 2.3 is just noticeable; above 20, clearly different colours);
:func:`contrast` is WCAG's contrast ratio of text on a background.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb

#: Machado et al. 2009, severity 1.0.
VISIONS = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_WHITE = _XYZ @ np.ones(3)


def _linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def simulate(colour: str, vision: str) -> np.ndarray:
    """``colour`` as seen with ``vision`` (a key of :data:`VISIONS`), in linear RGB."""
    return np.clip(VISIONS[vision] @ _linear(np.array(to_rgb(colour))), 0.0, 1.0)


def lab(linear_rgb: np.ndarray) -> np.ndarray:
    """CIELAB of a linear-RGB colour (D65)."""
    t = (_XYZ @ linear_rgb) / _WHITE
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str, vision: str) -> float:
    """How far apart ``a`` and ``b`` look with ``vision`` (CIE76)."""
    return float(np.linalg.norm(lab(simulate(a, vision)) - lab(simulate(b, vision))))


def contrast(text: str, background: str) -> float:
    """WCAG 2 contrast ratio of ``text`` on ``background``: 1 (none) to 21."""
    luminances = sorted(float(np.array([0.2126, 0.7152, 0.0722]) @ _linear(np.array(to_rgb(c))))
                        for c in (text, background))
    return (luminances[1] + 0.05) / (luminances[0] + 0.05)
