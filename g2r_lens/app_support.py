"""Figures and HTML of the Streamlit explorer (``app/``); its logic lives in :mod:`g2r_lens.explorer`
(re-exported here while the pages move over).
"""

from __future__ import annotations

import html
import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import analysis as A
from .explorer.inputs import (MAX_CRITERIA, MAX_CRITERION_CHARS, MAX_PROMPT_CHARS, MAX_RESPONSE_CHARS,  # noqa: F401
                              attach_truth, build_example, examples_from_jsonl, parse_rubric, rubric_json)
from .explorer.judges import DEMO_KEY, JudgeOption, demo_judge, judge_options, judge_summary, load_judge  # noqa: F401
from .explorer.judges import local_model_dir  # noqa: F401
from .explorer.runs import (RUNS_ENV, list_runs, load_runs, resolve_under, run_arms, run_samples,  # noqa: F401
                            runs_metrics_frame, runs_root, runs_table, sample_table)
from .explorer.views import (BANK_MODES, VALUES, Bank, Summary, View, attribute_chunked, compare_view,  # noqa: F401
                             criteria_table, criterion_label, deletion_table, example_bank, inspect_view,
                             localisation_table, summary, to_json, with_tau)
from .explorer.views import token_label as _tok_label  # noqa: F401
from .results import ExampleResult
from .viz import SIGNED_SCALE

POS = "#2166ac"  # blue: towards True / positive reward
NEG = "#b2182b"  # red: against
TRUTH = "#1b9e77"  # green: the checker's truth tokens
FONT = "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


def _scales(view: View, per_row: bool) -> np.ndarray:
    """The colour scale of each row: its own max |value|, or one shared max (the Σ row of an
    Inspect view keeps its own unless all rows are rewards)."""
    absmax = np.array([np.nanmax(np.abs(r)) if np.isfinite(r).any() else 0.0 for r in view.values])
    if per_row:
        return absmax
    kinds = np.array(view.row_kind or ["criterion"] * len(view.values))
    out = absmax.copy()
    same_units = view.value_name == "rewards"
    main = (kinds != "sum") | same_units
    if main.any():
        out[main] = np.nanmax(absmax[main]) if np.isfinite(absmax[main]).any() else 0.0
    return out


def heatmap_figure(view: View, per_row: bool = True, height: int | None = None) -> go.Figure:
    """Signed heatmap (blue +, red −, white 0) of a :class:`View`; hover shows the raw values and
    outlined cells are the checker's truth tokens."""
    R, U = view.values.shape
    sc = _scales(view, per_row)
    z = np.divide(view.values, sc[:, None], out=np.zeros_like(view.values), where=sc[:, None] > 0)
    z = np.where(np.isfinite(view.values), z, np.nan)
    text = []
    for r in range(R):
        row = []
        for u in range(U):
            lines = [f"<b>{html.escape(view.units[u])}</b>  <span style='color:#888'>"
                     f"{'token' if len(view.groups[u]) == 1 else 'tokens'} "
                     f"{', '.join(map(str, view.groups[u][:6]))}{'…' if len(view.groups[u]) > 6 else ''}</span>",
                     f"{html.escape(view.row_labels[r][:60])}",
                     f"{view.value_name}: {_fmt(view.values[r, u])}"]
            for k, v in view.hover.items():
                if k != {"scores": "score", "alphas": "alpha", "rewards": "reward"}.get(view.value_name) and \
                        np.isfinite(v[r, u]):
                    lines.append(f"{k}: {_fmt(v[r, u])}")
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


def _fmt(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:+.4g}"


