"""The one token colourer: text units with their background coloured by a signed value (blue +,
red −, opacity ∝ |value| / scale), the value on hover and the checker's truth underlined in green.

:func:`token_html` lays tokens end to end (reports, saved RL samples); :func:`text_html` colours the
response text of an attributed example by one row of a view (the explorer's reading view).
"""

from __future__ import annotations

import html
import math
import re
from typing import Any, Sequence

import numpy as np

from .style import FONT, MONO, NEG, POS, SIGNED_SCALE, TRUTH, display_rows, fmt_number, row_scales

_RGB = {True: tuple(int(POS[i:i + 2], 16) for i in (1, 3, 5)), False: tuple(int(NEG[i:i + 2], 16) for i in (1, 3, 5))}


def unit_style(value: float, scale: float, truth: bool = False) -> str:
    """The inline CSS of one unit: its colour, white text on strong colours, a truth underline."""
    ok = bool(np.isfinite(value))
    return level_style(value / scale if ok and scale > 0 else (0.0 if ok else math.nan), truth)


def level_style(level: float, truth: bool = False) -> str:
    """The inline CSS of one unit at colour ``level`` in [-1, 1] (NaN: uncoloured)."""
    ok = bool(np.isfinite(level))
    a = float(np.clip(abs(level), 0, 1)) if ok else 0.0
    r, g, b = _RGB[ok and level >= 0]
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


SPECIAL = re.compile(r"^\s*(<\|[^|<>\s]{1,40}\|>|</?s>|\[(?:PAD|CLS|SEP|EOS|BOS|UNK)\])\s*$")


def special_name(token: str) -> str | None:
    """The name of a special (control) token such as ``<|im_end|>`` (``"im_end"``), else None."""
    m = SPECIAL.match(token)
    return m.group(1).strip("<>|/[]") if m else None


def token_span(tok: str, value: float, scale: float) -> str:
    """One token of :func:`token_html`: a special token as a small grey marker (its name, not its
    raw text), any other token as coloured text."""
    tip = f"{tok!r}: {fmt_number(value, '.4g')}"
    name = special_name(tok)
    if name is None:
        return unit_span(tok, value, scale, tip)
    return (f'<span class="g2r-u" data-special="1" style="{unit_style(value, scale)}" title="{html.escape(tip)}">'
            f'<span style="font-size:10px;color:#666;border:1px solid #bbb;border-radius:8px;padding:0 5px;'
            f'margin:0 2px;font-family:{FONT}">{html.escape(name)}</span></span>')


def token_html(tokens: Sequence[str], values: Sequence[float], title: str = "") -> str:
    """Tokens end to end, each coloured by its signed value relative to the largest ``|value|``;
    special tokens (``<|im_end|>``) are small grey markers, not text."""
    v = np.asarray(values, dtype=float)
    scale = float(row_scales(v)[0]) if v.size else 0.0
    spans = "".join(token_span(tok, x, scale) for tok, x in zip(tokens, v))
    head = (f'<div class="g2r-title" style="font-family:{FONT};font-size:13px;color:#555;margin:10px 0 4px 0">'
            f"{html.escape(title)}</div>") if title else ""
    return head + text_box(spans, mono=True)


def _levels(view: Any, per_row: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(levels [R, U] in [-1, 1], scale per row)``: the colour of every cell of ``view``."""
    from .heatmap import scales

    sc = scales(view, per_row)
    return display_rows(view.values, sc), sc


def _spans(view: Any, exs: Any) -> list[tuple[int, int]]:
    return [(min(exs.offsets[t][0] for t in g), max(exs.offsets[t][1] for t in g)) for g in view.groups]


def _prose(view: Any, row: int, exs: Any, levels: np.ndarray, show_values: bool = False) -> str:
    """One row of ``view`` over the response text, unit by unit (the text between units uncoloured)."""
    vals = view.values[row]
    response = exs.response
    out, pos = [], 0
    for u, (s, e) in enumerate(_spans(view, exs)):
        # keep leading whitespace of a unit uncoloured so words, not gaps, carry colour
        text = response[s:e]
        s2 = s + len(text) - len(text.lstrip())
        if s > pos:
            out.append(html.escape(response[pos:s]))
        if s2 > s:
            out.append(html.escape(response[s:s2]))
        truth = view.truth is not None and bool(view.truth[row, u])
        tip = f"{view.units[u]} · {view.value_name} {fmt_number(vals[u])}" + (" · checker truth" if truth else "")
        piece = response[s2:max(e, s2)]
        out.append(f'<span class="g2r-u" style="{level_style(levels[u], truth)}" title="{html.escape(tip)}">'
                   f"{html.escape(piece)}</span>")
        if show_values and np.isfinite(vals[u]):
            out.append(f'<sub class="g2r-v" style="font-size:9.5px;color:#777;margin:0 2px 0 1px">'
                       f"{fmt_number(vals[u], '+.2g')}</sub>")
        pos = max(pos, e)
    if pos < len(response):
        out.append(f'<span style="color:#aaa">{html.escape(response[pos:])}</span>')
    return "".join(out)


def text_html(view: Any, row: int, exs: Any, per_row: bool = True, show_values: bool = False) -> str:
    """The response of ``exs`` (an :class:`~g2r_lens.results.ExampleResult`) as running text, each unit
    of ``view`` (:class:`~g2r_lens.explorer.views.View`) coloured by one row; hovering shows the
    value; checker truth is underlined in green. A flat row is drawn flat (light, not dark)."""
    levels, _ = _levels(view, per_row)
    return text_box(_prose(view, row, exs, levels[row], show_values))


def colorbar_html(scale: float, label: str = "", width: int = 150) -> str:
    """A small signed colour bar with real numbers at its ends and middle: ``−scale … 0 … +scale``."""
    stops = ", ".join(f"{c} {int(p * 100)}%" for p, c in SIGNED_SCALE)
    lo, hi = (fmt_number(-scale, "+.3g"), fmt_number(scale, "+.3g")) if scale > 0 else ("0", "0")
    return (f'<span class="g2r-cbar" style="display:inline-flex;align-items:center;gap:5px;font-size:11.5px;'
            f'color:#555;white-space:nowrap">{html.escape(label)}<span class="g2r-cbar-lo">{lo}</span>'
            f'<span style="display:inline-block;width:{width}px;height:10px;border-radius:3px;'
            f'background:linear-gradient(90deg, {stops});border:1px solid #ddd"></span>'
            f'<span class="g2r-cbar-hi">{hi}</span></span>')


def text_rows_html(view: Any, exs: Any, per_row: bool = True, show_values: bool = False,
                   rows: Sequence[int] | None = None, notes: Sequence[str] | None = None) -> str:
    """Every row of ``view`` (criteria, or methods in Compare) as its own line of running text that
    wraps like prose, each with its label, its colour bar in real numbers and optional printed
    values. Rows sharing one scale get one colour bar on top. ``notes``: a short remark per row."""
    levels, sc = _levels(view, per_row)
    rows = list(range(len(view.row_labels))) if rows is None else list(rows)
    shared = len({float(sc[r]) for r in rows}) == 1
    head = ""
    if shared and rows:
        head = (f'<div style="font-family:{FONT};margin:0 0 6px 0">'
                f'{colorbar_html(float(sc[rows[0]]), f"colour scale ({view.value_name}): ")}</div>')
    out = []
    for r in rows:
        bar = "" if shared else colorbar_html(float(sc[r]))
        note = f' <span style="color:#8a5a00">{html.escape(notes[r])}</span>' if notes and notes[r] else ""
        out.append(
            f'<div class="g2r-row" style="margin:0 0 10px 0"><div style="font-family:{FONT};font-size:13px;'
            f'color:#333;margin:0 0 3px 2px;display:flex;gap:14px;align-items:center;flex-wrap:wrap">'
            f'<b class="g2r-row-label">{html.escape(view.row_labels[r])}</b>{bar}{note}</div>'
            f'{text_box(_prose(view, r, exs, levels[r], show_values))}</div>')
    return f'<div class="g2r-rows">{head}{"".join(out)}</div>'


def legend_html(truth: str | None = "bundled") -> str:
    """The colour legend. ``truth``: ``"bundled"`` (the bundled world's checker truth is outlined),
    ``"custom"`` (custom input: no checker) or None (nothing said about truth)."""
    t = ""
    if truth == "bundled":
        t = (f"<span style='box-shadow: inset 0 -3px 0 {TRUTH};padding:0 4px'>underlined / outlined</span> "
             "checker truth (bundled world)")
    elif truth == "custom":
        t = "no checker: custom input has no truth tokens and no checker score"
    return (f"<div class='g2r-legend' style='font-family:{FONT};font-size:12.5px;color:#555;margin:2px 0 6px 0'>"
            f"<span style='background:{POS};color:white;padding:1px 6px;border-radius:4px'>blue</span> pushes the "
            f"judge towards True / positive reward &nbsp; "
            f"<span style='background:{NEG};color:white;padding:1px 6px;border-radius:4px'>red</span> against &nbsp; "
            f"{t}</div>")


LEGEND_HTML = legend_html("bundled")
