"""Figures of the explorer's analyses: method agreement, deletion curves, the lens's phrases."""

from __future__ import annotations

import html
from typing import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import analysis
from .style import FONT, NEG, NEUTRAL, PALETTE, POS, fmt_number


def agreement_figure(matrix: pd.DataFrame, title: str, zmin: float = -1.0) -> go.Figure:
    names = list(matrix.index)
    z = matrix.to_numpy(dtype=float)
    txt = [["–" if not np.isfinite(v) else f"{v:.2f}" for v in row] for row in z]
    scale = "RdBu" if zmin < 0 else "Blues"
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, zmin=zmin, zmax=1, colorscale=scale, reversescale=False,
                               text=txt, texttemplate="%{text}", hovertemplate="%{y} vs %{x}: %{text}<extra></extra>",
                               xgap=2, ygap=2, showscale=False))
    fig.update_layout(title=dict(text=title, font=dict(size=13)), font=dict(family=FONT, size=11),
                      height=120 + 42 * len(names), margin=dict(l=10, r=10, t=40, b=10),
                      yaxis=dict(autorange="reversed", automargin=True), xaxis=dict(automargin=True, tickangle=-30),
                      plot_bgcolor="white")
    return fig



def deletion_figure(curves: Mapping[str, analysis.DeletionCurve], title: str = "") -> go.Figure:
    """``log p(True)`` as the most credited tokens are replaced (lower faster = more faithful)."""
    fig = go.Figure()
    i = 0
    for name, c in curves.items():
        rnd = name == "random order"
        color = NEUTRAL if rnd else PALETTE[i % len(PALETTE)]
        i += 0 if rnd else 1
        fig.add_trace(go.Scatter(
            x=c.fractions, y=c.logp_true, mode="lines+markers", name=f"{name} · AOPC {c.aopc:.3f}",
            line=dict(color=color, width=2.5 if not rnd else 2, dash="dash" if rnd else "solid"),
            marker=dict(size=5), customdata=np.stack([c.counts, c.p_true], axis=1),
            hovertemplate=f"<b>{html.escape(name)}</b><br>%{{customdata[0]}} tokens replaced"
                          "<br>log p(True) %{y:.3f}<br>p(True) %{customdata[1]:.3f}<extra></extra>"))
    fig.update_layout(
        title=dict(text=title, font=dict(size=13)), font=dict(family=FONT, size=12), height=380,
        xaxis=dict(title="share of response tokens replaced (most credited first)", tickformat=".0%",
                   gridcolor="#eee"),
        yaxis=dict(title="log p(True)", gridcolor="#eee"), plot_bgcolor="white",
        legend=dict(orientation="v", x=1.01, y=1, font=dict(size=11)), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def lens_figure(table: pd.DataFrame, group: str, k: int = 12) -> go.Figure:
    """Two bar charts for one group: the most credited and the most penalised phrases."""
    from plotly.subplots import make_subplots

    pos = analysis.top_phrases(table, group, k, +1)
    neg = analysis.top_phrases(table, group, k, -1)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.18,
                        subplot_titles=("credited most (pushes towards True)", "penalised most (pushes towards False)"))
    for col, df, color in ((1, pos, POS), (2, neg, NEG)):
        if df.empty:
            continue
        fig.add_trace(go.Bar(
            x=df["mean"], y=df["phrase"], orientation="h", marker=dict(color=color), showlegend=False,
            customdata=np.stack([df["n"].astype(str), df["n_examples"].astype(str),
                                 [fmt_number(x, ".0%") for x in df["truth_rate"]],
                                 [fmt_number(x, ".0%") for x in df["share_positive"]]], 1),
            hovertemplate="<b>%{y}</b><br>mean scaled credit %{x:+.3f}<br>%{customdata[0]} occurrences in "
                          "%{customdata[1]} responses<br>on checker truth %{customdata[2]}"
                          "<br>positive in %{customdata[3]}<extra></extra>"), row=1, col=col)
    n = max(len(pos), len(neg), 1)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(gridcolor="#eee", zerolinecolor="#999")
    fig.update_layout(height=140 + 24 * n, font=dict(family=FONT, size=12), plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig
