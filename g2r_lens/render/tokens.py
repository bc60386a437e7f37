"""The one token colourer: text units with their background coloured by a signed value (blue +,
red −, opacity ∝ |value| / scale), the value on hover and the checker's truth underlined in green.

:func:`token_html` lays tokens end to end (reports, saved RL samples); :func:`text_html` colours the
response text of an attributed example by one row of a view (the explorer's reading view).
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import numpy as np

from .style import FONT, MONO, NEG, POS, TRUTH, fmt_number, row_scales

_RGB = {True: tuple(int(POS[i:i + 2], 16) for i in (1, 3, 5)), False: tuple(int(NEG[i:i + 2], 16) for i in (1, 3, 5))}


def unit_style(value: float, scale: float, truth: bool = False) -> str:
    """The inline CSS of one unit: its colour, white text on strong colours, a truth underline."""
    ok = bool(np.isfinite(value))
    a = float(np.clip(abs(value) / scale, 0, 1)) if ok and scale > 0 else 0.0
    r, g, b = _RGB[ok and value >= 0]
    style = f"background:rgba({r},{g},{b},{0.08 + 0.82 * a if a > 0 else 0:.3f});"
    if a > 0.55:
        style += "color:white;"
    if truth:
        style += f"box-shadow: inset 0 -3px 0 {TRUTH};"
    return style


def unit_span(text: str, value: float, scale: float, tip: str, truth: bool = False) -> str:
    return (f'<span class="g2r-u" style="{unit_style(value, scale, truth)}" title="{html.escape(tip)}">'
            f"{html.escape(text)}</span>")


def text_box(inner: str, mono: bool = False) -> str:
    """The framed block that holds coloured units (``inner`` is HTML)."""
    return (f'<div class="g2r-text" style="font-family:{MONO if mono else FONT};font-size:{14 if mono else 15}px;'
            f'line-height:2.0;white-space:pre-wrap;padding:10px 14px;border:1px solid #e6e6e6;border-radius:10px;'
            f'background:#fcfcfd">{inner}</div>')


def token_html(tokens: Sequence[str], values: Sequence[float], title: str = "") -> str:
    """Tokens end to end, each coloured by its signed value relative to the largest ``|value|``."""
    v = np.asarray(values, dtype=float)
    scale = float(row_scales(v)[0]) if v.size else 0.0
    spans = "".join(unit_span(tok, x, scale, f"{tok!r}: {fmt_number(x, '.4g')}") for tok, x in zip(tokens, v))
    head = (f'<div class="g2r-title" style="font-family:{FONT};font-size:13px;color:#555;margin:10px 0 4px 0">'
            f"{html.escape(title)}</div>") if title else ""
    return head + text_box(spans, mono=True)


def text_html(view: Any, row: int, exs: Any, per_row: bool = True) -> str:
    """The response of ``exs`` (an :class:`~g2r_lens.results.ExampleResult`) as running text, each unit
    of ``view`` (:class:`~g2r_lens.explorer.views.View`) coloured by one row; hovering shows the
    value; checker truth is underlined in green."""
    from .heatmap import scales

    sc = scales(view, per_row)[row]
    vals = view.values[row]
    response = exs.response
    spans = [(min(exs.offsets[t][0] for t in g), max(exs.offsets[t][1] for t in g)) for g in view.groups]
    out, pos = [], 0
    for u, (s, e) in enumerate(spans):
        # keep leading whitespace of a unit uncoloured so words, not gaps, carry colour
        text = response[s:e]
        s2 = s + len(text) - len(text.lstrip())
        if s > pos:
            out.append(html.escape(response[pos:s]))
        if s2 > s:
            out.append(html.escape(response[s:s2]))
        truth = view.truth is not None and bool(view.truth[row, u])
        tip = f"{view.units[u]} · {view.value_name} {fmt_number(vals[u])}" + (" · checker truth" if truth else "")
        out.append(unit_span(response[s2:max(e, s2)], vals[u], sc, tip, truth))
        pos = max(pos, e)
    if pos < len(response):
        out.append(f'<span style="color:#aaa">{html.escape(response[pos:])}</span>')
    return text_box("".join(out))


LEGEND_HTML = (
    f"<div style='font-family:{FONT};font-size:12.5px;color:#555;margin:2px 0 6px 0'>"
    f"<span style='background:{POS};color:white;padding:1px 6px;border-radius:4px'>blue</span> pushes the "
    f"judge towards True / positive reward &nbsp; "
    f"<span style='background:{NEG};color:white;padding:1px 6px;border-radius:4px'>red</span> against &nbsp; "
    f"<span style='box-shadow: inset 0 -3px 0 {TRUTH};padding:0 4px'>underlined / outlined</span> "
    f"checker truth (bundled world)</div>")