def text_html(view: View, row: int, exs: ExampleResult, per_row: bool = True) -> str:
    """The response of ``exs`` as running text, each unit's background coloured by one row of
    ``view``; hovering shows the value; checker truth is underlined in green."""
    sc = _scales(view, per_row)[row]
    vals = view.values[row]
    response = exs.response
    spans = [(min(exs.offsets[t][0] for t in g), max(exs.offsets[t][1] for t in g)) for g in view.groups]
    out, pos = [], 0
    for u, (s, e) in enumerate(spans):
        # keep leading whitespace of a unit uncoloured so words, not gaps, carry colour
        text = response[s:e]
        lead = len(text) - len(text.lstrip())
        s2 = s + lead
        if s > pos:
            out.append(html.escape(response[pos:s]))
        if lead:
            out.append(html.escape(response[s:s2]))
        v = vals[u]
        a = 0.0 if not (np.isfinite(v) and sc > 0) else float(np.clip(abs(v) / sc, 0, 1))
        rgb = (33, 102, 172) if (np.isfinite(v) and v >= 0) else (178, 24, 43)
        truth = view.truth is not None and bool(view.truth[row, u])
        style = f"background:rgba({rgb[0]},{rgb[1]},{rgb[2]},{0.08 + 0.82 * a if a > 0 else 0:.3f});"
        if a > 0.55:
            style += "color:white;"
        if truth:
            style += f"box-shadow: inset 0 -3px 0 {TRUTH};"
        tip = f"{view.units[u]} · {view.value_name} {_fmt(v)}" + (" · checker truth" if truth else "")
        out.append(f'<span class="g2r-u" style="{style}" title="{html.escape(tip)}">'
                   f"{html.escape(response[s2:max(e, s2)])}</span>")
        pos = max(pos, e)
    if pos < len(response):
        out.append(f'<span style="color:#aaa">{html.escape(response[pos:])}</span>')
    return (f'<div class="g2r-text" style="font-family:{FONT};font-size:15px;line-height:2.0;'
            f'white-space:pre-wrap;padding:10px 14px;border:1px solid #e6e6e6;border-radius:10px;'
            f'background:#fcfcfd">{"".join(out)}</div>')


LEGEND_HTML = (
    f"<div style='font-family:{FONT};font-size:12.5px;color:#555;margin:2px 0 6px 0'>"
    f"<span style='background:{POS};color:white;padding:1px 6px;border-radius:4px'>blue</span> pushes the "
    f"judge towards True / positive reward &nbsp; "
    f"<span style='background:{NEG};color:white;padding:1px 6px;border-radius:4px'>red</span> against &nbsp; "
    f"<span style='box-shadow: inset 0 -3px 0 {TRUTH};padding:0 4px'>underlined / outlined</span> "
    f"checker truth (bundled world)</div>")


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


_PALETTE = ["#2166ac", "#e08214", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#1f78b4", "#b15928"]


def deletion_figure(curves: Mapping[str, A.DeletionCurve], title: str = "") -> go.Figure:
    """``log p(True)`` as the most credited tokens are replaced (lower faster = more faithful)."""
    fig = go.Figure()
    i = 0
    for name, c in curves.items():
        rnd = name == "random order"
        color = "#999999" if rnd else _PALETTE[i % len(_PALETTE)]
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

    pos = A.top_phrases(table, group, k, +1)
    neg = A.top_phrases(table, group, k, -1)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.18,
                        subplot_titles=("credited most (pushes towards True)", "penalised most (pushes towards False)"))
    for col, df, color in ((1, pos, POS), (2, neg, NEG)):
        if df.empty:
            continue
        fig.add_trace(go.Bar(
            x=df["mean"], y=df["phrase"], orientation="h", marker=dict(color=color), showlegend=False,
            customdata=np.stack([df["n"], df["n_examples"], df["truth_rate"].fillna(0), df["share_positive"]], 1),
            hovertemplate="<b>%{y}</b><br>mean scaled credit %{x:+.3f}<br>%{customdata[0]} occurrences in "
                          "%{customdata[1]} responses<br>on checker truth %{customdata[2]:.0%}"
                          "<br>positive in %{customdata[3]:.0%}<extra></extra>"), row=1, col=col)
    n = max(len(pos), len(neg), 1)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(gridcolor="#eee", zerolinecolor="#999")
    fig.update_layout(height=140 + 24 * n, font=dict(family=FONT, size=12), plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


# ------------------------------------------------------------------------------------ exports
def figure_html(fig: go.Figure) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False)


