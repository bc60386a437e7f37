"""The one heatmap: a view's rows (criteria or methods) over response units (tokens or words), on a
signed colour scale (blue +, red −, white 0), raw values on hover, checker truth outlined."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .style import FONT, SIGNED_SCALE, TRUTH, display_rows, fmt_number, nice_ticks, row_scales


def scales(view: Any, per_row: bool) -> np.ndarray:
    """The colour scale of each row: its own max |value|, or one shared max (the Σ row of an
    Inspect view keeps its own unless all rows are rewards)."""
    absmax = row_scales(view.values)
    if per_row:
        return absmax
    kinds = np.array(view.row_kind or ["criterion"] * len(view.values))
    out = absmax.copy()
    main = (kinds != "sum") | (view.value_name == "rewards")
    if main.any():
        out[main] = np.max(absmax[main])
    return out


WINDOW = 40  # units visible at once; longer responses scroll (range slider) and zoom


def axis_label(unit: str, width: int = 12) -> str:
    """A unit as an axis label: punctuation and short tokens kept visible (quoted when they are not
    letters or digits), long ones cut."""
    t = unit if len(unit) <= width else unit[: width - 1] + "…"
    return t if any(ch.isalnum() for ch in t) else f"‹{t}›"


def heatmap_figure(view: Any, per_row: bool = True, height: int | None = None) -> go.Figure:
    """Signed heatmap (blue +, red −, white 0) of a :class:`View`; hover shows the raw values and
    outlined cells are the checker's truth tokens. Every unit is labelled (horizontally up to
    :data:`WINDOW` units, slanted beyond); a longer response opens on its first :data:`WINDOW` units
    with a range slider to scroll and zoom. Flat rows are drawn flat
    (:func:`~g2r_lens.render.style.display_rows`); the colour bar reads real numbers when the rows
    share one scale."""
    R, U = view.values.shape
    sc = scales(view, per_row)
    z = display_rows(view.values, sc)
    text = []
    for r in range(R):
        row = []
        for u in range(U):
            lines = [f"<b>{html.escape(view.units[u])}</b>  <span style='color:#888'>"
                     f"{'token' if len(view.groups[u]) == 1 else 'tokens'} "
                     f"{', '.join(map(str, view.groups[u][:6]))}{'…' if len(view.groups[u]) > 6 else ''}</span>",
                     f"{html.escape(view.row_labels[r][:60])}",
                     f"{view.value_name}: {fmt_number(view.values[r, u])}"]
            for k, v in view.hover.items():
                if k != {"scores": "score", "alphas": "alpha", "rewards": "reward"}.get(view.value_name) and \
                        np.isfinite(v[r, u]):
                    lines.append(f"{k}: {fmt_number(v[r, u])}")
            if view.truth is not None and view.truth[r, u]:
                lines.append("<span style='color:#1b9e77'>■ checker truth</span>")
            row.append("<br>".join(lines))
        text.append(row)
    finite = sc[np.isfinite(sc) & (sc > 0)]
    shared = len(finite) > 0 and np.allclose(finite, finite[0], rtol=1e-12, atol=0)
    if shared:
        tickvals, ticktext = nice_ticks(float(finite[0]))
        cb_title = view.value_name
    else:
        tickvals, ticktext = [-1, 0, 1], ["−row max", "0", "+row max"]
        cb_title = "each row: ± its max"
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(U)), y=list(range(R)), colorscale=SIGNED_SCALE, zmid=0, zmin=-1, zmax=1,
        text=text, hovertemplate="%{text}<extra></extra>", xgap=1, ygap=3,
        colorbar=dict(title=dict(text=cb_title, side="right"), thickness=12, len=0.9, tickvals=tickvals,
                      ticktext=ticktext)))
    if view.truth is not None:
        for r in range(R):
            for u in np.nonzero(view.truth[r])[0]:
                fig.add_shape(type="rect", x0=u - 0.5, x1=u + 0.5, y0=r - 0.5, y1=r + 0.5,
                              line=dict(color=TRUTH, width=2.5), fillcolor="rgba(0,0,0,0)")
    labels = [lab if len(lab) <= 52 else lab[:51] + "…" for lab in view.row_labels]
    if not per_row or shared:
        pass
    else:  # each row on its own scale: say which, in real numbers
        labels = [f"{lab} (±{fmt_number(s, '.2g')})" if s > 0 else lab for lab, s in zip(labels, sc)]
    long = U > WINDOW
    xaxis = dict(tickmode="array", tickvals=list(range(U)), ticktext=[html.escape(axis_label(u)) for u in view.units],
                 tickangle=0 if max((len(axis_label(u)) for u in view.units), default=1) <= 4 or U <= 16 else -35,
                 tickfont=dict(size=12), showgrid=False, side="bottom", automargin=True)
    if long:
        xaxis.update(range=[-0.5, WINDOW - 0.5], rangeslider=dict(visible=True, thickness=0.07, bgcolor="#f3f5f9"))
    fig.update_layout(
        font=dict(family=FONT, size=12), plot_bgcolor="white", paper_bgcolor="white",
        height=height or max(240, 150 + 36 * R + (40 if long else 0)),
        margin=dict(l=10, r=10, t=30, b=10), dragmode="pan" if long else "zoom",
        title=dict(text=html.escape(view.title) + (f"  <span style='color:#999'>(first {WINDOW} of {U} "
                                                   f"{view.granularity}s; drag the slider to scroll)</span>"
                                                   if long else ""),
                   font=dict(size=13, color="#555"), x=0.01, y=0.98),
        xaxis=xaxis,
        yaxis=dict(tickmode="array", tickvals=list(range(R)), ticktext=[html.escape(x) for x in labels],
                   autorange="reversed", showgrid=False, automargin=True, tickfont=dict(size=12), fixedrange=True),
        hoverlabel=dict(bgcolor="white", font=dict(family=FONT, size=12)))
    return fig


def heatmap(example: Any, method: str, value: str = "scores", per_row: bool = True) -> go.Figure:
    """The heatmap of one attributed example under one method: every criterion's ``value``
    (``"scores"``, ``"alphas"`` or ``"rewards"``) and the summed dense reward as the bottom row, over
    response tokens (:func:`g2r_lens.explorer.views.inspect_view`)."""
    from ..explorer.views import inspect_view

    if method not in example.methods:
        raise KeyError(f"method {method!r} not in this result; it has {sorted(example.methods)}")
    view = inspect_view(example, method, value)
    view.title = f"{example.id} · {view.title}"
    return heatmap_figure(view, per_row=per_row)
