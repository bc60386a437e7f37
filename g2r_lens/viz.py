"""Plotly heatmaps (criteria x tokens, signed colour scale) and self-contained HTML reports.

Reports inline plotly.js once, so they open offline and never reach a CDN.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .results import AttributionRun, ExampleResult

# Diverging, colour-blind safe: blue = pushes towards True / positive reward, red = against.
SIGNED_SCALE = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]


def _norm_rows(z: np.ndarray) -> np.ndarray:
    out = np.full_like(z, np.nan, dtype=float)
    for i, row in enumerate(z):
        m = np.nanmax(np.abs(row)) if np.isfinite(row).any() else 0.0
        out[i] = row / m if m > 0 else row * 0.0
    return out


def _crit_label(c, k: int, width: int = 48) -> str:
    t = c.text if len(c.text) <= width else c.text[: width - 1] + "…"
    mark = "✓" if c.verdict else "✗"
    return f"{mark} {t} (w={c.weight:g}, p={c.p_true:.2f})"


def heatmap(example: ExampleResult, method: str, value: str = "scores", normalise: bool = True) -> go.Figure:
    """Criteria x response tokens for one method, plus the summed dense reward as the bottom row.

    ``value``: ``"scores"`` (raw attribution) or ``"alphas"`` (softmax weights). Rows are scaled to
    [-1, 1] by their largest magnitude when ``normalise`` (hover shows the raw values).
    """
    if method not in example.methods:
        raise KeyError(f"method {method!r} not in this result; it has {sorted(example.methods)}")
    m = example.methods[method]
    T = len(example.tokens)
    rows = m.scores if value == "scores" else m.alphas
    raw = np.array([r if r is not None else [math.nan] * T for r in rows], dtype=float).reshape(-1, T)
    raw = np.vstack([raw, np.asarray(m.rewards, dtype=float)[None]])
    z = _norm_rows(raw) if normalise else raw
    labels = [_crit_label(c, k) for k, c in enumerate(example.criteria)]
    labels.append(f"Σ dense reward = {sum(m.rewards):+.3f} (sparse {example.sparse_reward:+.3f})")
    xt = [f"{i}:{t!r}"[:24] for i, t in enumerate(example.tokens)]
    hover = np.array([[f"{lab}<br>token {i} {example.tokens[i]!r}<br>value {raw[r, i]:.4g}"
                       for i in range(T)] for r, lab in enumerate(labels)])
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(T)), y=labels, colorscale=SIGNED_SCALE, zmid=0,
        zmin=-1 if normalise else None, zmax=1 if normalise else None,
        text=hover, hoverinfo="text", colorbar=dict(title="scaled" if normalise else value)))
    fig.update_layout(
        title=f"{example.id}: {method} ({value}{', rows scaled to ±1' if normalise else ''})",
        xaxis=dict(tickmode="array", tickvals=list(range(T)), ticktext=xt, tickangle=-60, tickfont=dict(size=9)),
        yaxis=dict(autorange="reversed", tickfont=dict(size=10)),
        height=180 + 34 * len(labels), margin=dict(l=20, r=20, t=50, b=110))
    return fig


def token_html(tokens: Sequence[str], values: Sequence[float], title: str = "") -> str:
    """Inline text with each token's background coloured by its (signed) value."""
    v = np.asarray(values, dtype=float)
    m = np.nanmax(np.abs(v)) if v.size and np.isfinite(v).any() else 0.0
    spans = []
    for tok, x in zip(tokens, v):
        s = 0.0 if (m == 0 or not math.isfinite(x)) else x / m
        rgb = (33, 102, 172) if s >= 0 else (178, 24, 43)
        spans.append(f'<span class="tok" style="background:rgba({rgb[0]},{rgb[1]},{rgb[2]},{abs(s):.3f})" '
                     f'title="{html.escape(repr(tok))}: {x:.4g}">{html.escape(tok)}</span>')
    head = f'<div class="tt">{html.escape(title)}</div>' if title else ""
    return f'{head}<div class="toks">{"".join(spans)}</div>'


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px} h2{font-size:18px;margin-top:36px;border-top:1px solid #ddd;padding-top:16px}
table{border-collapse:collapse;font-size:13px;margin:8px 0} td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
.toks{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:14px;line-height:1.9;white-space:pre-wrap}
.tok{border-radius:3px;padding:1px 0} .tt{font-size:13px;color:#555;margin-top:10px}
.ok{color:#2166ac;font-weight:600} .no{color:#b2182b;font-weight:600} .small{font-size:12px;color:#666}
"""


def report_html(run: AttributionRun, path: str | Path | None = None, methods: Sequence[str] | None = None) -> str:
    """A self-contained HTML report (plotly.js inlined once; no network needed to view it)."""
    from plotly.offline import get_plotlyjs

    prov = run.provenance
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>g2r_lens report</title>"
             f"<style>{_CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
             "<h1>g2r_lens attribution report</h1>",
             f"<p class='small'>judge <b>{html.escape(str(prov.get('model')))}</b> · template "
             f"{prov.get('template_hash')} · dtype {prov.get('dtype')} · τ={prov.get('tau')} ({prov.get('tau_mode')})"
             f" · seed {prov.get('seed')} · g2r_lens {prov.get('g2r_lens')}</p>",
             "<p class='small'>Blue: pushes the judge towards True (or positive reward); red: against. "
             "Dense rewards add up to the sparse rubric reward.</p>"]
    for ex in run.examples:
        names = [m for m in (methods or ex.methods) if m in ex.methods]
        parts.append(f"<h2>{html.escape(str(ex.id))}</h2><p><b>Prompt.</b> {html.escape(ex.prompt)}</p>")
        rows = "".join(
            f"<tr><td>{html.escape(c.text)}</td><td>{c.weight:g}</td><td>{c.p_true:.3f}</td><td>{c.p_false:.3f}</td>"
            f"<td class='{'ok' if c.verdict else 'no'}'>{'True' if c.verdict else 'False'}</td></tr>"
            for c in ex.criteria)
        parts.append("<table><tr><th>criterion</th><th>weight</th><th>p(True)</th><th>p(False)</th>"
                     f"<th>verdict</th></tr>{rows}</table><p>sparse reward <b>{ex.sparse_reward:+.3f}</b>"
                     + (f" · <b>{ex.truncated_tokens} response tokens truncated</b>" if ex.truncated_tokens else "")
                     + "</p>")
        for name in names:
            m = ex.methods[name]
            ent = ", ".join("–" if not math.isfinite(h) else f"{h:.2f}" for h in m.entropy)
            parts.append(token_html(ex.tokens, m.rewards,
                                    f"{name}: dense reward (Σ={m.reward_sum:+.3f}; normalised entropy of α per "
                                    f"criterion: {ent})"))
            parts.append(heatmap(ex, name).to_html(full_html=False, include_plotlyjs=False))
    parts.append("</body></html>")
    doc = "\n".join(parts)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(doc, encoding="utf-8")
    return doc
