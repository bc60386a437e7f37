"""The shared pieces of every figure and page: colours, fonts, the one number formatter and the one
row normaliser."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

POS = "#2166ac"  # blue: pushes the judge towards True / positive reward
NEG = "#b2182b"  # red: against
TRUTH = "#1b9e77"  # green: the checker's truth tokens
NEUTRAL = "#999999"  # controls (random order)
FONT = "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
MONO = "ui-monospace, Menlo, Consolas, monospace"
# Diverging, colour-blind safe: blue = pushes towards True / positive reward, red = against.
SIGNED_SCALE = [[0.0, NEG], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, POS]]
# one colour per curve (methods, arms)
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


def rgba(hex_color: str, alpha: float) -> str:
    """``"#rrggbb"`` as a CSS ``rgba(...)`` with opacity ``alpha``."""
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def fmt_number(x: Any, spec: str = "+.4g") -> str:
    """A number with format ``spec``; ``"–"`` for None, NaN and ±inf; anything else as ``str``."""
    if x is None:
        return "–"
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        x = float(x)
        return format(x, spec) if math.isfinite(x) else "–"
    return str(x)


def row_scales(values: np.ndarray) -> np.ndarray:
    """The largest finite ``|value|`` of each row of ``values`` ([R, U]); 0 for rows without one."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    return np.array([np.nanmax(np.abs(r[np.isfinite(r)])) if np.isfinite(r).any() else 0.0 for r in v])


def normalise_rows(values: np.ndarray, scales: np.ndarray | None = None) -> np.ndarray:
    """Each row divided by its scale (default :func:`row_scales`, so rows land in [-1, 1]); rows with
    scale 0 become 0; NaN and ±inf entries become NaN."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    sc = row_scales(v) if scales is None else np.asarray(scales, dtype=float)
    z = np.divide(v, sc[:, None], out=np.zeros_like(v), where=sc[:, None] > 0)
    return np.where(np.isfinite(v), z, np.nan)


FLAT_LEVEL = 0.15  # the display level of a flat row (every value equal): light, never solid


def flat_rows(values: np.ndarray, rtol: float = 1e-6) -> np.ndarray:
    """Rows of ``values`` ([R, U]) whose finite values are all equal (up to ``rtol`` of their
    largest magnitude) and not all zero: a uniform α, the uniform control's reward."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    out = np.zeros(len(v), dtype=bool)
    for i, r in enumerate(v):
        r = r[np.isfinite(r)]
        if len(r) > 1:
            m = float(np.max(np.abs(r)))
            out[i] = m > 0 and float(np.ptp(r)) <= rtol * m
    return out


def display_rows(values: np.ndarray, scales: np.ndarray | None = None) -> np.ndarray:
    """Colour levels in [-1, 1]: :func:`normalise_rows`, except that a row scaled to its own maximum
    (scale equal to its largest |value|) which is flat (:func:`flat_rows`) is drawn flat at a light
    ±:data:`FLAT_LEVEL`, not solid dark: nothing in it stands out."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    sc = row_scales(v) if scales is None else np.asarray(scales, dtype=float)
    z = normalise_rows(v, sc)
    own = np.isclose(sc, row_scales(v), rtol=1e-9, atol=0)
    for i in np.nonzero(flat_rows(v) & own)[0]:
        z[i] = np.where(np.isfinite(z[i]), np.sign(z[i]) * FLAT_LEVEL, np.nan)
    return z


def nice_ticks(scale: float) -> tuple[list[float], list[str]]:
    """Colour-bar ticks of a symmetric scale ``±scale``: positions in [-1, 1] and the real numbers."""
    pos = [-1.0, -0.5, 0.0, 0.5, 1.0]
    return pos, [fmt_number(p * scale, "+.3g") if p else "0" for p in pos]
