"""The one heatmap: a view's rows (criteria or methods) over response units (tokens or words), on a
signed colour scale (blue +, red −, white 0), raw values on hover, checker truth outlined."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .style import FONT, SIGNED_SCALE, TRUTH, fmt_number, normalise_rows, row_scales


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


def heatmap_figure(view: Any, per_row: bool = True, height: int | None = None) -> go.Figure:
    """Signed heatmap (blue +, red −, white 0) of a :class:`View`; hover shows the raw values and
    outlined cells are the checker's truth tokens."""
    R, U = view.values.shape
    z = normalise_rows(view.values, scales(view, per_row))
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
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(U)), y=list(range(R)), colorscale=SIGNED_SCALE, zmid=0, zmin=-1, zmax=1,
        text=text, hovertemplate="%{text}<extra></extra>", xgap=1, ygap=3,
        colorbar=dict(title=dict(text="scaled", side="right"), thickness=12, len=0.9, tickvals=[-1, 0, 1],
                      ticktext=["−max", "0", "+max"])))
    if view.truth is not None:
        for r in range(R):
            for u in np.nonzero(view.truth[r])[0]:
                fig.add_shape(type="rect", x0=u - 0.5, x1=u + 0.5, y0=r - 0.5, y1=r + 0.5,
                              line=dict(color=TRUTH, width=2.5), fillcolor="rgba(0,0,0,0)")
    labels = [lab if len(lab) <= 52 else lab[:51] + "…" for lab in view.row_labels]
    step = max(1, math.ceil(U / 64))  # label every unit up to 64 columns, every step-th beyond
    fig.update_layout(
        font=dict(family=FONT, size=12), plot_bgcolor="white", paper_bgcolor="white",
        height=height or max(220, 110 + 38 * R + 8 * min(12, max(len(u) for u in view.units or ["x"]))),
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text=html.escape(view.title), font=dict(size=13, color="#555"), x=0.01, y=0.98),
        xaxis=dict(tickmode="array", tickvals=list(range(0, U, step)),
                   ticktext=[html.escape(view.units[u][:14]) for u in range(0, U, step)],
                   tickangle=-90 if U > 24 else (-45 if U > 10 else 0),
                   tickfont=dict(size=9 if U > 80 else (10 if U > 40 else 11)), showgrid=False,
                   side="bottom", automargin=True),
        yaxis=dict(tickmode="array", tickvals=list(range(R)), ticktext=[html.escape(x) for x in labels],
                   autorange="reversed", showgrid=False, automargin=True, tickfont=dict(size=12)),
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