_DOC_CSS = (f"body{{font-family:{FONT};margin:28px auto;max-width:1500px;color:#222;padding:0 20px}}"
            "h1{font-size:22px}h2{font-size:17px;margin-top:30px;border-top:1px solid #eee;padding-top:14px}"
            "table{border-collapse:collapse;font-size:12.5px}td,th{border:1px solid #ddd;padding:3px 8px}"
            ".small{font-size:12px;color:#666}")


def html_document(title: str, blocks: Sequence[Any], provenance: Mapping[str, Any] | None = None) -> str:
    """A self-contained HTML page (plotly.js inlined once; opens offline). ``blocks``: plotly
    figures, DataFrames, ``("h2", text)`` headings or raw HTML strings."""
    from plotly.offline import get_plotlyjs

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_DOC_CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    if provenance:
        keep = ("model", "template_hash", "dtype", "tau", "tau_mode", "seed", "g2r_lens", "created")
        parts.append("<p class='small'>" + " · ".join(f"{k} {html.escape(str(provenance.get(k)))}"
                                                      for k in keep if k in provenance) + "</p>")
    for b in blocks:
        if isinstance(b, go.Figure):
            parts.append(figure_html(b))
        elif isinstance(b, pd.DataFrame):
            parts.append(b.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0))
        elif isinstance(b, tuple) and len(b) == 2 and b[0] in ("h2", "p"):
            parts.append(f"<{b[0]}>{html.escape(str(b[1]))}</{b[0]}>")
        else:
            parts.append(str(b))
    parts.append("</body></html>")
    return "\n".join(parts)


# ------------------------------------------------------------------------------- run folders
RUN_CURVES = (("judge_reward", "train", "judge reward on the policy's own samples (train)"),
              ("checker_score", "train", "checker score on the policy's own samples (train)"),
              ("checker_score", "eval", "held-out checker score (test prompts, exact checker)"))

def runs_curve_figures(arms: Mapping[str, Sequence[Any]], smooth: int = 1) -> list[go.Figure]:
    """Learning curves per arm with 95% seed bands: judge reward and checker score (train) and the
    held-out checker score (eval), via :func:`g2r_lens.rl.plots.curves_figure`."""
    from .rl.plots import curves_figure

    figs = []
    for key, source, title in RUN_CURVES:
        fig = curves_figure(dict(arms), key, source, title=title + (f", moving average {smooth}" if smooth > 1 else "")
                            + "; mean over seeds, band = 95% CI", smooth=smooth if source == "train" else 1)
        fig.update_layout(font=dict(family=FONT), height=360)
        figs.append(fig)
    return figs


def sample_html(sample: Mapping[str, Any]) -> str:
    """A saved sample's response tokens coloured by their token rewards (blue positive, red
    negative; hover shows the value), with its judge reward and checker score."""
    from .viz import token_html

    jr, cs, rw = sample.get("judge_reward"), sample.get("checker_score"), sample.get("reward")
    head = " · ".join(f"{k} {'–' if v is None else f'{float(v):+.3f}'}"
                      for k, v in (("judge reward", jr), ("checker score", cs), ("reward", rw)))
    style = (f"<style>.toks{{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:14px;line-height:1.9;"
             f"white-space:pre-wrap;padding:10px 14px;border:1px solid #e6e6e6;border-radius:10px;background:#fcfcfd}}"
             f".tok{{border-radius:3px;padding:1px 0}}.tt{{font-family:{FONT};font-size:13px;color:#555;margin:4px 0}}"
             "</style>")
    title = (f"step {sample.get('step')} · sample {sample.get('index')} (group {sample.get('group')}) · "
             f"{sample.get('reward_mode', '?')}/{sample.get('estimator', '?')} · {head}")
    return style + token_html(list(sample.get("tokens", [])), list(sample.get("token_rewards", [])), title)


